"""REST for chats and the notification feed: history with cursors, send, edit, delete, read markers.

The websocket (/ws) carries the same operations live; both go through edutrack.services.chat.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from aiohttp import web
from marshmallow import fields, validate

from edutrack import errors
from edutrack.api import chat_acks as chat_acks_api
from edutrack.api import chat_moderation as chat_moderation_api
from edutrack.api import chat_reactions as chat_reactions_api
from edutrack.api import chat_rooms as chat_rooms_api
from edutrack.api.http import ctx_of, json_response, load_json, load_query, path_int, principal
from edutrack.api.openapi import doc
from edutrack.api.schemas import StrictSchema
from edutrack.i18n import _
from edutrack.ratelimit import CHAT_READ, CHAT_SEND
from edutrack.services import chat, chat_acks, chat_rooms
from edutrack.services.ack_table import ACK_ROLES
from edutrack.services.files.store import MAX_ATTACHMENTS

CHATS = ("chats",)
FEED = ("notifications",)
_ID = validate.Range(min=0, max=2**63 - 1)


class CursorQuerySchema(StrictSchema):
    before = fields.Integer(validate=_ID, metadata={"description": "Only items with a smaller id (older)"})
    after = fields.Integer(validate=_ID, metadata={"description": "Only items with a larger id (newer), "
                                                    "oldest first: use it to catch up from your cursor"})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=chat.MAX_PAGE))


class FeedQuerySchema(CursorQuerySchema):
    unread_only = fields.Boolean(load_default=False)


class SendMessageSchema(StrictSchema):
    text = fields.String(load_default="", validate=validate.Length(max=chat.MAX_TEXT),
                         metadata={"description": "1..4000 characters after trimming; may be empty (or left out) "
                                                  "when the message has attachments"})
    attachments = fields.List(fields.Integer(validate=validate.Range(min=1, max=2**63 - 1)), load_default=list,
                              validate=validate.Length(max=MAX_ATTACHMENTS),
                              metadata={"description": "Ids of files you uploaded (POST /api/v1/files) and have not "
                                                       "attached yet; the chat's members can then download them"})
    mentions = fields.List(fields.Integer(validate=validate.Range(min=1, max=2**63 - 1)), load_default=list,
                           validate=validate.Length(max=chat.MAX_MENTIONS),
                           metadata={"description": "Members this message names (@): each gets a `mention` "
                                                    "notification; ids of people outside the chat are ignored"})
    client_msg_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=64),
                                  metadata={"description": "Your id for this send: a retry with the same id "
                                            "stores nothing new and returns the first message"})
    reply_to = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=2**63 - 1),
                              metadata={"description": "The id of an earlier message of this chat that this one "
                                                       "answers (not deleted); else 400 invalid_reply"})
    ack = fields.List(fields.String(validate=validate.OneOf(ACK_ROLES)), load_default=list, metadata={
        "description": "Announcements rooms only: who must confirm they read it (any of parent, student, staff); "
                       "each of them gets an `ack_request` notification with `ack: true` (docs/notifications.md)"})
    ack_each_parent = fields.Boolean(load_default=False, metadata={
        "description": "With `parent` in `ack`: every parent must confirm, not one per child"})


class EditMessageSchema(StrictSchema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=chat.MAX_TEXT))


class ReadMarkerSchema(StrictSchema):
    up_to = fields.Integer(required=True, validate=_ID)


class AttachmentSchema(ma.Schema):
    id = fields.Integer()
    name = fields.String()
    type = fields.String(metadata={"description": "Told by the content: image/jpeg, application/pdf, ..."})
    size = fields.Integer()
    has_thumbnail = fields.Boolean(metadata={"description": "GET /api/v1/files/{id}/thumbnail serves one"})
class QuoteSchema(ma.Schema):
    id = fields.Integer()
    sender_id = fields.Integer(allow_none=True)
    sender = fields.String(allow_none=True)
    excerpt = fields.String(allow_none=True, metadata={"description": "Its first 120 characters as it is now; "
                                                                      "null once it is deleted"})
    deleted = fields.Boolean(metadata={"description": "The quoted message was deleted after the reply"})


class MessageSchema(ma.Schema):
    channel = fields.String()
    id = fields.Integer(metadata={"description": "Sequence number inside the channel: 1, 2, 3, ..."})
    sender_id = fields.Integer()
    sender = fields.String()
    sender_role = fields.String(allow_none=True, metadata={
        "description": "The sender's label when sent: student, parent, teacher, class_teacher (in their own "
                       "class's rooms) or admin; null for messages older than labels"})
    text = fields.String(allow_none=True, metadata={"description": "null when deleted"})
    client_msg_id = fields.String(allow_none=True)
    created_at = fields.String()
    edited_at = fields.String(allow_none=True, metadata={"description": "Set once the message was edited"})
    deleted = fields.Boolean()
    attachments = fields.List(fields.Nested(AttachmentSchema), metadata={
        "description": "The message's files (empty when none or deleted): GET /api/v1/files/{id}"})
    reply_to = fields.Nested(QuoteSchema, allow_none=True, metadata={
        "description": "The message this one replies to, read as it is now; null if it replies to nothing"})


class SentMessageSchema(MessageSchema):
    duplicate = fields.Boolean(metadata={"description": "true when this client_msg_id was already stored"})


class MessagePageSchema(ma.Schema):
    channel = fields.String()
    items = fields.List(fields.Nested(MessageSchema))
    has_more = fields.Boolean()
    last_message_id = fields.Integer()


class ChannelSummarySchema(ma.Schema):
    channel = fields.String()
    kind = fields.String(metadata={"description": "class, parents, staff, announcements, class-announcements, "
                                                  "grade-announcements, group or dm"})
    title = fields.String()
    with_user_id = fields.Integer()
    last_message_id = fields.Integer()
    last_message_at = fields.DateTime(allow_none=True)
    last_read_id = fields.Integer()
    unread = fields.Integer()


class MemberSchema(ma.Schema):
    id = fields.Integer()
    name = fields.String()
    role = fields.String(metadata={"description": "student, parent, teacher or admin"})
    label = fields.String(metadata={"description": "role, or class_teacher for the class teacher in the rooms of "
                                                   "their class"})
    label_text = fields.String(metadata={"description": "the label in the request's language (классный "
                                                        "руководитель)"})


class MemberListSchema(ma.Schema):
    items = fields.List(fields.Nested(MemberSchema))


class ChannelListSchema(ma.Schema):
    items = fields.List(fields.Nested(ChannelSummarySchema))
    unread_total = fields.Integer(metadata={"description": "Unread messages in all these chats together"})


class ReadMarkerResultSchema(ma.Schema):
    channel = fields.String()
    last_read_id = fields.Integer()


class NotificationSchema(ma.Schema):
    id = fields.Integer()
    channel = fields.String()
    kind = fields.String()
    about_user_id = fields.Integer(allow_none=True)
    payload = fields.Dict()
    created_at = fields.String(allow_none=True)
    read = fields.Boolean()


class FeedPageSchema(ma.Schema):
    items = fields.List(fields.Nested(NotificationSchema))
    has_more = fields.Boolean()
    unread_count = fields.Integer()


class FeedReadResultSchema(ma.Schema):
    channel = fields.String()
    updated = fields.Integer()
    unread_count = fields.Integer()


_message = MessageSchema()
_sent = SentMessageSchema()
_page = MessagePageSchema()
_channels = ChannelListSchema()
_marker = ReadMarkerResultSchema()
_feed = FeedPageSchema()
_feed_read = FeedReadResultSchema()


def _charge(request: web.Request, action: str) -> None:
    """One unit of the caller's budget for `action` on this node, shared with their sockets (429 beyond it)."""
    ctx_of(request).budgets.charge(principal(request).user_id, action)


def _channel(request: web.Request) -> str:
    return request.match_info["channel"]


def _cursor(query: dict[str, Any]) -> dict[str, Any]:
    before, after = query.get("before"), query.get("after")
    if before is not None and after is not None and after >= before:
        raise errors.ValidationFailed(_("Query parameters are invalid"),
                                      details={"after": [_("Must be smaller than before.")]})
    return {"before": before, "after": after, "limit": query["limit"]}


@doc("My chats (every room I belong to now: class chat, parents' room, staff room, announcements, groups; and "
     "private chats) with unread counts", tags=CHATS,
     response=ChannelListSchema)
async def list_chats(request: web.Request) -> web.Response:
    items = await chat_rooms.list_channels(ctx_of(request), principal(request))
    return json_response(_channels.dump({"items": items, "unread_total": sum(i["unread"] for i in items)}))


@doc("Members of a chat (class chat: its students, their parents if the school allows, its teachers; private "
     "chat: the two people), with names and roles", tags=CHATS, response=MemberListSchema, errors=(400, 403))
async def list_members(request: web.Request) -> web.Response:
    items = await chat.members(ctx_of(request), principal(request), _channel(request))
    return json_response(MemberListSchema().dump({"items": items}))


@doc("Messages of a chat, cursor-paginated: newest page by default, `before` for older, `after` to catch up",
     tags=CHATS, query=CursorQuerySchema, response=MessagePageSchema, errors=(400, 403))
async def list_messages(request: web.Request) -> web.Response:
    query = load_query(request, CursorQuerySchema())
    page = await chat.history(ctx_of(request), principal(request), _channel(request), **_cursor(query))
    return json_response(_page.dump(page))


@doc("Send a message (idempotent with client_msg_id); members get it live", tags=CHATS, body=SendMessageSchema,
     response=SentMessageSchema, status=201, errors=(400, 403, 404, 409, 422, 429),
     extra_responses={200: "This client_msg_id was already stored: the stored message, nothing new"})
async def send_message(request: web.Request) -> web.Response:
    _charge(request, CHAT_SEND)
    data = await load_json(request, SendMessageSchema())
    result = await chat.send_message(ctx_of(request), principal(request), _channel(request), data["text"],
                                     data["client_msg_id"], mentions=data["mentions"],
                                     attachments=data["attachments"], reply_to=data["reply_to"],
                                     ack=chat_acks.ask_of(data["ack"], data["ack_each_parent"]))
    return json_response(_sent.dump({**result.message, "duplicate": result.duplicate}),
                         status=200 if result.duplicate else 201)


@doc("Edit your message", tags=CHATS, body=EditMessageSchema, response=MessageSchema,
     errors=(400, 403, 404, 429))
async def edit_message(request: web.Request) -> web.Response:
    _charge(request, CHAT_SEND)
    data = await load_json(request, EditMessageSchema())
    view = await chat.edit_message(ctx_of(request), principal(request), _channel(request),
                                   path_int(request, "message_id"), data["text"])
    return json_response(_message.dump(view))


@doc("Delete a message (yours; teachers of the class and school admins moderate class chats)", tags=CHATS,
     status=204, errors=(400, 403, 404, 429))
async def delete_message(request: web.Request) -> web.Response:
    _charge(request, CHAT_SEND)
    await chat.delete_message(ctx_of(request), principal(request), _channel(request),
                              path_int(request, "message_id"))
    return web.Response(status=204)


@doc("Move my read marker in a chat forward (shared by all my devices)", tags=CHATS, body=ReadMarkerSchema,
     response=ReadMarkerResultSchema, errors=(400, 403, 429))
async def mark_read(request: web.Request) -> web.Response:
    _charge(request, CHAT_READ)
    data = await load_json(request, ReadMarkerSchema())
    channel = _channel(request)
    if channel.startswith("user:"):
        raise errors.BadRequest(_("Use POST /api/v1/notifications/read for the feed"), code="invalid_channel")
    result = await chat.mark_read(ctx_of(request), principal(request), channel, data["up_to"])
    return json_response(_marker.dump(result))


@doc("My notification feed (grades, homework, attendance, news, messages), newest first; `after` for oldest "
     "first from a cursor", tags=FEED, query=FeedQuerySchema, response=FeedPageSchema)
async def list_notifications(request: web.Request) -> web.Response:
    query = load_query(request, FeedQuerySchema())
    page = await chat.feed(ctx_of(request), principal(request), unread_only=query["unread_only"], **_cursor(query))
    return json_response(_feed.dump(page))


@doc("Mark my notifications read up to an id (inclusive); my other devices are told live", tags=FEED,
     body=ReadMarkerSchema, response=FeedReadResultSchema, errors=(429,))
async def read_notifications(request: web.Request) -> web.Response:
    _charge(request, CHAT_READ)
    data = await load_json(request, ReadMarkerSchema())
    result = await chat.mark_feed_read(ctx_of(request), principal(request), data["up_to"])
    return json_response(_feed_read.dump(result))


def setup(app: web.Application) -> None:
    chat_rooms_api.setup(app)
    chat_acks_api.setup(app)
    chat_moderation_api.setup(app)
    chat_reactions_api.setup(app)
    app.router.add_get("/api/v1/chats", list_chats)
    app.router.add_get("/api/v1/chats/{channel}/members", list_members)
    app.router.add_get("/api/v1/chats/{channel}/messages", list_messages)
    app.router.add_post("/api/v1/chats/{channel}/messages", send_message)
    app.router.add_patch("/api/v1/chats/{channel}/messages/{message_id}", edit_message)
    app.router.add_delete("/api/v1/chats/{channel}/messages/{message_id}", delete_message)
    app.router.add_post("/api/v1/chats/{channel}/read", mark_read)
    app.router.add_get("/api/v1/notifications", list_notifications)
    app.router.add_post("/api/v1/notifications/read", read_notifications)
