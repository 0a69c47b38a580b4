"""Every response of every test is checked against what /openapi.json promises for it.

The one rule for responses: the `@doc(response=...)` schema is the contract of a route, and this test-time
middleware holds every successful answer of every documented route to it (types, required fields, no
undocumented field, a status the route lists), whether the handler passed its service's dict straight to
`json_response`, dumped it through the schema (where the schema renames a key, as `from_` -> `from`, or turns
model objects into JSON) or served bytes a cache kept. Checking in tests rather than dumping every answer at run
time keeps the hot cached paths (grade lists, term sheets, weeks are pre-encoded bytes) free of that cost."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from openapi_schema_validator import OAS30Validator

from edutrack.api.openapi import PARAM, build_spec, route_doc

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
VALIDATORS = web.AppKey("response_validators", dict)


class ContractBroken(AssertionError):
    pass


def _strict(schema: Any, components: dict[str, Any]) -> Any:
    """The schema with $refs inlined and every object closed to fields it does not list."""
    if isinstance(schema, list):
        return [_strict(s, components) for s in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        return _strict(components[schema["$ref"].rsplit("/", 1)[-1]], components)
    out = {k: _strict(v, components) for k, v in schema.items()}
    if out.get("type") == "object" and "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


def _validators(app: web.Application) -> dict[tuple[str, str, int], OAS30Validator | None]:
    found: dict[tuple[str, str, int], OAS30Validator | None] = app[VALIDATORS]
    if not found:  # built at the first response: the routes are all there by then
        spec = build_spec(app)
        components = spec.get("components", {}).get("schemas", {})
        for path, item in spec["paths"].items():
            for method, operation in item.items():
                for status, response in operation["responses"].items():
                    schema = response.get("content", {}).get("application/json", {}).get("schema")
                    found[(method.upper(), path, int(status))] = (
                        OAS30Validator(_strict(schema, components)) if schema is not None else None)
    return found


@web.middleware
async def response_contract(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    meta = route_doc(request.match_info.handler)
    resource = request.match_info.route.resource
    if meta is None or resource is None or request.method == "HEAD" or not isinstance(response, web.Response):
        return response
    path = PARAM.sub(r"{\1}", resource.canonical)
    key = (request.method, path, response.status)
    validators = _validators(request.app)
    if key not in validators:
        raise ContractBroken(f"{request.method} {path} answered {response.status}, which its @doc does not list")
    validator = validators[key]
    if validator is not None:
        body = response.body if isinstance(response.body, bytes) else b""
        errors = sorted(validator.iter_errors(json.loads(body)), key=lambda e: list(e.path))
        if errors:
            where = "/".join(str(p) for p in errors[0].path)
            raise ContractBroken(f"{request.method} {path} {response.status} breaks its documented schema at "
                                 f"'{where}': {errors[0].message}")
    return response


def check_responses(app: web.Application) -> web.Application:
    app[VALIDATORS] = {}
    app.middlewares.append(response_contract)
    return app
