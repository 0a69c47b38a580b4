"""OpenAPI 3 generated from the routes and the marshmallow schemas attached to handlers with `@doc`."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import marshmallow as ma
from aiohttp import web
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

import edutrack

H = TypeVar("H", bound=Callable[..., Any])
ATTR = "__edutrack_doc__"

ERROR_STATUSES = {
    400: "Bad request (malformed JSON, text with NUL or a lone surrogate, an invalid reset link, ...)",
    401: "Missing, expired or invalid access token",
    403: "Authenticated but not allowed",
    404: "No such resource (or not visible to you)",
    409: "Conflicts with the current state",
    413: "Body too large",
    415: "Body is not application/json",
    422: "Body or query failed validation",
    429: "Rate limited; see Retry-After",
    503: "Busy (the database or password hashing at capacity) or a service is unavailable; see Retry-After",
}


@dataclass(frozen=True)
class Doc:
    summary: str
    tags: tuple[str, ...]
    body: type[ma.Schema] | ma.Schema | None = None
    query: type[ma.Schema] | None = None
    response: type[ma.Schema] | ma.Schema | None = None
    status: int = 200
    auth: bool = True
    errors: tuple[int, ...] = ()
    description: str = ""
    extra_responses: dict[int, str] = field(default_factory=dict)


def doc(
    summary: str,
    *,
    tags: tuple[str, ...] | list[str],
    body: type[ma.Schema] | ma.Schema | None = None,
    query: type[ma.Schema] | None = None,
    response: type[ma.Schema] | ma.Schema | None = None,
    status: int = 200,
    auth: bool = True,
    errors: tuple[int, ...] | list[int] = (),
    description: str = "",
    extra_responses: dict[int, str] | None = None,
) -> Callable[[H], H]:
    def attach(handler: H) -> H:
        setattr(handler, ATTR, Doc(summary, tuple(tags), body, query, response, status, auth, tuple(errors),
                                   description, extra_responses or {}))
        return handler

    return attach


def route_doc(handler: Any) -> Doc | None:
    """The documentation a handler carries, if any."""
    found: Doc | None = getattr(handler, ATTR, None)
    return found


class ErrorBodySchema(ma.Schema):
    code = ma.fields.String(required=True, metadata={"example": "validation_error"})
    message = ma.fields.String(required=True)
    details = ma.fields.Raw(allow_none=True)


class ErrorSchema(ma.Schema):
    error = ma.fields.Nested(ErrorBodySchema, required=True)


# Path parameters that are not integer ids (every other one is).
STRING_PATH_PARAMS: dict[str, dict[str, Any]] = {
    "channel": {"type": "string", "example": "class:12",
                "pattern": r"^((class|parents|staff|announcements|class-announcements|group|user):\d+|dm:\d+:\d+"
                           r"|grade-announcements:\d+:\d+)$"},
    "reaction": {"type": "string", "enum": ["thumbs_up", "heart", "laugh", "wow", "sad", "check"]},
    "token": {"type": "string", "pattern": r"^[A-Za-z0-9_-]{16,128}$"},
}

PARAM = re.compile(r"{([^}:]+)(?::[^}]*)?}")


def _schema_name(resolver_schema: Any) -> str:
    cls = resolver_schema if isinstance(resolver_schema, type) else type(resolver_schema)
    name = cls.__name__
    name = name.removesuffix("Schema") or name
    if not isinstance(resolver_schema, type) and getattr(resolver_schema, "many", False):
        name += "List"
    partial = getattr(resolver_schema, "partial", False)
    return name + ("Patch" if partial else "")


def _operation(route: web.AbstractRoute, meta: Doc, path: str) -> dict[str, Any]:
    """The OpenAPI operation of one documented route."""
    operation: dict[str, Any] = {
        "summary": meta.summary,
        "tags": list(meta.tags),
        "operationId": f"{route.method.lower()}_{route.handler.__name__}",
        "responses": {},
    }
    if meta.description:
        operation["description"] = meta.description
    parameters: list[dict[str, Any]] = [
        {"in": "path", "name": name, "required": True,
         "schema": STRING_PATH_PARAMS.get(name, {"type": "integer", "minimum": 1})}
        for name in PARAM.findall(path)
    ]
    if meta.query is not None:
        parameters.append({"in": "query", "schema": meta.query})
    if parameters:
        operation["parameters"] = parameters
    if meta.body is not None:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": meta.body}}}
    ok: dict[str, Any] = {"description": "OK" if meta.status < 300 else "Done"}
    if meta.response is not None:
        ok["content"] = {"application/json": {"schema": meta.response}}
    operation["responses"][str(meta.status)] = ok
    statuses = set(meta.errors)
    if meta.auth:
        operation["security"] = [{"bearer": []}]
        statuses |= {401}
    if meta.body is not None:
        statuses |= {400, 413, 415, 422}
    if meta.query is not None:
        statuses |= {400, 422}  # 400 invalid_text: a NUL or a lone surrogate in a parameter
    if path.startswith("/api/"):
        statuses |= {422}  # a query parameter the route does not document (api/middlewares.py route_contract)
        statuses |= {503}  # overloaded: the database's queue is full (db/gate.py)
    for status in sorted(statuses):
        operation["responses"][str(status)] = {
            "description": ERROR_STATUSES.get(status, "Error"),
            "content": {"application/json": {"schema": "Error"}},
        }
    for status, text in meta.extra_responses.items():
        operation["responses"][str(status)] = {"description": text}
    return operation


def build_spec(app: web.Application) -> dict[str, Any]:
    spec = APISpec(
        title="EduTrack API",
        version=edutrack.__version__,
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin(schema_name_resolver=_schema_name)],
        info={
            "description": "REST API of EduTrack, a realtime school diary. Live events arrive over the "
            "websocket at /ws (see docs/websocket.md). Every error has the shape "
            '{"error": {"code", "message", "details"}}.',
        },
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    spec.components.schema("Error", schema=ErrorSchema)

    paths: dict[str, dict[str, Any]] = {}
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("path") or info.get("formatter")
        meta: Doc | None = getattr(route.handler, ATTR, None)
        if path is None or meta is None or route.method == "HEAD":
            continue
        path = PARAM.sub(r"{\1}", path)
        paths.setdefault(path, {})[route.method.lower()] = _operation(route, meta, path)

    for path in sorted(paths):
        spec.path(path=path, operations=paths[path])
    return spec.to_dict()


def documented_routes(app: web.Application) -> set[tuple[str, str]]:
    """(METHOD, path) of every route that carries documentation."""
    found = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("path") or info.get("formatter")
        if path and getattr(route.handler, ATTR, None) is not None:
            found.add((route.method, PARAM.sub(r"{\1}", path)))
    return found
