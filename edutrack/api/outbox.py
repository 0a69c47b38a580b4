"""Handlers of the email outbox: admin listing and retry of dead emails, and emailing a chat message."""

from __future__ import annotations

import marshmallow as ma
from aiohttp import web
from marshmallow import fields, validate

from edutrack.api.http import ctx_of, json_response, load_json, load_query, path_int, principal
from edutrack.api.openapi import doc
from edutrack.api.schemas import PageQuerySchema, StrictSchema
from edutrack.db.models import OutboxStatus
from edutrack.outbox import admin, explicit

ADMIN = ("admin",)
STATUSES = [s.value for s in OutboxStatus]


class OutboxQuerySchema(PageQuerySchema):
    status = fields.String(validate=validate.OneOf(STATUSES))


class OutboxRowSchema(ma.Schema):
    id = fields.Integer()
    user_id = fields.Integer(allow_none=True)
    recipient = fields.String()
    subject = fields.String()
    kind = fields.String()
    status = fields.String()
    attempts = fields.Integer()
    created_at = fields.DateTime()
    published_at = fields.DateTime(allow_none=True)
    sent_at = fields.DateTime(allow_none=True)
    last_error = fields.String(allow_none=True)


class OutboxPageSchema(ma.Schema):
    items = fields.List(fields.Nested(OutboxRowSchema))
    total = fields.Integer()
    limit = fields.Integer()
    offset = fields.Integer()


class SendEmailSchema(StrictSchema):
    # Message ids are numbered per channel, so the channel completes the message's name.
    channel = fields.String(required=True, validate=validate.Length(min=1, max=64),
                            metadata={"description": "The message's chat: class:{id}, parents:{id}, group:{id}, "
                                                     "dm:{a}:{b}, ..."})


class SendEmailResultSchema(ma.Schema):
    queued = fields.Integer()
    outbox_ids = fields.List(fields.Integer())
    skipped_opted_out = fields.Integer()
    already_emailed = fields.Integer(metadata={"description": "members who had this message by email already "
                                                              "(from an earlier request); not emailed again"})


_row = OutboxRowSchema()
_page = OutboxPageSchema()


@doc("List emails in the outbox, newest first (admins: their school's users; superusers: all)", tags=ADMIN,
     query=OutboxQuerySchema, response=OutboxPageSchema, errors=(403,))
async def list_outbox(request: web.Request) -> web.Response:
    query = load_query(request, OutboxQuerySchema())
    rows, total = await admin.list_outbox(ctx_of(request), principal(request), status=query.get("status"),
                                          limit=query["limit"], offset=query["offset"])
    return json_response(_page.dump({"items": rows, "total": total, "limit": query["limit"],
                                     "offset": query["offset"]}))


@doc("Send a dead email again (back to 'pending' with a fresh attempt budget)", tags=ADMIN,
     response=OutboxRowSchema, errors=(403, 404, 409))
async def retry_outbox(request: web.Request) -> web.Response:
    row = await admin.retry_dead(ctx_of(request), principal(request), path_int(request, "outbox_id"))
    return json_response(_row.dump(row))


@doc("Email a chat message to its recipients (the chat's members except the sender) through the outbox",
     tags=("chats",), body=SendEmailSchema, response=SendEmailResultSchema, status=202,
     errors=(400, 403, 404),
     description="For teachers and admins: the sender of the message, or an admin of its school. "
                 "Members who turned email off are skipped. Idempotent per recipient: asking again emails only "
                 "members who have not had it yet.")
async def send_message_email(request: web.Request) -> web.Response:
    data = await load_json(request, SendEmailSchema())
    queued = await explicit.email_chat_message(ctx_of(request), principal(request), data["channel"],
                                               path_int(request, "message_id"))
    return json_response(SendEmailResultSchema().dump({"queued": len(queued.outbox_ids),
                                                       "outbox_ids": queued.outbox_ids,
                                                       "skipped_opted_out": queued.skipped_opted_out,
                                                       "already_emailed": queued.already_emailed}),
                         status=202)


def setup(app: web.Application) -> None:
    app.router.add_post("/api/v1/messages/{message_id}/send-email", send_message_email)
    app.router.add_get("/api/v1/admin/outbox", list_outbox)
    app.router.add_post("/api/v1/admin/outbox/{outbox_id}/retry", retry_outbox)
