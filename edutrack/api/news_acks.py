"""Handlers of news acknowledgements ("ознакомлен"): confirm (page or the email's one-click link), the author's
table per class, and reminders to those who have not confirmed."""

from __future__ import annotations

import marshmallow as ma
from aiohttp import web
from marshmallow import fields

from edutrack import errors
from edutrack.api.http import client_ip, ctx_of, json_response, path_int, principal
from edutrack.api.openapi import doc
from edutrack.services import ack_links
from edutrack.services.diary import news_acks

TAGS = ("news",)


class AckResultSchema(ma.Schema):
    news_id = fields.Integer()
    acknowledged_at = fields.DateTime()
    duplicate = fields.Boolean(metadata={"description": "true: you had confirmed already; it counts once"})


class AckPersonSchema(ma.Schema):
    id = fields.Integer()
    name = fields.String()
    acknowledged = fields.Boolean()
    at = fields.DateTime(allow_none=True)


class AckStudentSchema(AckPersonSchema):
    required = fields.Boolean(metadata={"description": "whether this student must confirm themselves"})
    parents = fields.List(fields.Nested(AckPersonSchema))
    family_acknowledged = fields.Boolean(allow_none=True, metadata={
        "description": "parents: one parent confirmed (every parent with each_parent); null: parents not asked"})


class AckClassSchema(ma.Schema):
    class_id = fields.Integer()
    class_name = fields.String()
    students = fields.List(fields.Nested(AckStudentSchema))


class AckTableSchema(ma.Schema):
    """Who must confirm an item and who has (services/ack_table.py): news and chat announcements alike."""

    ack = fields.List(fields.String())
    each_parent = fields.Boolean()
    required = fields.Integer(metadata={"description": "people who must confirm"})
    acknowledged = fields.Integer(metadata={"description": "of them, who have"})
    classes = fields.List(fields.Nested(AckClassSchema))
    staff = fields.List(fields.Nested(AckPersonSchema))
    reminded_at = fields.DateTime(allow_none=True)


class AckOverviewSchema(AckTableSchema):
    news_id = fields.Integer()


class RemindResultSchema(ma.Schema):
    news_id = fields.Integer()
    reminded = fields.Integer()
    reminded_at = fields.DateTime()


_result = AckResultSchema()
_overview = AckOverviewSchema()
_reminded = RemindResultSchema()


@doc("Confirm you read a news item that asks you to; counts once however often sent", tags=TAGS,
     response=AckResultSchema, errors=(404, 409, 429))
async def acknowledge(request: web.Request) -> web.Response:
    found = await news_acks.acknowledge(ctx_of(request), principal(request), path_int(request, "news_id"), "page")
    return json_response(_result.dump(found))


@doc("Confirm a news item by the signed link of a push's \"I have read it\" action (POST, no login: the link is the "
     "credential; the email's link opens the page /ack/{token}, which asks first)",
     tags=TAGS, auth=False, response=AckResultSchema, errors=(404, 409, 429))
async def acknowledge_by_link(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    count, ttl = await ctx.limiter.hit(f"public:ip:{client_ip(request)}", ctx.settings.public_window)
    if count > ctx.settings.public_max_per_window:
        raise errors.TooManyRequests(ttl)
    found = await ack_links.confirm(ctx, request.match_info["token"], "push", (ack_links.NEWS,))
    return json_response(_result.dump(found))


@doc("Who has and has not confirmed a news item, per class (parents per child) and staff: its author, the "
     "school's admins", tags=TAGS, response=AckOverviewSchema, errors=(404,))
async def overview(request: web.Request) -> web.Response:
    found = await news_acks.overview(ctx_of(request), principal(request), path_int(request, "news_id"))
    return json_response(_overview.dump(found))


@doc("Remind those who have not confirmed a news item (a `reminder` notification); once per ACK_REMIND_INTERVAL",
     tags=TAGS, response=RemindResultSchema, errors=(404, 409, 429))
async def remind(request: web.Request) -> web.Response:
    found = await news_acks.remind(ctx_of(request), principal(request), path_int(request, "news_id"))
    return json_response(_reminded.dump(found))


def setup(app: web.Application) -> None:
    r = app.router
    r.add_post("/api/v1/news/{news_id}/ack", acknowledge)
    r.add_get("/api/v1/news/{news_id}/acks", overview)
    r.add_post("/api/v1/news/{news_id}/ack-reminders", remind)
    r.add_post("/api/v1/news-acks/{token}", acknowledge_by_link)
