"""The browser client: server-rendered page shells (aiohttp-jinja2) whose scripts under /static/web/ talk to the
JSON API and to /ws. Pages carry no data and need no session on the server: the token lives in the tab's
sessionStorage, so the same page shell is served to everyone and the API enforces who sees what."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web

from edutrack.api.openapi import doc

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates" / "web"
PAGES = ("pages",)
# Bumped when static files change, so browsers do not keep a stale script next to a new page.
ASSET_VERSION = "3"


def _render(request: web.Request, template: str, **context: Any) -> web.Response:
    response = aiohttp_jinja2.render_template(template, request, {"v": ASSET_VERSION, **context})
    # The shells are the same for everyone, but a logged-out tab must never show a cached logged-in page.
    response.headers["Cache-Control"] = "no-cache"
    return response


@doc("Web client: the login page (HTML)", tags=PAGES, auth=False)
async def login_page(request: web.Request) -> web.Response:
    return _render(request, "login.html", page="login", title="Вход")


@doc("Web client: a student's or parent's diary: week schedule with homework, grades, attendance (HTML)",
     tags=PAGES, auth=False)
async def diary_page(request: web.Request) -> web.Response:
    return _render(request, "diary.html", page="diary", title="Дневник")


@doc("Web client: a teacher's page: classes, grade entry, the class term sheet (HTML)", tags=PAGES, auth=False)
async def teacher_page(request: web.Request) -> web.Response:
    return _render(request, "teacher.html", page="teacher", title="Журнал учителя")


@doc("Web client: class and private chats (HTML)", tags=PAGES, auth=False)
async def chat_page(request: web.Request) -> web.Response:
    return _render(request, "chat.html", page="chat", title="Чаты")


@doc("Web client entry: sends the browser to the login page, which forwards a signed-in tab to its home page",
     tags=PAGES, auth=False, status=302)
async def index(request: web.Request) -> web.Response:
    raise web.HTTPFound("/login")


def setup(app: web.Application) -> None:
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=jinja2.select_autoescape(default=True),
        undefined=jinja2.StrictUndefined,
    )
    r = app.router
    r.add_get("/", index)
    r.add_get("/login", login_page)
    r.add_get("/diary", diary_page)
    r.add_get("/teacher", teacher_page)
    r.add_get("/chat", chat_page)
