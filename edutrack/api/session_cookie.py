"""The browser's login: the refresh token in a cookie the page's scripts cannot read, opted into per request.

A request that carries `X-EduTrack-Session: cookie` (the web client's login, register, refresh, logout and password
change) gets its refresh token as the `edutrack_refresh` cookie (HttpOnly, SameSite=Strict, Path=/api/v1/auth,
Secure when the site is served over https) instead of in the JSON body, and refresh and logout read it from there.
Without the header nothing changes: API clients send and receive the refresh token in the body, and the cookie is
never read. Why this is safe against CSRF: README, "One login per browser"."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from edutrack import errors
from edutrack.api.http import ctx_of, json_response
from edutrack.i18n import _

COOKIE = "edutrack_refresh"
HEADER = "X-EduTrack-Session"
MODE = "cookie"
# Sent by the browser only to /api/v1/auth/...; read only by refresh and logout, and only with HEADER.
PATH = "/api/v1/auth"


def cookie_mode(request: web.Request) -> bool:
    return request.headers.get(HEADER, "").strip().lower() == MODE


def cookie_token(request: web.Request) -> str:
    """The refresh token of this browser's login; 401 without one."""
    token = request.cookies.get(COOKIE, "")
    if not 10 <= len(token) <= 200:
        raise errors.Unauthorized(_("You are not signed in in this browser."), code="no_session")
    return token


def _secure(request: web.Request) -> bool:
    # Over plain http (a developer's 127.0.0.1) a Secure cookie would not come back; anything served over https,
    # or behind a proxy that ends TLS for a PUBLIC_URL of https, gets Secure.
    return request.secure or ctx_of(request).settings.public_url.lower().startswith("https://")


def set_refresh_cookie(request: web.Request, response: web.StreamResponse, token: str, expires_at: int) -> None:
    max_age = max(0, expires_at - int(time.time()))
    response.set_cookie(COOKIE, token, max_age=max_age, path=PATH, httponly=True, samesite="Strict",
                        secure=_secure(request))


def clear_refresh_cookie(request: web.Request, response: web.StreamResponse) -> None:
    response.set_cookie(COOKIE, "", max_age=0, expires="Thu, 01 Jan 1970 00:00:00 GMT", path=PATH, httponly=True,
                        samesite="Strict", secure=_secure(request))


def tokens_response(request: web.Request, body: dict[str, Any], status: int = 200) -> web.Response:
    """The answer that carries a new token pair (already dumped). In cookie mode the refresh token leaves the body
    for the cookie: the page's scripts never see it."""
    if not cookie_mode(request):
        return json_response(body, status=status)
    token = body.pop("refresh_token")
    response = json_response(body, status=status)
    set_refresh_cookie(request, response, token, int(body["refresh_expires_at"]))
    return response
