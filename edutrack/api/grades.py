"""Handlers: grades, a student's grade list with averages, and the audit trail."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from aiohttp import web
from marshmallow import fields, validate

from edutrack.api.http import ctx_of, json_body_response, json_response, load_json, load_query, path_int, principal
from edutrack.api.openapi import doc
from edutrack.api.schemas import StrictSchema
from edutrack.db.diary import MARKS
from edutrack.i18n import _
from edutrack.services.diary import grades

TAGS = ("grades",)
ID = validate.Range(min=1, max=2**63 - 1)
VALUE = validate.Range(min=1, max=5)
MARK = validate.OneOf(list(MARKS))
MARKS_HELP = "non-numeric mark: " + ", ".join(f"{k}={v}" for k, v in MARKS.items())


def one_of_value_or_mark(data: dict[str, Any], *, partial: bool) -> None:
    has_value = data.get("value") is not None
    has_mark = data.get("mark") is not None
    if has_value and has_mark:
        raise ma.ValidationError(_("Give either a value (1..5) or a mark, not both"), "value")
    if not partial and not (has_value or has_mark):
        raise ma.ValidationError(_("Give a value (1..5) or a mark (%(marks)s)", marks=", ".join(MARKS)), "value")
    if partial and ("value" in data and data["value"] is None and "mark" not in data):
        raise ma.ValidationError(_("value cannot be removed; give a mark instead"), "value")


class GradeCreateSchema(StrictSchema):
    student_id = fields.Integer(required=True, strict=True, validate=ID)
    subject_id = fields.Integer(strict=True, validate=ID, metadata={"description": "required without lesson_id"})
    class_id = fields.Integer(strict=True, validate=ID,
                              metadata={"description": "needed only when the student is in several classes"})
    lesson_id = fields.Integer(strict=True, validate=ID)
    work_type_id = fields.Integer(required=True, strict=True, validate=ID)
    date = fields.Date(metadata={"description": "required without lesson_id; with one it is the lesson's date"})
    value = fields.Integer(strict=True, allow_none=True, validate=VALUE)
    mark = fields.String(allow_none=True, validate=MARK, metadata={"description": MARKS_HELP})
    comment = fields.String(allow_none=True, validate=validate.Length(max=500))

    @ma.validates_schema
    def _value_or_mark(self, data: dict[str, Any], **_kwargs: Any) -> None:
        one_of_value_or_mark(data, partial=False)


class GradeUpdateSchema(StrictSchema):
    value = fields.Integer(strict=True, allow_none=True, validate=VALUE)
    mark = fields.String(allow_none=True, validate=MARK)
    work_type_id = fields.Integer(strict=True, validate=ID)
    date = fields.Date()
    comment = fields.String(allow_none=True, validate=validate.Length(max=500))

    @ma.validates_schema
    def _value_or_mark(self, data: dict[str, Any], **_kwargs: Any) -> None:
        one_of_value_or_mark(data, partial=True)
        if not data:
            raise ma.ValidationError(_("Nothing to change"))

    @ma.post_load
    def _drop_nulls(self, data: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
        # {"value": 4, "mark": null} means "now a 4": the null side is implied by the other.
        return {k: v for k, v in data.items() if v is not None or k == "comment"}


class GradeSchema(ma.Schema):
    id = fields.Integer()
    class_id = fields.Integer()
    subject_id = fields.Integer()
    subject = fields.String()
    work_type_id = fields.Integer()
    work_type = fields.String()
    weight = fields.Integer()
    date = fields.Date()
    value = fields.Integer(allow_none=True)
    mark = fields.String(allow_none=True)
    display = fields.String(metadata={"description": "what the diary shows: 5, зачёт, н/а, ..."})
    comment = fields.String(allow_none=True)
    lesson_id = fields.Integer(allow_none=True)
    teacher_id = fields.Integer()
    teacher = fields.String()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class SubjectAverageSchema(ma.Schema):
    subject_id = fields.Integer()
    subject = fields.String()
    weighted_average = fields.Float(allow_none=True, metadata={"description": "Σ(value×weight)/Σ(weight)"})
    plain_average = fields.Float(allow_none=True)
    numeric_count = fields.Integer()
    marks_count = fields.Integer()


class StudentGradesSchema(ma.Schema):
    student_id = fields.Integer()
    student_name = fields.String()
    from_ = fields.Date(data_key="from", allow_none=True)
    to = fields.Date(allow_none=True)
    grades = fields.List(fields.Nested(GradeSchema))
    subjects = fields.List(fields.Nested(SubjectAverageSchema))


class StudentGradesQuerySchema(StrictSchema):
    subject_id = fields.Integer(validate=ID)
    term_id = fields.Integer(validate=ID)
    from_ = fields.Date(data_key="from")
    to = fields.Date()


class AuditQuerySchema(StrictSchema):
    entity = fields.String(validate=validate.OneOf(["grade", "attestation", "attendance", "absence_note", "year_mark"]))
    entity_id = fields.Integer(validate=ID)
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=1_000_000))


class AuditEntrySchema(ma.Schema):
    id = fields.Integer()
    entity = fields.String()
    entity_id = fields.Integer()
    action = fields.String()
    actor_id = fields.Integer(allow_none=True)
    actor = fields.String(allow_none=True)
    old = fields.Dict(allow_none=True)
    new = fields.Dict(allow_none=True)
    at = fields.DateTime()


class AuditListSchema(ma.Schema):
    items = fields.List(fields.Nested(AuditEntrySchema))


_grade = GradeSchema()
_student_grades_query = StudentGradesQuerySchema()  # built once: hot path
_audit = AuditListSchema()


@doc("Grade a student (the teacher of that class and subject, or the school's admin)", tags=TAGS,
     body=GradeCreateSchema, response=GradeSchema, status=201, errors=(403, 404, 422),
     description="Writes the grade, its audit row and a `grade` notification for the student and each linked "
                 "parent in one transaction; the live push follows the commit.")
async def create_grade(request: web.Request) -> web.Response:
    data = await load_json(request, GradeCreateSchema())
    view = await grades.create_grade(ctx_of(request), principal(request), data)
    return json_response(_grade.dump(view), status=201)


@doc("Change a grade's value/mark, work type, date or comment (audited; notifies `grade_changed`)", tags=TAGS,
     body=GradeUpdateSchema, response=GradeSchema, errors=(403, 404, 422))
async def update_grade(request: web.Request) -> web.Response:
    data = await load_json(request, GradeUpdateSchema())
    view = await grades.update_grade(ctx_of(request), principal(request), path_int(request, "grade_id"), data)
    return json_response(_grade.dump(view))


@doc("Delete a grade (kept for the audit trail; notifies `grade_deleted`)", tags=TAGS, status=204,
     errors=(403, 404))
async def delete_grade(request: web.Request) -> web.Response:
    await grades.delete_grade(ctx_of(request), principal(request), path_int(request, "grade_id"))
    return web.Response(status=204)


@doc("Audit trail of one grade, deleted or not: its school's admins, and the teachers who open its journal "
     "(its class and subject, or the class they lead)", tags=TAGS, response=AuditListSchema, errors=(403, 404))
async def grade_history(request: web.Request) -> web.Response:
    items = await grades.grade_history(ctx_of(request), principal(request), path_int(request, "grade_id"))
    return json_response(_audit.dump({"items": items}))


@doc("Audit trail of the school (admins; superusers see every school)", tags=TAGS, query=AuditQuerySchema,
     response=AuditListSchema, errors=(403, 422))
async def audit(request: web.Request) -> web.Response:
    query = load_query(request, AuditQuerySchema())
    items = await grades.audit_trail(ctx_of(request), principal(request), entity=query.get("entity"),
                                     entity_id=query.get("entity_id"), limit=query["limit"], offset=query["offset"])
    return json_response(_audit.dump({"items": items}))


@doc("A student's grades with per-subject weighted and plain averages", tags=TAGS, query=StudentGradesQuerySchema,
     response=StudentGradesSchema, errors=(404, 422),
     description="Students see their own, parents their children's, admins their school's. A teacher sees the "
                 "subjects they teach in the student's class; the class teacher sees every subject of the class.")
async def student_grades(request: web.Request) -> web.Response:
    query = load_query(request, _student_grades_query)
    body = await grades.student_grades_body(ctx_of(request), principal(request), path_int(request, "student_id"),
                                            subject_id=query.get("subject_id"), term_id=query.get("term_id"),
                                            starts=query.get("from_"), ends=query.get("to"))
    return json_body_response(body)  # encoded in StudentGradesSchema's shape (a dump would cost ~5 ms here)


def setup(app: web.Application) -> None:
    r = app.router
    r.add_post("/api/v1/grades", create_grade)
    r.add_patch("/api/v1/grades/{grade_id}", update_grade)
    r.add_delete("/api/v1/grades/{grade_id}", delete_grade)
    r.add_get("/api/v1/grades/{grade_id}/history", grade_history)
    r.add_get("/api/v1/audit", audit)
    r.add_get("/api/v1/students/{student_id}/grades", student_grades)
