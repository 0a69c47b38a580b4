"""The HTTP edge: one JSON error shape for bad input, unknown routes and crashes; CORS; security headers."""

from __future__ import annotations

import logging

import pytest
from aiohttp import web

from edutrack.app import create_app
from tests.foundation.helpers import error_of, scalar

REGISTER = "/api/v1/auth/register"
ME = "/api/v1/profile/me"
VALID = {"email": "a@example.test", "password": "long-enough-pw", "first_name": "A", "last_name": "B"}


async def test_malformed_json(client, ctx):
    for raw in (b"{", b"{'email': 1}", b"\xff\xfe", b"", b"nul"):
        resp = await client.post(REGISTER, data=raw, headers={"Content-Type": "application/json"})
        error = await error_of(resp, 400)
        assert error["code"] == "invalid_json", raw
    assert await scalar(ctx, "SELECT count(*) FROM users") == 0


async def test_json_that_is_not_an_object(client):
    for raw in (b"[]", b"[1, 2]", b"\"text\"", b"42", b"null", b"true"):
        resp = await client.post(REGISTER, data=raw, headers={"Content-Type": "application/json",
                                                              "Accept-Language": "en"})
        error = await error_of(resp, 400)
        assert error["code"] == "invalid_json"
        assert error["message"] == "The request body must be a JSON object."


async def test_wrong_types_and_unknown_fields(client, ctx):
    cases = [
        ({**VALID, "email": 42}, "email"),
        ({**VALID, "password": ["a"]}, "password"),
        ({**VALID, "birthday": "31.12.2010"}, "birthday"),
        ({**VALID, "birthday": 20100101}, "birthday"),
        ({**VALID, "first_name": None}, "first_name"),
        ({**VALID, "first_name": ""}, "first_name"),
        ({**VALID, "first_name": " \t "}, "first_name"),
        ({**VALID, "first_name": "x" * 101}, "first_name"),
        ({**VALID, "is_superuser": True}, "is_superuser"),
        ({**VALID, "role": "wizard"}, "role"),
        ({k: v for k, v in VALID.items() if k != "email"}, "email"),
    ]
    for body, field in cases:
        error = await error_of(await client.post(REGISTER, json=body), 422)
        assert error["code"] == "validation_error"
        assert field in error["details"], (body, error)
    assert await scalar(ctx, "SELECT count(*) FROM users") == 0


async def test_wrong_content_type(client):
    for headers, data in (({"Content-Type": "text/plain"}, b"{}"),
                          ({"Content-Type": "application/x-www-form-urlencoded"}, b"email=a"),
                          ({}, b"")):
        error = await error_of(await client.post(REGISTER, data=data, headers=headers), 415)
        assert error["code"] == "unsupported_media_type"


async def test_oversized_body(make_client):
    client = await make_client(max_body_bytes=2048)
    big = {**VALID, "first_name": "x" * 5000}
    error = await error_of(await client.post(REGISTER, json=big), 413)
    assert error["code"] == "payload_too_large"
    # Also when the client does not announce the length (chunked).
    async def chunks():
        yield b'{"first_name": "'
        for _ in range(10):
            yield b"y" * 1000
        yield b'"}'

    resp = await client.post(REGISTER, data=chunks(), headers={"Content-Type": "application/json"})
    await error_of(resp, 413)


async def test_unknown_route_and_wrong_method_are_json(client):
    error = await error_of(await client.get("/api/v1/nope"), 404)
    assert error["code"] == "not_found"
    assert "/api/v1/nope" in error["message"]
    resp = await client.delete("/api/v1/auth/login")
    error = await error_of(resp, 405)
    assert error["code"] == "method_not_allowed"
    assert "POST" in resp.headers["Allow"]


async def test_unexpected_exception_is_a_500_without_internals(aiohttp_client, settings, caplog):
    async def explode(request: web.Request) -> web.Response:
        raise RuntimeError("database password is hunter2")

    app = create_app(settings)
    app.router.add_get("/boom", explode)
    client = await aiohttp_client(app)
    with caplog.at_level(logging.ERROR, logger="edutrack.http"):
        resp = await client.get("/boom", headers={"X-Request-ID": "trace-12345678"})
    error = await error_of(resp, 500)
    assert error["code"] == "internal_error"
    assert error["details"] == {"request_id": "trace-12345678"}
    assert resp.headers["X-Request-ID"] == "trace-12345678"
    text = await resp.text()
    assert "hunter2" not in text
    assert "RuntimeError" not in text
    assert "Traceback" not in text
    # ...but the log has the full story, tied to the same request id.
    logged = [r for r in caplog.records if r.name == "edutrack.http" and r.levelno == logging.ERROR]
    assert logged
    assert logged[0].exc_info is not None
    assert "hunter2" in str(logged[0].exc_info[1])


async def test_a_redirect_is_logged_with_its_own_status(client, caplog):
    with caplog.at_level(logging.INFO, logger="edutrack.http"):
        resp = await client.get("/", allow_redirects=False, headers={"X-Request-ID": "redirect-12345678"})
    assert resp.status == 302
    assert resp.headers["Location"] == "/login"
    assert resp.headers["X-Request-ID"] == "redirect-12345678"
    [record] = [r for r in caplog.records if r.name == "edutrack.http" and getattr(r, "path", None) == "/"]
    assert record.levelno == logging.INFO
    assert getattr(record, "status", None) == 302


async def test_request_id_is_generated_or_sanitised(client):
    resp = await client.get("/health")
    generated = resp.headers["X-Request-ID"]
    assert len(generated) == 32
    for forged in ("bad id with spaces", "x" * 200, "short", "<script>alert(1)</script>"):
        resp = await client.get("/health", headers={"X-Request-ID": forged})
        assert resp.headers["X-Request-ID"] != forged
        assert len(resp.headers["X-Request-ID"]) == 32
        assert resp.headers["X-Request-ID"].isalnum()


@pytest.mark.parametrize("path", ["/health", "/api/v1/nope", ME, "/docs"])
async def test_security_headers(client, path):
    resp = await client.get(path)
    h = resp.headers
    assert h["X-Content-Type-Options"] == "nosniff"
    assert h["X-Frame-Options"] == "DENY"
    assert h["Referrer-Policy"] == "no-referrer"
    assert "default-src 'self'" in h["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in h["Content-Security-Policy"]
    assert "Strict-Transport-Security" not in h  # only in production (HTTPS)
    if path.startswith("/api/"):
        assert h["Cache-Control"] == "no-store"


def directive(csp: str, name: str) -> list[str]:
    for part in csp.split(";"):
        words = part.split()
        if words and words[0] == name:
            return words[1:]
    raise AssertionError(f"no {name} in {csp!r}")


async def test_connect_src_allows_only_this_host(make_client):
    client = await make_client(public_url="https://diary.school.example")
    page_host = client.make_url("/").host + ":" + str(client.make_url("/").port)
    for path in ("/login", "/chat", "/api/v1/nope", "/docs"):
        csp = (await client.get(path)).headers["Content-Security-Policy"]
        sources = directive(csp, "connect-src")
        # No scheme-only source: `ws:` / `wss:` would let a page open a socket to any server on the internet.
        assert not [s for s in sources if s.endswith(":")], sources
        assert sources == ["'self'", "wss://diary.school.example", f"ws://{page_host}", f"wss://{page_host}"]
    # A Host a browser would never send cannot write itself into the policy.
    for forged in ("evil.example;script-src *", "evil.example 'unsafe-inline'", "*", "a b"):
        csp = (await client.get("/login", headers={"Host": forged})).headers["Content-Security-Policy"]
        assert directive(csp, "connect-src") == ["'self'", "wss://diary.school.example"], csp
        assert "script-src" not in csp
        assert "*" not in csp


@pytest.mark.parametrize("path", ["/health", "/login", "/api/v1/nope", "/static/web/core.js", "/docs", "/"])
async def test_server_header_names_no_framework_version(client, path):
    resp = await client.get(path, allow_redirects=False)
    assert resp.headers["Server"] == "EduTrack", resp.headers.get("Server")


async def test_websocket_handshake_names_no_framework_version(client):
    async with client.ws_connect("/ws") as ws:
        assert ws._response.headers["Server"] == "EduTrack"


async def test_hsts_in_production(make_client):
    client = await make_client(environment="production")
    resp = await client.get("/health")
    assert resp.headers["Strict-Transport-Security"].startswith("max-age=")


async def test_cors_allowed_origin(make_client):
    client = await make_client(cors_origins=("https://app.example",))
    resp = await client.get("/health", headers={"Origin": "https://app.example"})
    assert resp.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert "Origin" in resp.headers["Vary"]
    assert "X-Request-ID" in resp.headers["Access-Control-Expose-Headers"]

    preflight = await client.options(
        "/api/v1/auth/login",
        headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "content-type, authorization"},
    )
    assert preflight.status == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    assert "Content-Type" in preflight.headers["Access-Control-Allow-Headers"]


async def test_cors_other_origin_refused(make_client):
    client = await make_client(cors_origins=("https://app.example",))
    resp = await client.get("/health", headers={"Origin": "https://evil.example"})
    assert resp.status == 200  # same-origin policy in the browser does the refusing...
    assert "Access-Control-Allow-Origin" not in resp.headers  # ...because we grant nothing
    preflight = await client.options(
        "/api/v1/auth/login", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    )
    error = await error_of(preflight, 403)
    assert error["code"] == "cors_forbidden"
    assert "Access-Control-Allow-Origin" not in preflight.headers
    # No Origin at all (curl, server-to-server): no CORS headers either.
    assert "Access-Control-Allow-Origin" not in (await client.get("/health")).headers


async def test_hostile_input_never_reaches_the_database_as_a_500(client, factory):
    root = await factory.actor("admin", is_superuser=True)
    target = await factory.user("student")
    json_headers = {**root.headers, "Content-Type": "application/json"}
    user = '"email":"n@example.test","password":"long-enough-pw","first_name":"A","last_name":"B"'
    cases = [
        # (method, path, raw body or None, expected status, expected code)
        ("post", REGISTER, b"[" * 100_000, 400, "invalid_json"),
        ("post", REGISTER, b'{"a":' * 5000 + b"1" + b"}" * 5000, 400, "invalid_json"),
        ("post", REGISTER, ("{" + user.replace('"A"', '"a\\u0000b"') + "}").encode(), 400, "invalid_text"),
        ("post", REGISTER, ("{" + user.replace('"A"', '"\\ud800"') + "}").encode(), 400, "invalid_text"),
        ("post", "/api/v1/auth/login", b'{"email":"a\\u0000@x.y","password":"whatever"}', 400, "invalid_text"),
        ("post", "/api/v1/auth/login", b'{"email":"a@x.y","password":"\\udfff"}', 400, "invalid_text"),
        ("put", ME, b'{"first_name":"\\ud800"}', 400, "invalid_text"),
        ("post", "/api/v1/users", ("{" + user + ',"role":"teacher","school_id":1e30}').encode(), 422,
         "validation_error"),
        ("post", "/api/v1/users", ("{" + user + ',"role":"teacher","school_id":99999}').encode(), 422,
         "validation_error"),
        ("patch", f"/api/v1/users/{target.id}", b'{"school_id":99999}', 422, "validation_error"),
        ("patch", f"/api/v1/users/{target.id}", b'{"school_id":99999999999999999999}', 422, "validation_error"),
        ("get", "/api/v1/users?q=%00", None, 400, "invalid_text"),
        ("get", "/api/v1/users?school_id=99999999999999999999", None, 422, "validation_error"),
    ]
    for method, path, body, status, code in cases:
        kwargs: dict[str, object] = {"headers": json_headers}
        if body is not None:
            kwargs["data"] = body
        error = await error_of(await getattr(client, method)(path, **kwargs), status)
        assert error["code"] == code, (path, body[:80] if body else None, error)
    assert await scalar(factory.ctx, "SELECT count(*) FROM users WHERE email = 'n@example.test'") == 0
    assert await scalar(factory.ctx, "SELECT school_id FROM users WHERE id = :i", i=target.id) is None


async def test_logs_are_json_lines_carrying_the_request_id(client):
    import json

    from edutrack.logs import JsonFormatter

    lines: list[str] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            # Format at once, inside the request's context, as the real stderr handler does.
            lines.append(self.format(record))

    handler = Capture()
    handler.setFormatter(JsonFormatter())
    http_log = logging.getLogger("edutrack.http")
    old_level = http_log.level
    http_log.addHandler(handler)
    http_log.setLevel(logging.INFO)
    try:
        resp = await client.get("/api/v1/nope", headers={"X-Request-ID": "req-abcdef123"})
    finally:
        http_log.removeHandler(handler)
        http_log.setLevel(old_level)
    assert resp.headers["X-Request-ID"] == "req-abcdef123"
    entries = [json.loads(line) for line in lines]
    request_lines = [e for e in entries if e["msg"] == "request"]
    assert len(request_lines) == 1, entries
    entry = request_lines[0]
    assert entry["request_id"] == "req-abcdef123"
    assert entry["method"] == "GET"
    assert entry["path"] == "/api/v1/nope"
    assert entry["status"] == 404
    assert entry["level"] == "info"
    assert isinstance(entry["duration_ms"], float)


def test_text_logs_carry_the_same_fields():
    from edutrack.logs import TextFormatter, request_id_var

    formatter = TextFormatter("%(levelname)s %(name)s: %(message)s")
    record = logging.LogRecord("edutrack.http", logging.INFO, __file__, 1, "request", (), None)
    record.__dict__.update({"method": "GET", "path": "/x", "status": 404})
    token = request_id_var.set("req-12345678")
    try:
        line = formatter.format(record)
    finally:
        request_id_var.reset(token)
    assert line == "INFO edutrack.http: request method=GET path=/x status=404 [request_id=req-12345678]"
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    # The fields stay on the first line; the traceback follows.
    first, *rest = formatter.format(record).splitlines()
    assert first == "INFO edutrack.http: request method=GET path=/x status=404"
    assert rest[-1] == "ValueError: boom"
