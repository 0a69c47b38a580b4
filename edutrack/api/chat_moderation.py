"""REST for chat moderation: mutes, slow mode, deletion with a reason, reports, the log. Registered by
api/chats.py; the rules are in services/chat_moderation.py."""

from __future__ import annotations

import marshmallow as ma
from aiohttp import web
from marshmallow import fields, validate

from edutrack.api.http import ctx_of, json_response, load_json, load_query, path_int, principal
from edutrack.api.openapi import doc
from edutrack.api.schemas import StrictSchema
from edutrack.ratelimit import CHAT_SEND
from edutrack.services import chat_moderation as moderation
from edutrack.services import chat_reports

TAGS = ("chats",)
_REASON = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


class ModerationMuteSchema(StrictSchema):
    user_id = fields.Integer(required=True, validate=validate.Range(min=1, max=2**63 - 1))
    minutes = fields.Integer(required=True, validate=validate.Range(min=1, max=moderation.MAX_MUTE_MINUTES))
    reason = _REASON


class SlowModeSchema(StrictSchema):
    seconds = fields.Integer(required=True, validate=validate.Range(min=0, max=moderation.MAX_SLOW_MODE),
                             metadata={"description": "0 turns slow mode off"})


class ReasonSchema(StrictSchema):
    reason = _REASON


class ReportsQuerySchema(StrictSchema):
    open_only = fields.Boolean(load_default=True)


class LogEntrySchema(ma.Schema):
    id = fields.Integer()
    channel = fields.String()
    actor_id = fields.Integer(allow_none=True)
    target_user_id = fields.Integer(allow_none=True)
    action = fields.String(metadata={"description": "mute, unmute, slow_mode, delete or report_resolved"})
    message_id = fields.Integer(allow_none=True)
    reason = fields.String(allow_none=True)
    until = fields.DateTime(allow_none=True)
    seconds = fields.Integer(allow_none=True)
    created_at = fields.DateTime()


class LogSchema(ma.Schema):
    items = fields.List(fields.Nested(LogEntrySchema))


class ModerationMuteEntrySchema(ma.Schema):
    user_id = fields.Integer()
    until = fields.DateTime()
    muted_by = fields.Integer(allow_none=True)
    reason = fields.String(allow_none=True)


class ModerationMuteListSchema(ma.Schema):
    items = fields.List(fields.Nested(ModerationMuteEntrySchema))


class SlowModeResultSchema(ma.Schema):
    channel = fields.String()
    slow_mode_seconds = fields.Integer()


class MyModerationSchema(ma.Schema):
    channel = fields.String()
    slow_mode_seconds = fields.Integer(metadata={"description": "0: off; else one message per this many seconds "
                                                                "(teachers and admins exempt)"})
    muted_until = fields.DateTime(allow_none=True, metadata={"description": "Set while you are muted here"})
    moderator = fields.Boolean(metadata={"description": "You may mute, set slow mode and see reports here"})


class ReportCreatedSchema(ma.Schema):
    id = fields.Integer()
    channel = fields.String()
    message_id = fields.Integer()
    created_at = fields.DateTime()


class ReportSchema(ma.Schema):
    id = fields.Integer()
    channel = fields.String()
    message_id = fields.Integer()
    reporter_id = fields.Integer()
    reason = fields.String(allow_none=True)
    created_at = fields.DateTime()
    resolved_at = fields.DateTime(allow_none=True)
    resolved_by = fields.Integer(allow_none=True)
    sender_id = fields.Integer(allow_none=True)
    text = fields.String(allow_none=True, metadata={"description": "The reported message (null once deleted)"})
    deleted = fields.Boolean(allow_none=True)


class ReportListSchema(ma.Schema):
    items = fields.List(fields.Nested(ReportSchema))


class ReportInboxEntrySchema(ReportSchema):
    reporter = fields.String(metadata={"description": "The reporter's name"})
    sender = fields.String(allow_none=True, metadata={"description": "The reported message's author's name"})
    resolution = fields.String(allow_none=True, metadata={
        "description": "dismiss, delete or mute when decided from the inbox; null while open (or closed per chat)"})


class ReportInboxSchema(ma.Schema):
    items = fields.List(fields.Nested(ReportInboxEntrySchema))


class ReportDecisionSchema(StrictSchema):
    outcome = fields.String(required=True, validate=validate.OneOf(chat_reports.OUTCOMES), metadata={
        "description": "dismiss (the message stays), delete (the message, with `reason` told to its author) or "
                       "mute (its author, for `minutes`, with `reason`)"})
    reason = _REASON
    minutes = fields.Integer(load_default=None, validate=validate.Range(min=1, max=moderation.MAX_MUTE_MINUTES),
                             metadata={"description": "Required with outcome mute"})


class ReportDecisionResultSchema(ma.Schema):
    outcome = fields.String()
    channel = fields.String()
    message_id = fields.Integer()
    resolved = fields.List(fields.Integer(), metadata={"description": "Every open report of the message, closed"})


def _charge(request: web.Request) -> None:
    ctx_of(request).budgets.charge(principal(request).user_id, CHAT_SEND)


def _channel(request: web.Request) -> str:
    return request.match_info["channel"]


@doc("Slow mode of a chat and whether I am muted in it", tags=TAGS, response=MyModerationSchema,
     errors=(400, 403))
async def my_moderation(request: web.Request) -> web.Response:
    state = await moderation.my_state(ctx_of(request), principal(request), _channel(request))
    return json_response(MyModerationSchema().dump(state))


@doc("Mute a member of a chat for some minutes (the class teacher, the school's admins); they are told why",
     tags=TAGS, body=ModerationMuteSchema, response=LogEntrySchema, status=201, errors=(400, 403, 404, 429))
async def mute(request: web.Request) -> web.Response:
    _charge(request)
    data = await load_json(request, ModerationMuteSchema())
    entry = await moderation.mute(ctx_of(request), principal(request), _channel(request), data["user_id"],
                                  data["minutes"], data["reason"])
    return json_response(LogEntrySchema().dump(entry), status=201)


@doc("Members muted in a chat now (its moderators)", tags=TAGS, response=ModerationMuteListSchema, errors=(400, 403))
async def list_mutes(request: web.Request) -> web.Response:
    items = await moderation.mutes(ctx_of(request), principal(request), _channel(request))
    return json_response(ModerationMuteListSchema().dump({"items": items}))


@doc("Lift a mute (its moderators); the member is told", tags=TAGS, status=204, errors=(400, 403, 404, 429))
async def unmute(request: web.Request) -> web.Response:
    _charge(request)
    await moderation.unmute(ctx_of(request), principal(request), _channel(request), path_int(request, "user_id"))
    return web.Response(status=204)


@doc("Set slow mode: one message per member every `seconds` (0: off); members get a chat.slow_mode frame",
     tags=TAGS, body=SlowModeSchema, response=SlowModeResultSchema, errors=(400, 403, 429))
async def slow_mode(request: web.Request) -> web.Response:
    _charge(request)
    data = await load_json(request, SlowModeSchema())
    result = await moderation.set_slow_mode(ctx_of(request), principal(request), _channel(request), data["seconds"])
    return json_response(SlowModeResultSchema().dump(result))


@doc("Delete a message with a reason: its author, or a moderator (audited; the author is told the reason)",
     tags=TAGS, body=ReasonSchema, status=204, errors=(400, 403, 404, 429))
async def delete_with_reason(request: web.Request) -> web.Response:
    _charge(request)
    data = await load_json(request, ReasonSchema())
    await moderation.delete_with_reason(ctx_of(request), principal(request), _channel(request),
                                        path_int(request, "message_id"), data["reason"])
    return web.Response(status=204)


@doc("Report a message to the chat's moderators (once per message)", tags=TAGS, body=ReasonSchema,
     response=ReportCreatedSchema, status=201, errors=(400, 403, 404, 409, 429))
async def report(request: web.Request) -> web.Response:
    _charge(request)
    data = await load_json(request, ReasonSchema())
    created = await moderation.report(ctx_of(request), principal(request), _channel(request),
                                      path_int(request, "message_id"), data["reason"])
    return json_response(ReportCreatedSchema().dump(created), status=201)


@doc("Reports of a chat's messages, newest first (its moderators)", tags=TAGS, query=ReportsQuerySchema,
     response=ReportListSchema, errors=(400, 403))
async def list_reports(request: web.Request) -> web.Response:
    query = load_query(request, ReportsQuerySchema())
    items = await moderation.reports(ctx_of(request), principal(request), _channel(request),
                                     open_only=query["open_only"])
    return json_response(ReportListSchema().dump({"items": items}))


@doc("Mark a report dealt with (its moderators; audited)", tags=TAGS, status=204, errors=(400, 403, 404, 429))
async def resolve_report(request: web.Request) -> web.Response:
    _charge(request)
    await moderation.resolve(ctx_of(request), principal(request), _channel(request), path_int(request, "report_id"))
    return web.Response(status=204)


@doc("A chat's moderation log, newest first (its moderators)", tags=TAGS, response=LogSchema, errors=(400, 403))
async def moderation_log(request: web.Request) -> web.Response:
    items = await moderation.log(ctx_of(request), principal(request), _channel(request))
    return json_response(LogSchema().dump({"items": items}))


@doc("Open reports of every chat I moderate, newest first (class teachers: their classes' rooms and their groups; "
     "admins: every room of their school); students and parents have no inbox", tags=TAGS, query=ReportsQuerySchema,
     response=ReportInboxSchema, errors=(400, 403))
async def report_inbox(request: web.Request) -> web.Response:
    query = load_query(request, ReportsQuerySchema())
    items = await chat_reports.inbox(ctx_of(request), principal(request), open_only=query["open_only"])
    return json_response(ReportInboxSchema().dump({"items": items}))


@doc("Decide a report: dismiss it, delete the message or mute its author; every open report of the message closes, "
     "each reporter and the author are told (audited)", tags=TAGS, body=ReportDecisionSchema,
     response=ReportDecisionResultSchema, errors=(400, 403, 404, 409, 422, 429))
async def decide_report(request: web.Request) -> web.Response:
    _charge(request)
    data = await load_json(request, ReportDecisionSchema())
    result = await chat_reports.decide(ctx_of(request), principal(request), path_int(request, "report_id"),
                                       data["outcome"], data["reason"], data["minutes"])
    return json_response(ReportDecisionResultSchema().dump(result))


def setup(app: web.Application) -> None:
    app.router.add_get("/api/v1/chat-reports", report_inbox)
    app.router.add_post("/api/v1/chat-reports/{report_id}/decide", decide_report)
    base = "/api/v1/chats/{channel}"
    app.router.add_get(f"{base}/moderation", my_moderation)
    app.router.add_get(f"{base}/mutes", list_mutes)
    app.router.add_post(f"{base}/mutes", mute)
    app.router.add_delete(f"{base}/mutes/{{user_id}}", unmute)
    app.router.add_put(f"{base}/slow-mode", slow_mode)
    app.router.add_post(f"{base}/messages/{{message_id}}/delete", delete_with_reason)
    app.router.add_post(f"{base}/messages/{{message_id}}/report", report)
    app.router.add_get(f"{base}/reports", list_reports)
    app.router.add_post(f"{base}/reports/{{report_id}}/resolve", resolve_report)
    app.router.add_get(f"{base}/moderation-log", moderation_log)
