"""Request parsing and response helpers shared by every handler."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

import marshmallow as ma
from aiohttp import web

from edutrack import errors
from edutrack.context import AppContext
from edutrack.i18n import _
from edutrack.i18n.validation import translate_messages
from edutrack.keys import CTX, PRINCIPAL
from edutrack.security.tokens import Principal
from edutrack.serialize import dumps_bytes
from edutrack.validation import INT64_MAX, INT64_MIN, parse_json, reject_unstorable_text


def json_response(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.Response(body=dumps_bytes(data), status=status, headers=headers, content_type="application/json",
                        charset="utf-8")


def json_body_response(body: bytes) -> web.Response:
    """A 200 with an already encoded JSON body (a cached one): the same headers as `json_response`."""
    return web.Response(body=body, content_type="application/json", charset="utf-8")


def ctx_of(request: web.Request) -> AppContext:
    return request.app[CTX]


def principal(request: web.Request) -> Principal:
    """The authenticated caller (from `Authorization: Bearer <access token>`), or 401."""
    found: Principal | None = request.get(PRINCIPAL)
    if found is not None:
        return found
    header = request.headers.get("Authorization", "")
    scheme, _space, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise errors.Unauthorized(_("Sign in first: send an access token (Authorization: Bearer <token>)."),
                                  headers={"WWW-Authenticate": "Bearer"})
    decoded = request.app[CTX].tokens.decode_access(token.strip())
    request[PRINCIPAL] = decoded
    return decoded


def _validation_details(exc: ma.ValidationError) -> Any:
    """marshmallow's own messages are English: the request's language replaces them (ours are translated)."""
    return translate_messages(exc.messages)


async def load_json(request: web.Request, schema: ma.Schema) -> dict[str, Any]:
    if request.content_type != "application/json":
        raise errors.UnsupportedMediaType(_("Send the body as application/json (it came as %(type)s).",
                                                  type=request.content_type))
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge as exc:
        raise errors.PayloadTooLarge(
            _("The request is larger than %(limit)s bytes.", limit=request.app[CTX].settings.max_body_bytes)
        ) from exc
    body = parse_json(raw or b"null", "body")
    if not isinstance(body, dict):
        raise errors.BadRequest(_("The request body must be a JSON object."), code="invalid_json")
    reject_unstorable_text(body)
    try:
        loaded: dict[str, Any] = schema.load(body)
    except ma.ValidationError as exc:
        raise errors.ValidationFailed(details=_validation_details(exc)) from exc
    _check_integer_range(loaded)
    return loaded


def _check_integer_range(loaded: dict[str, Any]) -> None:
    """Integers must fit a PostgreSQL bigint; a larger one (or 1e30 loaded as an int) would fail in the DB."""
    bad = {}
    for name, value in loaded.items():
        values = value if isinstance(value, list) else [value]
        if any(isinstance(v, int) and not isinstance(v, bool) and not INT64_MIN <= v <= INT64_MAX for v in values):
            bad[name] = [_("Number is out of range.")]
    if bad:
        raise errors.ValidationFailed(details=bad)


def load_query(request: web.Request, schema: ma.Schema) -> dict[str, Any]:
    raw = {key: request.query.getall(key) if key in _list_fields(schema) else request.query[key]
           for key in request.query}
    reject_unstorable_text(raw)
    try:
        loaded: dict[str, Any] = schema.load(raw)
    except ma.ValidationError as exc:
        raise errors.ValidationFailed(_("The query parameters are invalid."),
                                      details=_validation_details(exc)) from exc
    _check_integer_range(loaded)
    return loaded


def _list_fields(schema: ma.Schema) -> set[str]:
    return {name for name, f in schema.fields.items() if isinstance(f, ma.fields.List)}


def path_int(request: web.Request, name: str) -> int:
    raw = request.match_info[name]
    try:
        value = int(raw)
    except ValueError as exc:
        raise errors.NotFound(_("%(name)s must be an integer id.", name=name)) from exc
    if value < 1 or value > 2**63 - 1:
        raise errors.NotFound(_("Nothing found for this %(name)s.", name=name))
    return value


def client_ip(request: web.Request) -> str:
    """The caller's address. X-Forwarded-For is believed only when it comes from a proxy listed in
    TRUSTED_PROXIES, and then only up to the first address that is not a trusted proxy: anything further
    left was written by the client and could be anything."""
    remote = request.remote or "unknown"
    trusted = [ipaddress.ip_network(n) for n in request.app[CTX].settings.trusted_proxies]
    if not trusted or not _is_trusted(remote, trusted):
        return remote
    hops = [h.strip() for h in ",".join(request.headers.getall("X-Forwarded-For", [])).split(",") if h.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return remote  # garbage where an address should be: fall back to the proxy
    return hops[0] if hops else remote


def _is_trusted(address: str, trusted: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)
