"""Web pages of notifications (docs/notifications.md): everyone's notification settings, and the author's table of
who has confirmed a news item. Page shells like the others (edutrack/web.py); their scripts use the JSON API."""

from __future__ import annotations

from aiohttp import web

from edutrack import errors
from edutrack.api.http import client_ip, ctx_of, path_int
from edutrack.api.openapi import doc
from edutrack.i18n import N_
from edutrack.i18n.browser import page_catalogues
from edutrack.services import ack_links, unsubscribe
from edutrack.services.chat_channels import parse_channel
from edutrack.web import CATALOGUES, CORE_SCRIPT, PAGES_TAG, STATIC_DIR, Page, render_page

NOTIFY_SETTINGS = Page("notify-settings", "notifications.html", N_("Notification settings"),
                       ("web/notifications.js",))
UNSUBSCRIBE = Page("unsubscribe", "unsubscribe.html", N_("Unsubscribe from emails"), ())
SERVICE_WORKER = STATIC_DIR / "web" / "sw.js"
NEWS_ACKS = Page("news-acks", "news_acks.html", N_("Who has read it"), ("web/news-acks.js",))
ACK_LINK = Page("ack-link", "ack_link.html", N_("Confirm you have read it"), ())


@doc("Web client: your notification settings: channels per kind, email, quiet hours, the daily digest's hour, "
     "muted chats (HTML)", tags=PAGES_TAG, auth=False)
async def settings_page(request: web.Request) -> web.Response:
    return render_page(request, NOTIFY_SETTINGS)


@doc("Web client: who has and has not confirmed a news item, per class, live, with reminders (its author and the "
     "school's admins; HTML)", tags=PAGES_TAG, auth=False)
async def news_acks_page(request: web.Request) -> web.Response:
    return render_page(request, NEWS_ACKS, news_id=path_int(request, "news_id"), room=None, message_id=None)


@doc("Web client: who has and has not confirmed an announcement in a chat room, per class, live, with reminders "
     "(its author and the school's admins; HTML)", tags=PAGES_TAG, auth=False, errors=(400,))
async def chat_acks_page(request: web.Request) -> web.Response:
    channel = parse_channel(request.match_info["channel"])
    return render_page(request, NEWS_ACKS, news_id=None, room=channel.name, message_id=path_int(request, "message_id"))


@doc("Web client: the service worker of web push (shows pushes, opens their page, confirms news from the "
     "notification), served at the root so its scope is the whole site (JavaScript)", tags=PAGES_TAG, auth=False)
async def service_worker(request: web.Request) -> web.FileResponse:
    return web.FileResponse(SERVICE_WORKER, headers={"Content-Type": "text/javascript; charset=utf-8",
                                                     "Service-Worker-Allowed": "/", "Cache-Control": "no-cache"})


async def _admit(request: web.Request) -> None:
    ctx = ctx_of(request)
    count, ttl = await ctx.limiter.hit(f"public:ip:{client_ip(request)}", ctx.settings.public_window)
    if count > ctx.settings.public_max_per_window:
        raise errors.TooManyRequests(ttl)


@doc("Web client: the unsubscribe link of an email opened in a browser (mail clients without one-click open it): "
     "asks before it changes anything (HTML, no login; the signed link is the credential)",
     tags=PAGES_TAG, auth=False, errors=(404, 429))
async def unsubscribe_page(request: web.Request) -> web.Response:
    await _admit(request)
    token = request.match_info["token"]
    unsubscribe.check_link(ctx_of(request).settings, token)
    return render_page(request, UNSUBSCRIBE, token=token, done=False)


@doc("Web client: the unsubscribe page's button; turns email and the digest off for the email's kinds, as the "
     "one-click POST does (HTML, no login)", tags=PAGES_TAG, auth=False, errors=(404, 429))
async def unsubscribe_confirm(request: web.Request) -> web.Response:
    await _admit(request)
    token = request.match_info["token"]
    await unsubscribe.unsubscribe(ctx_of(request), token)
    return render_page(request, UNSUBSCRIBE, token=token, done=True)


@doc("Web client: the email's link to confirm a news item or an announcement: asks before it confirms, since mail "
     "scanners open links (HTML, no login; the signed link is the credential)", tags=PAGES_TAG, auth=False,
     errors=(404, 429))
async def ack_link_page(request: web.Request) -> web.Response:
    await _admit(request)
    token = request.match_info["token"]
    ack_links.parse(ctx_of(request).settings, token)
    return render_page(request, ACK_LINK, token=token, done=False, duplicate=False)


@doc("Web client: the confirmation page's button; counts once, as a confirmation in the app does (HTML, no login)",
     tags=PAGES_TAG, auth=False, errors=(404, 409, 429))
async def ack_link_confirm(request: web.Request) -> web.Response:
    await _admit(request)
    token = request.match_info["token"]
    found = await ack_links.confirm(ctx_of(request), token, "email")
    return render_page(request, ACK_LINK, token=token, done=True, duplicate=bool(found["duplicate"]))


def setup(app: web.Application) -> None:
    """After `web.setup`: the pages join the catalogues it built."""
    for page in (NOTIFY_SETTINGS, NEWS_ACKS, UNSUBSCRIBE, ACK_LINK):
        app[CATALOGUES][page.name] = page_catalogues(STATIC_DIR / s for s in (CORE_SCRIPT, *page.scripts))
    app.router.add_get("/settings/notifications", settings_page)
    app.router.add_get("/sw.js", service_worker)
    app.router.add_get("/news/{news_id}/acknowledgements", news_acks_page)
    app.router.add_get("/chat/{channel}/{message_id}/acknowledgements", chat_acks_page)
    app.router.add_get("/unsubscribe/{token}", unsubscribe_page)
    app.router.add_post("/unsubscribe/{token}", unsubscribe_confirm)
    app.router.add_get("/ack/{token}", ack_link_page)
    app.router.add_post("/ack/{token}", ack_link_confirm)
