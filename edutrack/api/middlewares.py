"""Request id + access log, the one JSON error shape, CORS for configured origins, security headers, and what
each route declares in its `@doc` (authentication, query parameters) checked before its handler runs."""

from __future__ import annotations

import logging
import re
import time
import urllib.parse
import uuid
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from edutrack import errors
from edutrack.api.http import json_response, principal
from edutrack.api.openapi import route_doc
from edutrack.db.gate import Admission, current_admission
from edutrack.i18n import _
from edutrack.keys import CTX
from edutrack.logs import request_id_var
from edutrack.settings import Settings

log = logging.getLogger("edutrack.http")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
}


def _error_body(code: str, message: str, details: object = None) -> dict[str, object]:
    return {"error": {"code": code, "message": message, "details": details}}


# A handler that answers at once but goes on working for a long time (the websocket) leaves that work here, a
# callable returning a coroutine, to run in request_context's frame after the other middlewares have returned:
# each of them would otherwise keep a coroutine frame alive for the socket's whole life (with the handler's own,
# ~0.7 KB a socket; docs/benchmarks.md).
OuterRun = Callable[[], Awaitable[None]]
OUTER_RUN: web.RequestKey[OuterRun | None] = web.RequestKey("outer_run")


def defer_to_outer(request: web.Request, run: OuterRun) -> bool:
    """Leave `run` to request_context (True), or False where this request has no such frame."""
    if OUTER_RUN not in request:
        return False
    request[OUTER_RUN] = run
    return True


@web.middleware
async def request_context(request: web.Request, handler: Handler) -> web.StreamResponse:
    incoming = request.headers.get("X-Request-ID", "")
    # Accept a caller's id only if it looks like one, so logs cannot be forged through it.
    request_id = incoming if 8 <= len(incoming) <= 64 and incoming.replace("-", "").isalnum() else uuid.uuid4().hex
    token = request_id_var.set(request_id)
    started = time.perf_counter()
    status = 500
    request[OUTER_RUN] = None  # this request has the frame `defer_to_outer` leaves its work to
    try:
        response = await handler(request)
        status = response.status
        response.headers["X-Request-ID"] = request_id
        run = request.get(OUTER_RUN)
        if run is not None:
            del request[OUTER_RUN]
            await run()
        return response
    except web.HTTPException as exc:  # a redirect (HTTPFound) or an error aiohttp answers itself
        status = exc.status
        exc.headers["X-Request-ID"] = request_id
        raise
    finally:
        if request.path not in ("/health", "/health/ready"):
            log.info(
                "request",
                extra={
                    "method": request.method,
                    "path": _loggable(request.path),
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
        request_id_var.reset(token)


# Paths whose last part is a secret (a calendar feed's URL is its credential): logged without it.
SECRET_PATHS = ("/calendar/",)


def _loggable(path: str) -> str:
    for prefix in SECRET_PATHS:
        if path.startswith(prefix):
            return prefix + "…"
    return path


def _http_message(request: web.Request, exc: web.HTTPException) -> str:
    """aiohttp's own refusals (no route, wrong method, ...) in the request's language."""
    if exc.status == 404:
        return _("No route for %(method)s %(path)s.", method=request.method, path=request.path)
    if exc.status == 405:
        return _("%(method)s is not allowed here.", method=request.method)
    if exc.status == 400:
        return _("The request is malformed.")
    return _("The request was refused (HTTP %(status)s).", status=exc.status)


@web.middleware
async def error_handler(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except errors.ApiError as exc:
        return json_response(_error_body(exc.code, exc.message, exc.details), status=exc.status,
                             headers=exc.headers)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        if exc.status == 413:
            return json_response(_error_body("payload_too_large", errors.PayloadTooLarge().message), status=413)
        headers = {k: v for k, v in exc.headers.items() if k in ("Allow", "Retry-After", "WWW-Authenticate")}
        return json_response(_error_body(HTTP_CODES.get(exc.status, "http_error"), _http_message(request, exc)),
                             status=exc.status, headers=headers)
    except Exception:
        log.exception("unhandled error", extra={"method": request.method, "path": request.path})
        return json_response(
            _error_body(
                "internal_error",
                _("Something went wrong on our side. Quote the request id when reporting it."),
                {"request_id": request_id_var.get()},
            ),
            status=500,
        )


CORS_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
CORS_HEADERS = "Authorization, Content-Type, X-Request-ID"


# A Host header as a browser sends it: a DNS name or IPv4 address, or a bracketed IPv6 address; an optional port.
# Anything else (a client writing its own Host) gets no websocket source of its own.
_HOST = re.compile(r"(?:[A-Za-z0-9][A-Za-z0-9.-]{0,252}|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?")
# blob: images are attachment thumbnails the chat page fetched with its token (only our own script makes them).
CSP_FIXED = ("default-src 'self'; img-src 'self' data: blob: https://ui-avatars.com; style-src 'self' 'unsafe-inline'; "
             "frame-ancestors 'none'; base-uri 'self'; form-action 'self'")


def connect_sources(public_url: str, host: str) -> str:
    """`connect-src`: the page's own origin, and websockets to its own host only (never `ws:` to anywhere, which
    would let injected script carry data off to any server). 'self' covers same-host ws/wss in CSP Level 3
    browsers; the explicit entries are for those before it. The page's host is the request's Host (what the
    browser connected to; a proxy that keeps Host passes it on); PUBLIC_URL's host is where people are sent
    when a proxy rewrites Host."""
    hosts = []
    public = urllib.parse.urlsplit(public_url)
    if _HOST.fullmatch(public.netloc):
        hosts.append((public.netloc, ("wss",) if public.scheme == "https" else ("ws", "wss")))
    if _HOST.fullmatch(host) and host != public.netloc:
        # Whether the client reached us over TLS is the proxy's secret: both schemes, same host.
        hosts.append((host, ("ws", "wss")))
    return " ".join(["'self'", *(f"{scheme}://{netloc}" for netloc, schemes in hosts for scheme in schemes)])


SERVER_NAME = "EduTrack"


async def server_header(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: every response the app answers (pages, API, static files, websocket handshakes) names
    no framework version in `Server`, which would tell a scanner which published advisories to try."""
    response.headers["Server"] = SERVER_NAME


def cors_and_security(settings: Settings) -> Middleware:
    allowed = frozenset(settings.cors_origins)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        origin_ok = origin is not None and origin.rstrip("/") in allowed
        if request.method == "OPTIONS" and origin and "Access-Control-Request-Method" in request.headers:
            if not origin_ok:
                return json_response(_error_body("cors_forbidden", _("This site may not call the API.")), status=403)
            response: web.StreamResponse = web.Response(status=204)
            response.headers.update(
                {
                    "Access-Control-Allow-Methods": CORS_METHODS,
                    "Access-Control-Allow-Headers": CORS_HEADERS,
                    "Access-Control-Max-Age": "600",
                }
            )
        else:
            response = await handler(request)
        if origin_ok and origin is not None:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Expose-Headers"] = "X-Request-ID, Retry-After"
            response.headers["Vary"] = "Origin"
        if not response.prepared:
            h = response.headers
            h.setdefault("X-Content-Type-Options", "nosniff")
            h.setdefault("X-Frame-Options", "DENY")
            h.setdefault("Referrer-Policy", "no-referrer")
            h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
            h.setdefault("Content-Security-Policy",
                         f"{CSP_FIXED}; connect-src {connect_sources(settings.public_url, request.host)}")
            if settings.is_production:
                h.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
            if request.path.startswith("/api/"):
                h.setdefault("Cache-Control", "no-store")
        return response

    return middleware


@web.middleware
async def route_contract(request: web.Request, handler: Handler) -> web.StreamResponse:
    """What a documented route declares in its `@doc`, enforced before the handler reads anything: a route that
    needs a principal answers 401 to an anonymous caller whatever the body, and an API route refuses query
    parameters it does not document (a route with a query schema refuses them when it loads the query)."""
    meta = route_doc(request.match_info.handler)
    if meta is not None:
        if meta.auth:
            principal(request)
        if meta.query is None and request.query_string and request.path.startswith("/api/") and request.query:
            raise errors.ValidationFailed(_("Query parameters are invalid"),
                                          details={name: [_("Unknown field.")] for name in request.query})
    return await handler(request)


@web.middleware
async def db_admission(request: web.Request, handler: Handler) -> web.StreamResponse:
    """An /api/ request takes a place at PostgreSQL at its first connection, and gives it back here when its
    answer is done; a full queue answers 503 `overloaded` at once (db/gate.py). The websocket is not gated."""
    if not request.path.startswith("/api/"):
        return await handler(request)
    admission = Admission(request.app[CTX].db_gate)
    token = current_admission.set(admission)
    try:
        return await handler(request)
    finally:
        admission.close()
        current_admission.reset(token)
