"""REST for the rooms staff make (groups) and each school's private-chat policy. Registered by api/chats.py."""

from __future__ import annotations

import marshmallow as ma
from aiohttp import web
from marshmallow import fields, validate

from edutrack import errors
from edutrack.api.http import ctx_of, json_response, load_json, load_query, path_int, principal
from edutrack.api.openapi import doc
from edutrack.api.schemas import StrictSchema
from edutrack.i18n import _
from edutrack.ratelimit import CHAT_SEND
from edutrack.services import chat_rooms, chat_search

CHATS = ("chats",)
_USER_ID = fields.Integer(validate=validate.Range(min=1, max=2**63 - 1))
_MEMBERS = validate.Length(max=chat_rooms.MAX_GROUP_MEMBERS)


class GroupCreateSchema(StrictSchema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=120))
    member_ids = fields.List(_USER_ID, load_default=list, validate=_MEMBERS,
                             metadata={"description": "Active users of your school; you are added yourself"})


class GroupUpdateSchema(StrictSchema):
    title = fields.String(load_default=None, validate=validate.Length(min=1, max=120))
    add = fields.List(_USER_ID, load_default=list, validate=_MEMBERS)
    remove = fields.List(_USER_ID, load_default=list, validate=_MEMBERS)


class GroupSchema(ma.Schema):
    id = fields.Integer()
    channel = fields.String(metadata={"description": "group:{id}: subscribe and send to it like any chat"})
    school_id = fields.Integer()
    title = fields.String()
    created_by = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    member_ids = fields.List(fields.Integer(), metadata={"description": "The chosen members (the school's "
                                                         "admins are in every group besides)"})


class ChatPolicySchema(ma.Schema):
    school_id = fields.Integer()
    parent_teacher = fields.Boolean(metadata={"description": "Always true: parents and teachers may always "
                                              "write to each other"})
    student_student = fields.Boolean(metadata={"description": "Students may write to each other (default false)"})
    parent_parent = fields.Boolean(metadata={"description": "Parents whose children share a class may write to "
                                             "each other (default true)"})


class ChatPolicyUpdateSchema(StrictSchema):
    student_student = fields.Boolean()
    parent_parent = fields.Boolean()


class SearchQuerySchema(StrictSchema):
    q = fields.String(required=True, validate=validate.Length(min=1, max=200), metadata={
        "description": "Words to find, in any form (Russian stemming: контрольная finds контрольной); \"a phrase\", "
                       "or, -word as in web search"})
    channel = fields.String(validate=validate.Length(max=64), metadata={"description": "Only this channel"})
    author_id = fields.Integer(validate=validate.Range(min=1, max=2**63 - 1), metadata={
        "description": "Only messages of this sender"})
    since = fields.AwareDateTime(metadata={"description": "Only messages sent at or after this time"})
    until = fields.AwareDateTime(metadata={"description": "Only messages sent before this time"})
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=50))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=chat_search.MAX_OFFSET))


class SearchHitSchema(ma.Schema):
    channel = fields.String()
    id = fields.Integer()
    sender_id = fields.Integer()
    sender = fields.String()
    sender_role = fields.String(allow_none=True)
    created_at = fields.DateTime()
    edited_at = fields.DateTime(allow_none=True)
    rank = fields.Float(metadata={"description": "Relevance (ts_rank_cd): higher first; equal ranks newest first"})
    snippet = fields.String(metadata={"description": "Safe HTML: a fragment of the message's text around the "
                                                     "matched words, which are in <mark>; & < > escaped. The "
                                                     "fragment is PostgreSQL's ts_headline, which drops tag-like "
                                                     "text (e.g. <b>) from it: show the message itself for the "
                                                     "exact text"})


class SearchPageSchema(ma.Schema):
    items = fields.List(fields.Nested(SearchHitSchema))
    has_more = fields.Boolean(metadata={"description": "Another page follows at offset + limit"})
    offset = fields.Integer()


def _charge(request: web.Request) -> None:
    ctx_of(request).budgets.charge(principal(request).user_id, CHAT_SEND)


@doc("Create a group chat (teachers and admins) with chosen members of the school", tags=CHATS,
     body=GroupCreateSchema, response=GroupSchema, status=201, errors=(400, 403, 429))
async def create_group(request: web.Request) -> web.Response:
    _charge(request)
    data = await load_json(request, GroupCreateSchema())
    group = await chat_rooms.create_group(ctx_of(request), principal(request), data["title"], data["member_ids"])
    return json_response(GroupSchema().dump(group), status=201)


@doc("A group chat (its members and the school's admins)", tags=CHATS, response=GroupSchema, errors=(404,))
async def get_group(request: web.Request) -> web.Response:
    group = await chat_rooms.get_group(ctx_of(request), principal(request), path_int(request, "group_id"))
    return json_response(GroupSchema().dump(group))


@doc("Rename a group or change its members (its creator or the school's admins); people removed leave the "
     "chat at once", tags=CHATS, body=GroupUpdateSchema, response=GroupSchema, errors=(400, 404, 429))
async def update_group(request: web.Request) -> web.Response:
    _charge(request)
    data = await load_json(request, GroupUpdateSchema())
    group = await chat_rooms.update_group(ctx_of(request), principal(request), path_int(request, "group_id"),
                                          title=data["title"], add=data["add"], remove=data["remove"])
    return json_response(GroupSchema().dump(group))


@doc("Delete a group chat (its creator or the school's admins)", tags=CHATS, status=204, errors=(404, 429))
async def delete_group(request: web.Request) -> web.Response:
    _charge(request)
    await chat_rooms.delete_group(ctx_of(request), principal(request), path_int(request, "group_id"))
    return web.Response(status=204)


@doc("Who may start a private chat with whom in a school (its admins)", tags=CHATS, response=ChatPolicySchema,
     errors=(403, 404))
async def get_policy(request: web.Request) -> web.Response:
    policy = await chat_rooms.get_policy(ctx_of(request), principal(request), path_int(request, "school_id"))
    return json_response(ChatPolicySchema().dump(policy))


@doc("Change who may start a private chat with whom (the school's admins); it applies to the next message",
     tags=CHATS, body=ChatPolicyUpdateSchema, response=ChatPolicySchema, errors=(400, 403, 404, 429))
async def set_policy(request: web.Request) -> web.Response:
    _charge(request)
    data = await load_json(request, ChatPolicyUpdateSchema())
    policy = await chat_rooms.set_policy(ctx_of(request), principal(request), path_int(request, "school_id"), data)
    return json_response(ChatPolicySchema().dump(policy))


@doc("Search the messages of every chat I may read now (rooms I belong to, my private chats), best matches "
     "first, with highlighted snippets. Where those chats hold more than 30,000 messages together, only the newest "
     "500 matches (after the filters) are ranked and pages end there; older ones are reached by narrowing the "
     "search (since/until, channel, author_id)", tags=CHATS, query=SearchQuerySchema, response=SearchPageSchema,
     errors=(400, 403))
async def search_messages(request: web.Request) -> web.Response:
    query = load_query(request, SearchQuerySchema())
    since, until = query.get("since"), query.get("until")
    if since is not None and until is not None and until <= since:
        raise errors.ValidationFailed(_("Query parameters are invalid"),
                                      details={"until": [_("Must be later than since.")]})
    page = await chat_search.search(ctx_of(request), principal(request), query["q"], channel=query.get("channel"),
                                    author_id=query.get("author_id"), since=since, until=until,
                                    limit=query["limit"], offset=query["offset"])
    return json_response(SearchPageSchema().dump(page))


def setup(app: web.Application) -> None:
    app.router.add_get("/api/v1/chats/search", search_messages)
    app.router.add_post("/api/v1/chat-groups", create_group)
    app.router.add_get("/api/v1/chat-groups/{group_id}", get_group)
    app.router.add_patch("/api/v1/chat-groups/{group_id}", update_group)
    app.router.add_delete("/api/v1/chat-groups/{group_id}", delete_group)
    app.router.add_get("/api/v1/schools/{school_id}/chat-policy", get_policy)
    app.router.add_patch("/api/v1/schools/{school_id}/chat-policy", set_policy)
