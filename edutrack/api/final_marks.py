"""Handlers: final marks — a student's term and year marks (read) and confirming a year mark. Rules:
services/diary/final_marks.py."""

from __future__ import annotations

import marshmallow as ma
from aiohttp import web
from marshmallow import fields, validate

from edutrack.api.http import ctx_of, json_response, load_json, load_query, path_int, principal
from edutrack.api.openapi import doc
from edutrack.api.schemas import StrictSchema
from edutrack.services.diary import final_marks
from edutrack.services.diary.attestations import MARK_CHOICES

TAGS = ("attestations",)
ID = validate.Range(min=1, max=2**63 - 1)


class FinalMarksQuerySchema(StrictSchema):
    year_id = fields.Integer(validate=ID, metadata={"description": "default: the year holding today, else the latest"})


class TermMarkSchema(ma.Schema):
    term_id = fields.Integer()
    final = fields.String()
    is_override = fields.Boolean()


class TermMarkBriefSchema(ma.Schema):
    term_id = fields.Integer()
    final = fields.String()


class YearMarkViewSchema(ma.Schema):
    proposed = fields.String(metadata={"description": "from the term marks by the school's year_mark_rule"})
    final = fields.String(allow_none=True, metadata={"description": "the confirmed year mark; null until confirmed"})
    is_override = fields.Boolean()
    comment = fields.String(allow_none=True)
    confirmed_at = fields.DateTime(allow_none=True)


class SubjectFinalsSchema(ma.Schema):
    subject_id = fields.Integer()
    subject = fields.String()
    terms = fields.List(fields.Nested(TermMarkSchema))
    year = fields.Nested(YearMarkViewSchema)


class TermBriefSchema(ma.Schema):
    id = fields.Integer()
    name = fields.String()
    starts_on = fields.Date()
    ends_on = fields.Date()


class FinalMarksSchema(ma.Schema):
    student_id = fields.Integer()
    student_name = fields.String()
    year_id = fields.Integer()
    year_name = fields.String()
    year_mark_rule = fields.String()
    terms = fields.List(fields.Nested(TermBriefSchema))
    subjects = fields.List(fields.Nested(SubjectFinalsSchema))


class ClassYearMarksQuerySchema(FinalMarksQuerySchema):
    subject_id = fields.Integer(required=True, validate=ID)


class StudentYearMarkSchema(ma.Schema):
    id = fields.Integer(metadata={"description": "the student"})
    name = fields.String(metadata={"description": "Фамилия Имя"})
    gender = fields.String(allow_none=True)
    terms = fields.List(fields.Nested(TermMarkBriefSchema), metadata={"description": "confirmed term marks"})
    proposed = fields.String(metadata={"description": "from the term marks by the school's year_mark_rule"})
    final = fields.String(allow_none=True, metadata={"description": "the confirmed year mark; null until confirmed"})
    is_override = fields.Boolean()
    comment = fields.String(allow_none=True)
    confirmed_at = fields.DateTime(allow_none=True)


class ClassYearMarksSchema(ma.Schema):
    class_id = fields.Integer()
    class_name = fields.String()
    subject_id = fields.Integer()
    subject_name = fields.String()
    year_id = fields.Integer()
    year_name = fields.String()
    year_mark_rule = fields.String()
    can_edit = fields.Boolean(metadata={"description": "whether the caller may confirm (PUT /year-marks)"})
    terms = fields.List(fields.Nested(TermBriefSchema))
    students = fields.List(fields.Nested(StudentYearMarkSchema))


class YearMarkSetSchema(StrictSchema):
    student_id = fields.Integer(required=True, strict=True, validate=ID)
    subject_id = fields.Integer(required=True, strict=True, validate=ID)
    year_id = fields.Integer(required=True, strict=True, validate=ID)
    class_id = fields.Integer(strict=True, validate=ID, metadata={"description": "needed if in several classes"})
    final = fields.String(validate=validate.OneOf(MARK_CHOICES),
                          metadata={"description": "leave out to confirm the proposal"})
    comment = fields.String(allow_none=True, validate=validate.Length(max=500),
                            metadata={"description": "required when `final` overrides the proposal"})


class YearMarkSchema(ma.Schema):
    student_id = fields.Integer()
    subject_id = fields.Integer()
    year_id = fields.Integer()
    proposed = fields.String()
    final = fields.String()
    is_override = fields.Boolean()
    comment = fields.String(allow_none=True)
    confirmed_by = fields.Integer()
    confirmed_at = fields.DateTime()


@doc("A student's final marks of a year: term marks and the year mark per subject (the student, parents, "
     "teachers, admins)", tags=TAGS, query=FinalMarksQuerySchema, response=FinalMarksSchema, errors=(404, 422))
async def student_final_marks(request: web.Request) -> web.Response:
    query = load_query(request, FinalMarksQuerySchema())
    data = await final_marks.final_marks(ctx_of(request), principal(request), path_int(request, "student_id"),
                                         query.get("year_id"))
    return json_response(FinalMarksSchema().dump(data))


@doc("A class's year marks in a subject: per student the term marks, the proposal and the confirmed mark (as "
     "the journal is read: the subject's teachers, the class teacher, admins)", tags=TAGS,
     query=ClassYearMarksQuerySchema, response=ClassYearMarksSchema, errors=(403, 404, 422))
async def class_year_marks(request: web.Request) -> web.Response:
    query = load_query(request, ClassYearMarksQuerySchema())
    data = await final_marks.class_year_marks(ctx_of(request), principal(request), path_int(request, "class_id"),
                                              query["subject_id"], query.get("year_id"))
    return json_response(ClassYearMarksSchema().dump(data))


@doc("Confirm or override a year mark (the teacher of the class and subject, or an admin)", tags=TAGS,
     body=YearMarkSetSchema, response=YearMarkSchema, errors=(403, 404, 422, 429),
     description="The student and parents get a final_mark notification when the mark is set or changes.")
async def set_year_mark(request: web.Request) -> web.Response:
    data = await load_json(request, YearMarkSetSchema())
    view = await final_marks.set_year_mark(ctx_of(request), principal(request), data)
    return json_response(YearMarkSchema().dump(view))


def setup(app: web.Application) -> None:
    app.router.add_get("/api/v1/students/{student_id}/final-marks", student_final_marks)
    app.router.add_get("/api/v1/classes/{class_id}/year-marks", class_year_marks)
    app.router.add_put("/api/v1/year-marks", set_year_mark)
