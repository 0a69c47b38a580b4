"""Handlers: performance analytics of a student and of a class."""

from __future__ import annotations

import marshmallow as ma
from aiohttp import web
from marshmallow import fields, validate

from edutrack.api.attendance import SummarySchema
from edutrack.api.http import ctx_of, json_response, load_query, path_int, principal
from edutrack.api.openapi import doc
from edutrack.api.schemas import StrictSchema
from edutrack.services.diary import analytics

TAGS = ("analytics",)
ID = validate.Range(min=1, max=2**63 - 1)


class StudentPerformanceQuerySchema(StrictSchema):
    term_id = fields.Integer(required=True, validate=ID)
    unit = fields.String(load_default="week", validate=validate.OneOf(["week", "month"]),
                         metadata={"description": "trend granularity"})


class ClassPerformanceQuerySchema(StrictSchema):
    term_id = fields.Integer(required=True, validate=ID)


class SubjectPerformanceSchema(ma.Schema):
    subject_id = fields.Integer()
    subject = fields.String()
    weighted_average = fields.Float(allow_none=True)
    plain_average = fields.Float(allow_none=True)
    numeric_count = fields.Integer()
    marks_count = fields.Integer()
    proposed = fields.String()


class TrendSubjectSchema(ma.Schema):
    subject_id = fields.Integer()
    weighted_average = fields.Float(allow_none=True)


class TrendPointSchema(ma.Schema):
    period_start = fields.Date()
    weighted_average = fields.Float(allow_none=True)
    numeric_count = fields.Integer()
    subjects = fields.List(fields.Nested(TrendSubjectSchema))


class StudentPerformanceSchema(ma.Schema):
    student_id = fields.Integer()
    term_id = fields.Integer()
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    unit = fields.String()
    overall_weighted_average = fields.Float(allow_none=True)
    subjects = fields.List(fields.Nested(SubjectPerformanceSchema))
    trend = fields.List(fields.Nested(TrendPointSchema))
    attendance = fields.Nested(SummarySchema)


class ClassSubjectSchema(ma.Schema):
    subject_id = fields.Integer()
    subject = fields.String()
    average = fields.Float(allow_none=True, metadata={"description": "mean of the students' weighted averages"})
    weighted_average = fields.Float(allow_none=True, metadata={"description": "over all the class's grades"})
    students_graded = fields.Integer()
    results = fields.Dict(keys=fields.String(), values=fields.Integer(),
                          metadata={"description": "students per result (confirmed mark, else proposal)"})


class AtRiskSchema(ma.Schema):
    student_id = fields.Integer()
    name = fields.String()
    weighted_average = fields.Float(allow_none=True)
    unexcused_absences = fields.Integer()
    failing_subjects = fields.List(fields.String())
    reasons = fields.List(fields.String(), metadata={"description": "low_average, unexcused_absences, "
                                                                     "failing_subjects"})


class ThresholdsSchema(ma.Schema):
    at_risk_average = fields.Float()
    at_risk_unexcused_absences = fields.Integer()


class ClassPerformanceSchema(ma.Schema):
    class_id = fields.Integer()
    class_name = fields.String()
    term_id = fields.Integer()
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    students = fields.Integer()
    attested_students = fields.Integer(metadata={"description": "students with at least one numeric result"})
    success_rate = fields.Float(allow_none=True, metadata={"description": "успеваемость"})
    quality_rate = fields.Float(allow_none=True, metadata={"description": "качество"})
    attendance_rate = fields.Float(allow_none=True)
    subjects = fields.List(fields.Nested(ClassSubjectSchema))
    at_risk = fields.List(fields.Nested(AtRiskSchema))
    thresholds = fields.Nested(ThresholdsSchema)


@doc("A student's performance in a term: averages per subject, trend, attendance rate", tags=TAGS,
     query=StudentPerformanceQuerySchema, response=StudentPerformanceSchema, errors=(404, 422),
     description="Aggregated in PostgreSQL. Same visibility as the student's grades (a subject teacher sees "
                 "their subjects). Attendance rate = (present + late) / marked lessons.")
async def student_performance(request: web.Request) -> web.Response:
    query = load_query(request, StudentPerformanceQuerySchema())
    data = await analytics.student_performance(ctx_of(request), principal(request), path_int(request, "student_id"),
                                               query["term_id"], query["unit"])
    return json_response(StudentPerformanceSchema().dump(data))


@doc("A class's performance in a term: averages, успеваемость, качество, students at risk", tags=TAGS,
     query=ClassPerformanceQuerySchema, response=ClassPerformanceSchema, errors=(403, 404, 422),
     description="A student's result in a subject = the confirmed term mark, else the proposal. Among students "
                 "with at least one numeric result: успеваемость = share with no result below 3; качество = share "
                 "with only 4s and 5s. At risk: weighted average below the school's at_risk_average, unexcused "
                 "absences reaching at_risk_unexcused_absences, or a result below 3. Admins and the class "
                 "teacher see all subjects, a subject teacher their own.")
async def class_performance(request: web.Request) -> web.Response:
    query = load_query(request, ClassPerformanceQuerySchema())
    data = await analytics.class_performance(ctx_of(request), principal(request), path_int(request, "class_id"),
                                             query["term_id"])
    return json_response(ClassPerformanceSchema().dump(data))


def setup(app: web.Application) -> None:
    app.router.add_get("/api/v1/students/{student_id}/performance", student_performance)
    app.router.add_get("/api/v1/classes/{class_id}/performance", class_performance)
