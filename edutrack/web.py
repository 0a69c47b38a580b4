"""The browser client: server-rendered page shells (aiohttp-jinja2) whose scripts under /static/web/ talk to the
JSON API and to /ws. Pages carry no data and need no session on the server: a page gets its access token from the
API with the browser's login cookie (Path=/api/v1/auth, never sent to pages), so the same page shell is served to
everyone and the API enforces who sees what.

Each page is a `Page`: its template, its title and its scripts. The page embeds the catalogue of the messages
its scripts use (docs/i18n.md), in the page's language."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web

from edutrack.api.http import ctx_of
from edutrack.api.openapi import doc
from edutrack.i18n import N_, _, use_locale
from edutrack.i18n.browser import page_catalogues
from edutrack.i18n.jinja import install_gettext
from edutrack.i18n.web import page_locale, remember_choice

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates" / "web"
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
PAGES_TAG = ("pages",)
# Bumped when static files change, so browsers do not keep a stale script next to a new page.
ASSET_VERSION = "11"
CORE_SCRIPT = "web/core.js"
# Every signed-in page: keeps the page's socket showing what arrives (the chat badge, new chats); see live.js.
LIVE_SCRIPT = "web/live.js"


@dataclass(frozen=True)
class Page:
    name: str
    template: str
    title: str  # a message id, shown in the page's language
    scripts: tuple[str, ...]  # under static/, after web/core.js


LOGIN = Page("login", "login.html", N_("Sign in"), ("web/login.js",))
DIARY = Page("diary", "diary.html", N_("Diary"), (LIVE_SCRIPT, "web/handin.js", "web/diary.js", "web/absence-notes.js",
                                                "web/final-marks.js"))
TEACHER = Page("teacher", "teacher.html", N_("Teacher's journal"),
               (LIVE_SCRIPT, "web/teacher-common.js", "web/teacher-handin.js", "web/teacher-lesson.js",
                "web/teacher-journal.js", "web/teacher-year-marks.js", "web/teacher-class.js", "web/absence-review.js",
                "web/teacher.js"))
CHAT = Page("chat", "chat.html", N_("Chats"), (LIVE_SCRIPT, "web/chat.js", "web/chat-search.js",
                                              "web/chat-moderation.js"))
NEWS = Page("news", "news.html", N_("News page"), (LIVE_SCRIPT, "web/news.js"))
RESET_PASSWORD = Page("reset-password", "reset_password.html", N_("New password"),
                      ("web/account.js", "web/reset-password.js"))
PAGES = (LOGIN, DIARY, TEACHER, CHAT, NEWS, RESET_PASSWORD)

# Per app: page name -> locale -> the page's browser catalogue (built once at start-up from the scripts).
CATALOGUES = web.AppKey("page_catalogues", dict)


def render_page(request: web.Request, page: Page, **context: Any) -> web.Response:
    with use_locale(page_locale(request)) as locale:
        response = aiohttp_jinja2.render_template(page.template, request, {
            "v": ASSET_VERSION, "page": page.name, "title": _(page.title), "locale": locale,
            "scripts": (CORE_SCRIPT, *page.scripts), "catalogue": request.app[CATALOGUES][page.name][locale],
            **context,
        })
    remember_choice(request, response)
    # The shells are the same for everyone, but a logged-out tab must never show a cached logged-in page.
    response.headers["Cache-Control"] = "no-cache"
    return response


@doc("Web client: the login page (HTML)", tags=PAGES_TAG, auth=False)
async def login_page(request: web.Request) -> web.Response:
    return render_page(request, LOGIN, self_registration=ctx_of(request).settings.allow_self_registration)


@doc("Web client: a student's or parent's diary: week schedule with homework, grades, final marks, attendance, "
     "absence notes (a parent writes them) (HTML)",
     tags=PAGES_TAG, auth=False)
async def diary_page(request: web.Request) -> web.Response:
    return render_page(request, DIARY)


@doc("Web client: a teacher's journal: today's lessons, attendance, topic and homework of a lesson, the journal "
     "grid of a class and subject with its history, marks for the period, the class teacher's sheet and parents, "
     "absence notes to accept or question (HTML)",
     tags=PAGES_TAG, auth=False)
async def teacher_page(request: web.Request) -> web.Response:
    return render_page(request, TEACHER)


@doc("Web client: class and private chats (HTML)", tags=PAGES_TAG, auth=False)
async def chat_page(request: web.Request) -> web.Response:
    return render_page(request, CHAT)


@doc("Web client: news of the school and of the reader's classes; administrators also write them: drafts, "
     "audiences (the school, a class, a role) and scheduled publishing (HTML)", tags=PAGES_TAG, auth=False)
async def news_page(request: web.Request) -> web.Response:
    return render_page(request, NEWS)


@doc("Web page behind the password reset link in the email, or where the email's code is typed: asks for the new "
     "password and posts it to /api/v1/password-reset/confirm (HTML, not JSON)", tags=PAGES_TAG, auth=False)
async def reset_password_page(request: web.Request) -> web.Response:
    return render_page(request, RESET_PASSWORD)


@doc("Web client entry: sends the browser to the login page, which forwards a signed-in tab to its home page",
     tags=PAGES_TAG, auth=False, status=302)
async def index(request: web.Request) -> web.Response:
    raise web.HTTPFound("/login")


def setup(app: web.Application) -> None:
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=jinja2.select_autoescape(default=True),
        undefined=jinja2.StrictUndefined,
    )
    install_gettext(env)
    app[CATALOGUES] = {page.name: page_catalogues(STATIC_DIR / s for s in (CORE_SCRIPT, *page.scripts))
                       for page in PAGES}
    r = app.router
    r.add_get("/", index)
    r.add_get("/login", login_page)
    r.add_get("/diary", diary_page)
    r.add_get("/teacher", teacher_page)
    r.add_get("/chat", chat_page)
    r.add_get("/news", news_page)
    r.add_get("/reset-password", reset_password_page)
