"""Handlers: attendance marks of a lesson (bulk), one mark's later reason, reads per lesson and per student."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from aiohttp import web
from marshmallow import fields, validate

from edutrack.api.http import ctx_of, json_response, load_json, load_query, path_int, principal
from edutrack.api.openapi import doc
from edutrack.api.schemas import StrictSchema
from edutrack.db.diary import ABSENCE_REASONS, ATTENDANCE_STATUSES
from edutrack.i18n import _
from edutrack.services.diary import attendance

TAGS = ("attendance",)
ID = validate.Range(min=1, max=2**63 - 1)


def _reason_only_if_absent(status: str | None, reason: str | None) -> None:
    if reason is not None and status is not None and status != "absent":
        raise ma.ValidationError(_("A reason is only for absences"), "reason")


class MarkSchema(StrictSchema):
    student_id = fields.Integer(required=True, strict=True, validate=ID)
    status = fields.String(required=True, validate=validate.OneOf(ATTENDANCE_STATUSES))
    reason = fields.String(allow_none=True, validate=validate.OneOf(ABSENCE_REASONS),
                           metadata={"description": "absences only; none = unexcused until a reason is added"})
    note = fields.String(allow_none=True, validate=validate.Length(max=300))

    @ma.validates_schema
    def _reason(self, data: dict[str, Any], **_kwargs: Any) -> None:
        _reason_only_if_absent(data.get("status"), data.get("reason"))


class MarkLessonSchema(StrictSchema):
    marks = fields.List(fields.Nested(MarkSchema), required=True, validate=validate.Length(min=1, max=200))


class MarkUpdateSchema(StrictSchema):
    status = fields.String(validate=validate.OneOf(ATTENDANCE_STATUSES))
    reason = fields.String(allow_none=True, validate=validate.OneOf(ABSENCE_REASONS))
    note = fields.String(allow_none=True, validate=validate.Length(max=300))

    @ma.validates_schema
    def _reason(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if not data:
            raise ma.ValidationError(_("Nothing to change"))
        _reason_only_if_absent(data.get("status"), data.get("reason"))


class MarkViewSchema(ma.Schema):
    id = fields.Integer()
    lesson_id = fields.Integer()
    student_id = fields.Integer()
    student_name = fields.String(allow_none=True)
    status = fields.String()
    reason = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    marked_by = fields.Integer()
    updated_at = fields.DateTime()


class LessonAttendanceSchema(ma.Schema):
    lesson_id = fields.Integer()
    class_id = fields.Integer()
    subject = fields.String()
    starts_at = fields.DateTime()
    marks = fields.List(fields.Nested(MarkViewSchema))


class StudentMarkSchema(ma.Schema):
    id = fields.Integer()
    lesson_id = fields.Integer()
    starts_at = fields.DateTime()
    subject_id = fields.Integer()
    subject = fields.String()
    status = fields.String()
    reason = fields.String(allow_none=True)
    note = fields.String(allow_none=True)


class SummarySchema(ma.Schema):
    marked = fields.Integer()
    present = fields.Integer()
    late = fields.Integer()
    absent = fields.Integer()
    unexcused = fields.Integer(metadata={"description": "absences without a reason or marked unexcused"})
    rate = fields.Float(allow_none=True, metadata={"description": "(present + late) / marked"})


class StudentAttendanceSchema(ma.Schema):
    student_id = fields.Integer()
    student_gender = fields.String(allow_none=True, metadata={
        "description": "grammatical gender of the student's name (male, female) or null when it cannot tell: for "
                       "words that agree with the student (\"опоздал\" / \"опоздала\")"})
    from_ = fields.Date(data_key="from", allow_none=True)
    to = fields.Date(allow_none=True)
    marks = fields.List(fields.Nested(StudentMarkSchema))
    summary = fields.Nested(SummarySchema)


class StudentAttendanceQuerySchema(StrictSchema):
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    term_id = fields.Integer(validate=ID)


class MarkListSchema(ma.Schema):
    items = fields.List(fields.Nested(MarkViewSchema))


@doc("Mark attendance of a lesson's students in bulk (the lesson's teacher or an admin)", tags=TAGS,
     body=MarkLessonSchema, response=MarkListSchema, errors=(403, 404, 422),
     description="Upserts one mark per student. New or changed absences and lates notify the student and parents.")
async def mark_lesson(request: web.Request) -> web.Response:
    data = await load_json(request, MarkLessonSchema())
    items = await attendance.mark_lesson(ctx_of(request), principal(request), path_int(request, "lesson_id"),
                                         data["marks"])
    return json_response(MarkListSchema().dump({"items": items}))


@doc("Change one mark, e.g. add the reason of an absence later", tags=TAGS, body=MarkUpdateSchema,
     response=MarkViewSchema, errors=(403, 404, 422))
async def update_mark(request: web.Request) -> web.Response:
    data = await load_json(request, MarkUpdateSchema())
    view = await attendance.update_mark(ctx_of(request), principal(request), path_int(request, "attendance_id"),
                                        data)
    return json_response(MarkViewSchema().dump(view))


@doc("Attendance of a lesson (students and parents see only their own marks)", tags=TAGS,
     response=LessonAttendanceSchema, errors=(404,))
async def lesson_attendance(request: web.Request) -> web.Response:
    data = await attendance.lesson_attendance(ctx_of(request), principal(request), path_int(request, "lesson_id"))
    return json_response(LessonAttendanceSchema().dump(data))


@doc("A student's attendance marks with a summary", tags=TAGS, query=StudentAttendanceQuerySchema,
     response=StudentAttendanceSchema, errors=(404, 422))
async def student_attendance(request: web.Request) -> web.Response:
    query = load_query(request, StudentAttendanceQuerySchema())
    data = await attendance.student_attendance(ctx_of(request), principal(request), path_int(request, "student_id"),
                                               starts=query.get("from_"), ends=query.get("to"),
                                               term_id=query.get("term_id"))
    return json_response(StudentAttendanceSchema().dump(data))


def setup(app: web.Application) -> None:
    app.router.add_put("/api/v1/lessons/{lesson_id}/attendance", mark_lesson)
    app.router.add_get("/api/v1/lessons/{lesson_id}/attendance", lesson_attendance)
    app.router.add_patch("/api/v1/attendance/{attendance_id}", update_mark)
    app.router.add_get("/api/v1/students/{student_id}/attendance", student_attendance)
