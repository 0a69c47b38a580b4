"""The test-time check that holds every answer of a documented route to its /openapi.json schema
(tests/support/contract.py) catches what it must: an undocumented field, a wrong type, an unlisted status."""

from __future__ import annotations

import logging
from typing import Any

import marshmallow as ma
import pytest
from aiohttp import web

from edutrack.api.http import json_response
from edutrack.api.openapi import doc
from edutrack.app import create_app
from edutrack.settings import Settings
from tests.support.contract import check_responses


class ThingSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(allow_none=True)
    tags = ma.fields.List(ma.fields.Nested(ma.Schema.from_dict({"label": ma.fields.String()})))


def thing_route(answer: dict[str, Any], status: int = 200) -> Any:
    @doc("A thing", tags=["test"], response=ThingSchema, auth=False)
    async def handler(request: web.Request) -> web.Response:
        return json_response(answer, status=status)

    return handler


@pytest.mark.parametrize("answer, status, fault", [
    ({"id": 1, "name": None, "tags": [{"label": "a"}]}, 200, None),
    ({"id": 1, "secret": "x"}, 200, "Additional properties are not allowed ('secret' was unexpected)"),
    ({"id": "1"}, 200, "'1' is not of type 'integer'"),
    ({"id": 1, "tags": [{"label": "a", "extra": 1}]}, 200, "'tags/0'"),
    ({"name": "no id"}, 200, "'id' is a required property"),
    ({"id": 1}, 202, "answered 202, which its @doc does not list"),
])
async def test_the_contract_check_catches_a_broken_answer(
        aiohttp_client: Any, settings: Settings, caplog: pytest.LogCaptureFixture,
        answer: dict[str, Any], status: int, fault: str | None) -> None:
    app = create_app(settings)
    app.router.add_get("/api/v1/thing", thing_route(answer, status))
    client = await aiohttp_client(check_responses(app))
    with caplog.at_level(logging.ERROR, logger="edutrack.http"):
        resp = await client.get("/api/v1/thing")
    if fault is None:
        assert resp.status == 200
        return
    assert resp.status == 500
    [record] = [r for r in caplog.records if r.getMessage() == "unhandled error"]
    assert record.exc_info is not None
    assert fault in str(record.exc_info[1])
