"""REST for reactions to chat messages and pinned messages. Registered by api/chats.py; the rules are in
services/chat_reactions.py."""

from __future__ import annotations

import marshmallow as ma
from aiohttp import web
from marshmallow import fields

from edutrack.api.http import ctx_of, json_response, path_int, principal
from edutrack.api.openapi import doc
from edutrack.ratelimit import CHAT_SEND
from edutrack.services import chat_reactions

TAGS = ("chats",)
_CODES = ", ".join(chat_reactions.REACTIONS)


class ReactionsSchema(ma.Schema):
    channel = fields.String()
    id = fields.Integer()
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(),
                         metadata={"description": f"Reaction -> how many ({_CODES}; check: acknowledged)"})
    mine = fields.List(fields.String(), metadata={"description": "My reactions to this message"})
    users = fields.Dict(keys=fields.String(), values=fields.List(fields.Integer()),
                        metadata={"description": "Reaction -> who, oldest first (who acknowledged an announcement)"})


class PinSchema(ma.Schema):
    id = fields.Integer()
    pinned_by = fields.Integer(allow_none=True)
    pinned_at = fields.DateTime()
    sender_id = fields.Integer()
    text = fields.String()
    created_at = fields.DateTime()


class PinListSchema(ma.Schema):
    items = fields.List(fields.Nested(PinSchema))


def _charge(request: web.Request) -> None:
    ctx_of(request).budgets.charge(principal(request).user_id, CHAT_SEND)


async def _react(request: web.Request, *, add: bool) -> web.Response:
    _charge(request)
    view = await chat_reactions.react(ctx_of(request), principal(request), request.match_info["channel"],
                                      path_int(request, "message_id"), request.match_info["reaction"], add=add)
    return json_response(ReactionsSchema().dump(view))


@doc(f"React to a message ({_CODES}); members see it live (chat.reactions)", tags=TAGS,
     response=ReactionsSchema, errors=(400, 403, 404, 429))
async def add_reaction(request: web.Request) -> web.Response:
    return await _react(request, add=True)


@doc("Take my reaction back", tags=TAGS, response=ReactionsSchema, errors=(400, 403, 404, 429))
async def remove_reaction(request: web.Request) -> web.Response:
    return await _react(request, add=False)


@doc("Reactions to a message, with who reacted", tags=TAGS, response=ReactionsSchema, errors=(400, 403, 404))
async def list_reactions(request: web.Request) -> web.Response:
    view = await chat_reactions.reactions(ctx_of(request), principal(request), request.match_info["channel"],
                                          path_int(request, "message_id"))
    return json_response(ReactionsSchema().dump(view))


@doc("Pin a message (the chat's moderators); members see it live (chat.pinned)", tags=TAGS, status=204,
     errors=(400, 403, 404, 429))
async def pin(request: web.Request) -> web.Response:
    _charge(request)
    await chat_reactions.set_pinned(ctx_of(request), principal(request), request.match_info["channel"],
                                    path_int(request, "message_id"), pinned=True)
    return web.Response(status=204)


@doc("Unpin a message (the chat's moderators)", tags=TAGS, status=204, errors=(400, 403, 404, 429))
async def unpin(request: web.Request) -> web.Response:
    _charge(request)
    await chat_reactions.set_pinned(ctx_of(request), principal(request), request.match_info["channel"],
                                    path_int(request, "message_id"), pinned=False)
    return web.Response(status=204)


@doc("Pinned messages of a chat, newest pin first", tags=TAGS, response=PinListSchema, errors=(400, 403))
async def list_pins(request: web.Request) -> web.Response:
    items = await chat_reactions.pinned(ctx_of(request), principal(request), request.match_info["channel"])
    return json_response(PinListSchema().dump({"items": items}))


def setup(app: web.Application) -> None:
    message = "/api/v1/chats/{channel}/messages/{message_id}"
    app.router.add_get(f"{message}/reactions", list_reactions)
    app.router.add_put(f"{message}/reactions/{{reaction}}", add_reaction)
    app.router.add_delete(f"{message}/reactions/{{reaction}}", remove_reaction)
    app.router.add_put(f"{message}/pin", pin)
    app.router.add_delete(f"{message}/pin", unpin)
    app.router.add_get("/api/v1/chats/{channel}/pins", list_pins)
