"""Handlers of announcements that ask for confirmation ("ознакомлен", services/chat_acks.py): confirm, the
author's table per class, reminders, and what a room's announcements ask of the caller."""

from __future__ import annotations

import marshmallow as ma
from aiohttp import web
from marshmallow import fields

from edutrack import errors
from edutrack.api.http import client_ip, ctx_of, json_response, path_int, principal
from edutrack.api.news_acks import AckTableSchema
from edutrack.api.openapi import doc
from edutrack.services import ack_links, chat_acks

TAGS = ("chats",)


class ChatAckResultSchema(ma.Schema):
    channel = fields.String()
    message_id = fields.Integer()
    acknowledged_at = fields.DateTime()
    duplicate = fields.Boolean(metadata={"description": "true: you had confirmed already; it counts once"})


class ChatAckOverviewSchema(AckTableSchema):
    channel = fields.String()
    message_id = fields.Integer()


class ChatRemindResultSchema(ma.Schema):
    channel = fields.String()
    message_id = fields.Integer()
    reminded = fields.Integer()
    reminded_at = fields.DateTime()


class RoomAckSchema(ma.Schema):
    message_id = fields.Integer()
    author_id = fields.Integer()
    ack = fields.List(fields.String())
    asks_me = fields.Boolean(metadata={"description": "this announcement asks you to confirm it"})
    acknowledged_at = fields.DateTime(allow_none=True, metadata={"description": "when you confirmed; null: not"})
    manage = fields.Boolean(metadata={"description": "you may see who has confirmed and remind the rest"})


class RoomAckListSchema(ma.Schema):
    items = fields.List(fields.Nested(RoomAckSchema))


def _where(request: web.Request) -> tuple[str, int]:
    return request.match_info["channel"], path_int(request, "message_id")


@doc("Confirm you read an announcement that asks you to; counts once however often sent", tags=TAGS,
     response=ChatAckResultSchema, errors=(400, 404, 409, 429))
async def acknowledge_announcement(request: web.Request) -> web.Response:
    found = await chat_acks.acknowledge(ctx_of(request), principal(request), *_where(request), "rest")
    return json_response(ChatAckResultSchema().dump(found))


@doc("Who has and has not confirmed an announcement, per class (parents per child) and staff: its author, the "
     "school's admins", tags=TAGS, response=ChatAckOverviewSchema, errors=(400, 404))
async def announcement_acks(request: web.Request) -> web.Response:
    found = await chat_acks.overview(ctx_of(request), principal(request), *_where(request))
    return json_response(ChatAckOverviewSchema().dump(found))


@doc("Remind those who have not confirmed an announcement (a `reminder` notification); once per "
     "ACK_REMIND_INTERVAL", tags=TAGS, response=ChatRemindResultSchema, errors=(400, 404, 429))
async def remind_announcement(request: web.Request) -> web.Response:
    found = await chat_acks.remind(ctx_of(request), principal(request), *_where(request))
    return json_response(ChatRemindResultSchema().dump(found))


@doc("The announcements of a room that ask for confirmation (newest 200): whether each asks you, whether you "
     "have confirmed, whether you may see the table", tags=TAGS, response=RoomAckListSchema, errors=(400, 403))
async def room_ack_requests(request: web.Request) -> web.Response:
    items = await chat_acks.in_room(ctx_of(request), principal(request), request.match_info["channel"])
    return json_response(RoomAckListSchema().dump({"items": items}))


@doc("Confirm an announcement by the signed link of a push's \"I have read it\" action (POST, no login: the link is "
     "the credential; the email's link opens the page /ack/{token}, which asks first)", tags=TAGS, auth=False,
     response=ChatAckResultSchema, errors=(404, 409, 429))
async def acknowledge_announcement_by_link(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    count, ttl = await ctx.limiter.hit(f"public:ip:{client_ip(request)}", ctx.settings.public_window)
    if count > ctx.settings.public_max_per_window:
        raise errors.TooManyRequests(ttl)
    found = await ack_links.confirm(ctx, request.match_info["token"], "push", (ack_links.CHAT,))
    return json_response(ChatAckResultSchema().dump(found))


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/v1/chats/{channel}/ack-requests", room_ack_requests)
    r.add_post("/api/v1/chats/{channel}/messages/{message_id}/ack", acknowledge_announcement)
    r.add_get("/api/v1/chats/{channel}/messages/{message_id}/acks", announcement_acks)
    r.add_post("/api/v1/chats/{channel}/messages/{message_id}/ack-reminders", remind_announcement)
    r.add_post("/api/v1/chat-acks/{token}", acknowledge_announcement_by_link)
