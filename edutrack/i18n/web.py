"""The language of a request: the API answers in the `Accept-Language` it is sent (Russian when it names none
of ours); pages are Russian unless the visitor chose English (`?lang=en`, remembered in a cookie)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from edutrack.i18n import locale_var
from edutrack.i18n.catalogue import DEFAULT_LOCALE
from edutrack.i18n.negotiate import LANG_COOKIE, LANG_PARAM, chosen, negotiate

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
COOKIE_MAX_AGE = 365 * 24 * 3600


def request_locale(request: web.Request) -> str:
    """API requests and the websocket: `?lang=` if given, else `Accept-Language`."""
    # query_string first: reading `query` builds (and caches, for a websocket's whole life) a mapping.
    asked = chosen(request.query.get(LANG_PARAM)) if request.query_string else None
    return asked or negotiate(request.headers.get("Accept-Language"))


def page_locale(request: web.Request) -> str:
    """Pages: `?lang=`, else the visitor's earlier choice, else Russian, whatever the browser's language."""
    return chosen(request.query.get(LANG_PARAM)) or chosen(request.cookies.get(LANG_COOKIE)) or DEFAULT_LOCALE


def remember_choice(request: web.Request, response: web.StreamResponse) -> None:
    """A page opened with `?lang=xx` keeps that language on the visitor's next pages."""
    explicit = chosen(request.query.get(LANG_PARAM))
    if explicit is not None and explicit != request.cookies.get(LANG_COOKIE):
        response.set_cookie(LANG_COOKIE, explicit, max_age=COOKIE_MAX_AGE, path="/", samesite="Lax",
                            httponly=True)


@web.middleware
async def locale_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    locale = request_locale(request)
    token = locale_var.set(locale)
    try:
        response = await handler(request)
        if not response.prepared:
            response.headers.setdefault("Content-Language", locale)
        return response
    finally:
        locale_var.reset(token)
