"""Handlers: parents' absence notes (write, read, the class teacher's decision). Rules: services/diary/absence_notes.py,
docs/absences.md."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from aiohttp import web
from marshmallow import fields, validate

from edutrack.api.attachments import AttachSchema, FileListSchema, FileSchema
from edutrack.api.http import ctx_of, json_response, load_json, load_query, path_int, principal
from edutrack.api.openapi import doc
from edutrack.api.schemas import PageQuerySchema, StrictSchema
from edutrack.db.absences import NOTE_REASONS, NOTE_STATUSES
from edutrack.i18n import _
from edutrack.services.diary import absence_notes
from edutrack.services.files.store import MAX_ATTACHMENTS

TAGS = ("attendance",)
ID = validate.Range(min=1, max=2**63 - 1)
DECISIONS = ("accepted", "questioned")


class NoteCreateSchema(StrictSchema):
    student_id = fields.Integer(required=True, strict=True, validate=ID)
    from_ = fields.Date(data_key="from", metadata={"description": "first day (school's wall clock); or lesson_ids"})
    to = fields.Date(metadata={"description": "last day, inclusive; default: from"})
    lesson_ids = fields.List(fields.Integer(strict=True, validate=ID), validate=validate.Length(min=1, max=20),
                             metadata={"description": "only these lessons of the child's class; or from/to"})
    reason = fields.String(required=True, validate=validate.OneOf(NOTE_REASONS))
    comment = fields.String(allow_none=True, validate=validate.Length(max=500))
    attachments = fields.List(fields.Integer(strict=True, validate=ID), validate=validate.Length(max=MAX_ATTACHMENTS),
                              metadata={"description": "ids of files you uploaded (POST /files) and not attached "
                                                       "yet: a doctor's certificate"})

    @ma.validates_schema
    def _span(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if ("from_" in data) == ("lesson_ids" in data):
            raise ma.ValidationError(_("Give either the days (from, to) or the lessons (lesson_ids)."), "from")
        if "to" in data and "from_" not in data:
            raise ma.ValidationError(_("A last day needs a first day."), "to")
        if "to" in data and data["to"] < data["from_"]:
            raise ma.ValidationError(_("The last day is before the first."), "to")


class DecisionSchema(StrictSchema):
    decision = fields.String(required=True, validate=validate.OneOf(DECISIONS))
    comment = fields.String(allow_none=True, validate=validate.Length(max=500),
                            metadata={"description": "required when questioning"})

    @ma.validates_schema
    def _comment(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if data.get("decision") == "questioned" and not (data.get("comment") or "").strip():
            raise ma.ValidationError(_("Say what is in question."), "comment")


class NoteSchema(ma.Schema):
    id = fields.Integer()
    student_id = fields.Integer()
    student_name = fields.String()
    class_id = fields.Integer()
    author_id = fields.Integer(allow_none=True)
    author_name = fields.String(allow_none=True)
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    lesson_ids = fields.List(fields.Integer(), allow_none=True)
    reason = fields.String(metadata={"description": "illness or excused"})
    comment = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "pending, accepted or questioned"})
    decided_by = fields.Integer(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    decision_comment = fields.String(allow_none=True)
    created_at = fields.DateTime()
    attachments = fields.List(fields.Nested(FileSchema), metadata={"description": "download: GET /files/{id}"})


class NoteListSchema(ma.Schema):
    items = fields.List(fields.Nested(NoteSchema))


class NoteQuerySchema(PageQuerySchema):
    student_id = fields.Integer(validate=ID)
    class_id = fields.Integer(validate=ID)
    status = fields.String(validate=validate.OneOf(NOTE_STATUSES))


@doc("Write an absence note for your child (parents), ahead or on the day", tags=TAGS, body=NoteCreateSchema,
     response=NoteSchema, status=201, errors=(403, 404, 409, 422, 429),
     description="Whole days (from, to) or some lessons of the child's class (lesson_ids), and optionally your "
                 "uploaded files (attachments; someone else's or unknown: 404 `file_not_found`, already attached: "
                 "409 `file_already_attached`). The class teacher and the child's other parents are notified "
                 "(absence_note).")
async def create_note(request: web.Request) -> web.Response:
    data = await load_json(request, NoteCreateSchema())
    view = await absence_notes.create_note(ctx_of(request), principal(request), data)
    return json_response(NoteSchema().dump(view), status=201)


@doc("Absence notes: a parent's children's, a student's own, a class teacher's classes', an admin's school's",
     tags=TAGS, query=NoteQuerySchema, response=NoteListSchema, errors=(404, 422))
async def list_notes(request: web.Request) -> web.Response:
    query = load_query(request, NoteQuerySchema())
    items = await absence_notes.list_notes(ctx_of(request), principal(request), student_id=query.get("student_id"),
                                           class_id=query.get("class_id"), status=query.get("status"),
                                           limit=query["limit"], offset=query["offset"])
    return json_response(NoteListSchema().dump({"items": items}))


@doc("One absence note", tags=TAGS, response=NoteSchema, errors=(404,))
async def get_note(request: web.Request) -> web.Response:
    view = await absence_notes.get_note(ctx_of(request), principal(request), path_int(request, "note_id"))
    return json_response(NoteSchema().dump(view))


@doc("Accept or question an absence note (the class teacher or an admin)", tags=TAGS, body=DecisionSchema,
     response=NoteSchema, errors=(403, 404, 409, 422, 429),
     description="Accepting excuses the absences already marked on the covered lessons and those marked later; "
                 "an accepted note is final (409). The child, the parents and, on acceptance, the teachers of the "
                 "covered lessons are notified.")
async def decide_note(request: web.Request) -> web.Response:
    data = await load_json(request, DecisionSchema())
    view = await absence_notes.decide_note(ctx_of(request), principal(request), path_int(request, "note_id"), data)
    return json_response(NoteSchema().dump(view))


@doc("Attach your uploaded files to your child's absence note while it is open (parents)", tags=TAGS,
     body=AttachSchema, response=FileListSchema, errors=(403, 404, 409, 422, 429),
     description="A new or questioned note; an accepted one is final (409 `absence_note_decided`). At most 10 "
                 "files a note. The files are read by whoever reads the note. The class teacher and the child's "
                 "other parents are notified (absence_note, files_added).")
async def attach_note_files(request: web.Request) -> web.Response:
    data = await load_json(request, AttachSchema())
    items = await absence_notes.attach_files(ctx_of(request), principal(request), path_int(request, "note_id"),
                                             data["file_ids"])
    return json_response(FileListSchema().dump({"items": items}))


def setup(app: web.Application) -> None:
    app.router.add_post("/api/v1/absence-notes", create_note)
    app.router.add_get("/api/v1/absence-notes", list_notes)
    app.router.add_get("/api/v1/absence-notes/{note_id}", get_note)
    app.router.add_post("/api/v1/absence-notes/{note_id}/decision", decide_note)
    app.router.add_post("/api/v1/absence-notes/{note_id}/attachments", attach_note_files)
