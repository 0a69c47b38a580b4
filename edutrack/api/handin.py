"""Handlers of homework hand-in (services/diary/handin.py): the student hands in, the teacher lists, returns and
grades, parents read the status."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from aiohttp import web
from marshmallow import fields, validate

from edutrack.api.attachments import FileSchema
from edutrack.api.grades import MARK, MARKS_HELP, VALUE, one_of_value_or_mark
from edutrack.api.http import ctx_of, json_response, load_json, load_query, path_int, principal
from edutrack.api.openapi import doc
from edutrack.api.schemas import StrictSchema
from edutrack.services.diary import handin
from edutrack.services.files.store import MAX_ATTACHMENTS

TAGS = ("homework hand-in",)
ID = validate.Range(min=1, max=2**63 - 1)


class HandInSchema(StrictSchema):
    text = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=handin.MAX_TEXT))
    attachments = fields.List(fields.Integer(validate=ID), load_default=list,
                              validate=validate.Length(max=MAX_ATTACHMENTS),
                              metadata={"description": "Ids of files you uploaded (POST /api/v1/files); a new "
                                                       "hand-in replaces the previous one's files"})


class HandInStudentQuerySchema(StrictSchema):
    student_id = fields.Integer(validate=ID, metadata={"description": "A child's (parents), a student's "
                                                                      "(teachers); default: your own"})


class HandInListQuerySchema(StrictSchema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class HandInReturnSchema(StrictSchema):
    comment = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class HandInGradeSchema(StrictSchema):
    work_type_id = fields.Integer(required=True, strict=True, validate=ID)
    value = fields.Integer(strict=True, allow_none=True, validate=VALUE)
    mark = fields.String(allow_none=True, validate=MARK, metadata={"description": MARKS_HELP})
    comment = fields.String(allow_none=True, validate=validate.Length(max=500))

    @ma.validates_schema
    def _value_or_mark(self, data: dict[str, Any], **_kwargs: Any) -> None:
        one_of_value_or_mark(data, partial=False)


class SubmissionSchema(ma.Schema):
    id = fields.Integer()
    lesson_id = fields.Integer()
    student_id = fields.Integer()
    status = fields.String(metadata={"enum": ["submitted", "returned", "graded"]})
    text = fields.String(allow_none=True)
    late = fields.Boolean(metadata={"description": "Handed in after due_at"})
    due_at = fields.String(allow_none=True, metadata={
        "description": "The start of the class's next lesson of the subject; null: no deadline yet"})
    submitted_at = fields.String()
    versions = fields.Integer(metadata={"description": "How many times it was handed in"})
    teacher_comment = fields.String(allow_none=True)
    checked_at = fields.String(allow_none=True)
    grade_id = fields.Integer(allow_none=True)
    grade = fields.String(allow_none=True, metadata={"description": "The grade's value or mark once graded"})
    attachments = fields.List(fields.Nested(FileSchema))


class StudentSubmissionSchema(SubmissionSchema):
    subject = fields.String()
    lesson_date = fields.String()


class StudentSubmissionListSchema(ma.Schema):
    student_id = fields.Integer()
    items = fields.List(fields.Nested(StudentSubmissionSchema))


class HandInRosterEntrySchema(ma.Schema):
    student_id = fields.Integer()
    student_name = fields.String()
    status = fields.String(metadata={"enum": ["missing", "submitted", "returned", "graded"]})
    submission = fields.Nested(SubmissionSchema, allow_none=True)


class LessonSubmissionsSchema(ma.Schema):
    lesson_id = fields.Integer()
    due_at = fields.String(allow_none=True)
    submitted = fields.Integer()
    missing = fields.Integer()
    items = fields.List(fields.Nested(HandInRosterEntrySchema))


@doc("Hand in homework for a lesson (students of its class): text and/or files; again to replace it until it "
     "is graded", tags=TAGS, body=HandInSchema, response=SubmissionSchema, status=201,
     errors=(403, 404, 409, 422, 429), extra_responses={200: "Your earlier hand-in, replaced"},
     description="Late (`late: true`) when handed in after the start of the class's next lesson of the subject. "
                 "The lesson's teacher and your parents get a `homework_submitted` notification.")
async def submit(request: web.Request) -> web.Response:
    data = await load_json(request, HandInSchema())
    result, created = await handin.submit(ctx_of(request), principal(request), path_int(request, "lesson_id"),
                                          data["text"], data["attachments"])
    return json_response(SubmissionSchema().dump(result), status=201 if created else 200)


@doc("A hand-in for a lesson: your own, or a child's / a student's (`student_id`)", tags=TAGS,
     query=HandInStudentQuerySchema, response=SubmissionSchema, errors=(404,))
async def get_submission(request: web.Request) -> web.Response:
    params = load_query(request, HandInStudentQuerySchema())
    result = await handin.submission_of(ctx_of(request), principal(request), path_int(request, "lesson_id"),
                                        params.get("student_id"))
    return json_response(SubmissionSchema().dump(result))


@doc("Who has and has not handed in a lesson's homework (its teachers, the school's administrators)", tags=TAGS,
     response=LessonSubmissionsSchema, errors=(403, 404))
async def lesson_submissions(request: web.Request) -> web.Response:
    result = await handin.lesson_submissions(ctx_of(request), principal(request), path_int(request, "lesson_id"))
    return json_response(LessonSubmissionsSchema().dump(result))


@doc("A student's hand-ins and their status, newest lesson first (the student, their parents, teachers)",
     tags=TAGS, query=HandInListQuerySchema, response=StudentSubmissionListSchema, errors=(403, 404))
async def student_submissions(request: web.Request) -> web.Response:
    params = load_query(request, HandInListQuerySchema())
    result = await handin.student_submissions(ctx_of(request), principal(request),
                                              path_int(request, "student_id"), params["limit"])
    return json_response(StudentSubmissionListSchema().dump(result))


@doc("Return a hand-in for rework with a comment (the lesson's teachers)", tags=TAGS, body=HandInReturnSchema,
     response=SubmissionSchema, errors=(403, 404, 409, 429),
     description="The student and their parents get a `homework_returned` notification; the student may hand in "
                 "again.")
async def return_submission(request: web.Request) -> web.Response:
    data = await load_json(request, HandInReturnSchema())
    result = await handin.return_for_rework(ctx_of(request), principal(request),
                                            path_int(request, "submission_id"), data["comment"])
    return json_response(SubmissionSchema().dump(result))


@doc("Grade a hand-in: a normal grade for the lesson, linked to it; the hand-in is then final", tags=TAGS,
     body=HandInGradeSchema, response=SubmissionSchema, errors=(403, 404, 409, 429),
     description="The grade is created as by POST /api/v1/grades (its audit row, the `grade` notification to the "
                 "student and parents, the marks' caches).")
async def grade_submission(request: web.Request) -> web.Response:
    data = await load_json(request, HandInGradeSchema())
    result = await handin.grade(ctx_of(request), principal(request), path_int(request, "submission_id"), data)
    return json_response(SubmissionSchema().dump(result))


def setup(app: web.Application) -> None:
    r = app.router
    r.add_post("/api/v1/lessons/{lesson_id}/submission", submit)
    r.add_get("/api/v1/lessons/{lesson_id}/submission", get_submission)
    r.add_get("/api/v1/lessons/{lesson_id}/submissions", lesson_submissions)
    r.add_get("/api/v1/students/{student_id}/submissions", student_submissions)
    r.add_post("/api/v1/submissions/{submission_id}/return", return_submission)
    r.add_post("/api/v1/submissions/{submission_id}/grade", grade_submission)
