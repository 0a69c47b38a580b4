"""What a school shows to anyone, without login: its public news as a page (rendered on the server, like the
other pages: `web.Page` and a template, words from the catalogue) and as an Atom feed.

Both are read-only and rate-limited per client address (PUBLIC_MAX_PER_WINDOW per PUBLIC_WINDOW)."""

from __future__ import annotations

import re
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from babel.dates import format_datetime

from edutrack import errors
from edutrack.api.http import client_ip, ctx_of, path_int
from edutrack.api.openapi import doc
from edutrack.i18n import N_
from edutrack.i18n.browser import page_catalogues
from edutrack.i18n.web import page_locale
from edutrack.services import public_news
from edutrack.web import CATALOGUES, CORE_SCRIPT, PAGES_TAG, STATIC_DIR, Page, render_page

SCHOOL_NEWS = Page("school-news", "public_news.html", N_("School news"), ())
PARAGRAPHS = re.compile(r"\n\s*\n")


def item_views(news: public_news.SchoolNews, locale: str) -> list[dict[str, Any]]:
    tz = ZoneInfo(news.timezone)
    return [{"id": item.id, "title": item.title, "published_at": item.published_at,
             "published": format_datetime(item.published_at.astimezone(tz), "d MMMM y, HH:mm", locale=locale),
             "paragraphs": [p.strip() for p in PARAGRAPHS.split(item.body) if p.strip()]} for item in news.items]


async def _admit(request: web.Request) -> None:
    ctx = ctx_of(request)
    s = ctx.settings
    count, ttl = await ctx.limiter.hit(f"public:ip:{client_ip(request)}", s.public_window)
    if count > s.public_max_per_window:
        raise errors.TooManyRequests(ttl)


@doc("A school's public news (HTML, no login): the items its admins marked public, once published",
     tags=PAGES_TAG, auth=False, errors=(404, 429))
async def school_news_page(request: web.Request) -> web.Response:
    await _admit(request)
    news = await public_news.school_news(ctx_of(request), path_int(request, "school_id"))
    return render_page(request, SCHOOL_NEWS, school_id=news.school_id, school_name=news.school_name,
                       items=item_views(news, page_locale(request)))


@doc("A school's public news as an Atom feed (no login)", tags=PAGES_TAG, auth=False, errors=(404, 429),
     extra_responses={200: "application/atom+xml"})
async def school_news_atom(request: web.Request) -> web.Response:
    await _admit(request)
    ctx = ctx_of(request)
    news = await public_news.school_news(ctx, path_int(request, "school_id"))
    body = public_news.atom(news, ctx.settings.public_url.rstrip("/"))
    return web.Response(body=body, headers={"Content-Type": "application/atom+xml; charset=utf-8",
                                            "Cache-Control": "public, max-age=300"})


def setup(app: web.Application) -> None:
    """After `web.setup`: the page joins the catalogues it built."""
    app[CATALOGUES][SCHOOL_NEWS.name] = page_catalogues(STATIC_DIR / s for s in (CORE_SCRIPT, *SCHOOL_NEWS.scripts))
    app.router.add_get("/schools/{school_id}/news", school_news_page)
    app.router.add_get("/schools/{school_id}/news.atom", school_news_atom)
