"""Handlers: the teacher's journal. The day's lessons and one's classes, a class's journal in a subject for a term,
one lesson's sheet, the history of a journal's grades, and the parents of a class for its class teacher.
Writes go through the grade, attendance, lesson and attestation endpoints."""

from __future__ import annotations

import marshmallow as ma
from aiohttp import web
from marshmallow import fields, validate

from edutrack.api.attestations import NamedSchema, PolicySchema
from edutrack.api.http import ctx_of, json_response, load_query, path_int, principal
from edutrack.api.openapi import doc
from edutrack.api.schemas import StrictSchema
from edutrack.services.diary import journal, journal_audit

TAGS = ("journal",)
ID = validate.Range(min=1, max=2**63 - 1)
GENDER = {"description": "grammatical gender of the name (male, female) or null when it cannot tell: for words "
                         "that agree with the person"}


class JournalHomeQuerySchema(StrictSchema):
    date = fields.Date(metadata={"description": "the day whose lessons to list; default: today (school time)"})


class JournalPersonSchema(NamedSchema):
    name = fields.String(metadata={"description": "Фамилия Имя"})
    gender = fields.String(allow_none=True, metadata=GENDER)


class JournalClassSchema(ma.Schema):
    id = fields.Integer()
    name = fields.String()
    grade_level = fields.Integer()
    students = fields.Integer()
    is_class_teacher = fields.Boolean()
    subjects = fields.List(fields.Nested(NamedSchema), metadata={"description": "the subjects you teach there"})


class JournalDayLessonSchema(ma.Schema):
    id = fields.Integer()
    class_id = fields.Integer()
    class_name = fields.String()
    subject_id = fields.Integer()
    subject_name = fields.String()
    room = fields.String(allow_none=True)
    starts_at = fields.DateTime()
    ends_at = fields.DateTime()
    topic = fields.String(allow_none=True)
    homework = fields.String(allow_none=True)
    cancelled = fields.Boolean(metadata={"description": "cancelled (docs/diary-structure.md, one-off changes)"})
    change_note = fields.String(allow_none=True, metadata={"description": "why it was cancelled or covered"})
    marked = fields.Integer(metadata={"description": "students of the class with an attendance mark"})
    students = fields.Integer()


class JournalHomeSchema(ma.Schema):
    date = fields.Date()
    timezone = fields.String()
    classes = fields.List(fields.Nested(JournalClassSchema), metadata={"description": "by grade level, then name"})
    lessons = fields.List(fields.Nested(JournalDayLessonSchema))


class JournalQuerySchema(StrictSchema):
    class_id = fields.Integer(required=True, validate=ID)
    subject_id = fields.Integer(required=True, validate=ID)
    term_id = fields.Integer(validate=ID, metadata={"description": "default: the term of today (or the last begun)"})


class JournalTermSchema(ma.Schema):
    id = fields.Integer()
    name = fields.String()
    from_ = fields.Date(data_key="from")
    to = fields.Date()


class JournalLessonSchema(ma.Schema):
    id = fields.Integer()
    starts_at = fields.DateTime()
    ends_at = fields.DateTime()
    topic = fields.String(allow_none=True)
    homework = fields.String(allow_none=True)
    teacher_id = fields.Integer()
    cancelled = fields.Boolean(metadata={"description": "cancelled (docs/diary-structure.md, one-off changes)"})
    change_note = fields.String(allow_none=True, metadata={"description": "why it was cancelled or covered"})
    moved_from = fields.DateTime(allow_none=True, metadata={"description": "a moved lesson: its planned start"})


class JournalGradeSchema(ma.Schema):
    id = fields.Integer()
    student_id = fields.Integer()
    lesson_id = fields.Integer(allow_none=True)
    date = fields.Date()
    value = fields.Integer(allow_none=True)
    mark = fields.String(allow_none=True)
    display = fields.String()
    comment = fields.String(allow_none=True)
    work_type_id = fields.Integer()
    work_type = fields.String()
    weight = fields.Integer()
    teacher_id = fields.Integer()
    teacher = fields.String(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    edited = fields.Boolean(metadata={"description": "changed after it was put (its history says how)"})


class JournalAbsenceSchema(ma.Schema):
    lesson_id = fields.Integer()
    student_id = fields.Integer()
    status = fields.String(metadata={"description": "absent or late (presence is not listed)"})
    reason = fields.String(allow_none=True)


class JournalTermMarkSchema(ma.Schema):
    student_id = fields.Integer()
    average = fields.Float(allow_none=True)
    numeric_count = fields.Integer()
    marks_count = fields.Integer()
    proposed = fields.String(metadata={"description": "1..5 or na, from the weighted average and the school's rule"})
    final = fields.String(allow_none=True, metadata={"description": "the confirmed mark, null until confirmed"})
    is_override = fields.Boolean()
    comment = fields.String(allow_none=True, metadata={"description": "the reason of an override"})
    confirmed_at = fields.DateTime(allow_none=True)
    confirmed_by = fields.Integer(allow_none=True)
    confirmed_by_name = fields.String(allow_none=True, metadata={"description": "Имя Фамилия"})
    confirmed_by_gender = fields.String(allow_none=True, metadata=GENDER)


class JournalSchema(ma.Schema):
    class_id = fields.Integer()
    class_name = fields.String()
    subject_id = fields.Integer()
    subject_name = fields.String()
    timezone = fields.String()
    can_edit = fields.Boolean(metadata={"description": "false for the class teacher reading another's subject"})
    term = fields.Nested(JournalTermSchema)
    students = fields.List(fields.Nested(JournalPersonSchema))
    lessons = fields.List(fields.Nested(JournalLessonSchema))
    grades = fields.List(fields.Nested(JournalGradeSchema))
    attendance = fields.List(fields.Nested(JournalAbsenceSchema))
    term_marks = fields.List(fields.Nested(JournalTermMarkSchema))
    policy = fields.Nested(PolicySchema)


class LessonSheetLessonSchema(JournalLessonSchema):
    class_id = fields.Integer()
    class_name = fields.String()
    subject_id = fields.Integer()
    subject_name = fields.String()
    room = fields.String(allow_none=True)
    teacher_name = fields.String(allow_none=True)


class LessonSheetMarkSchema(ma.Schema):
    id = fields.Integer()
    student_id = fields.Integer()
    status = fields.String()
    reason = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    updated_at = fields.DateTime()


class LessonSheetNoteSchema(ma.Schema):
    student_id = fields.Integer()
    reason = fields.String(metadata={"description": "illness or excused"})


class LessonSheetSchema(ma.Schema):
    lesson = fields.Nested(LessonSheetLessonSchema)
    timezone = fields.String()
    can_edit = fields.Boolean()
    term_id = fields.Integer(allow_none=True, metadata={"description": "the term the lesson falls in"})
    students = fields.List(fields.Nested(JournalPersonSchema))
    attendance = fields.List(fields.Nested(LessonSheetMarkSchema))
    grades = fields.List(fields.Nested(JournalGradeSchema))
    absence_notes = fields.List(fields.Nested(LessonSheetNoteSchema), metadata={
        "description": "students an accepted parents' note excuses from this lesson (docs/absences.md): an "
                       "absence marked without a reason takes the note's"})


class JournalChangesQuerySchema(StrictSchema):
    class_id = fields.Integer(required=True, validate=ID)
    subject_id = fields.Integer(required=True, validate=ID)
    grade_id = fields.Integer(validate=ID, metadata={"description": "only this grade's history"})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=1_000_000))


class JournalChangeSideSchema(ma.Schema):
    display = fields.String(metadata={"description": "the grade as shown: 5, н/а, ..."})
    work_type = fields.String(allow_none=True)
    comment = fields.String(allow_none=True)
    date = fields.String()


class JournalChangeSchema(ma.Schema):
    id = fields.Integer()
    grade_id = fields.Integer()
    action = fields.String(metadata={"description": "create, update or delete"})
    at = fields.DateTime()
    actor_id = fields.Integer(allow_none=True)
    actor = fields.String(allow_none=True, metadata={"description": "Имя Фамилия"})
    actor_gender = fields.String(allow_none=True, metadata=GENDER)
    student_id = fields.Integer()
    student = fields.String()
    date = fields.Date()
    lesson_id = fields.Integer(allow_none=True)
    old = fields.Nested(JournalChangeSideSchema, allow_none=True, metadata={"description": "what changed, before"})
    new = fields.Nested(JournalChangeSideSchema, allow_none=True, metadata={"description": "what changed, after"})


class JournalChangesSchema(ma.Schema):
    items = fields.List(fields.Nested(JournalChangeSchema))
    limit = fields.Integer()
    offset = fields.Integer()


class ClassParentSchema(JournalPersonSchema):
    email = fields.String()
    is_active = fields.Boolean()
    children = fields.List(fields.Nested(JournalPersonSchema), metadata={"description": "their children in this class"})


class ClassParentsSchema(ma.Schema):
    class_id = fields.Integer()
    class_name = fields.String()
    parents = fields.List(fields.Nested(ClassParentSchema))
    students_without_parents = fields.List(fields.Nested(JournalPersonSchema))


@doc("Your teaching day: the classes and subjects you teach or lead (5А before 10А), and your lessons of a day",
     tags=TAGS, query=JournalHomeQuerySchema, response=JournalHomeSchema, errors=(403, 422),
     description="Teachers, and admins who also teach. Lessons carry how many students are marked present or "
                 "absent, so the page can show which lessons still need attendance.")
async def home(request: web.Request) -> web.Response:
    query = load_query(request, JournalHomeQuerySchema())
    data = await journal.home(ctx_of(request), principal(request), query.get("date"))
    return json_response(JournalHomeSchema().dump(data))


@doc("The journal of a class in a subject for a term: students, lessons, grades, absences, term marks",
     tags=TAGS, query=JournalQuerySchema, response=JournalSchema, errors=(403, 404, 422),
     description="The teachers of the class in the subject and the school's admins keep it (`can_edit`); the "
                 "class teacher reads every subject of the class. Term marks: the proposal from the weighted "
                 "average and the mark confirmed with PUT /api/v1/attestations.")
async def class_journal(request: web.Request) -> web.Response:
    query = load_query(request, JournalQuerySchema())
    data = await journal.journal(ctx_of(request), principal(request), query["class_id"], query["subject_id"],
                                 query.get("term_id"))
    return json_response(JournalSchema().dump(data))


@doc("One lesson for its journal: the class's students, their attendance marks and the lesson's grades", tags=TAGS,
     response=LessonSheetSchema, errors=(403, 404))
async def lesson_sheet(request: web.Request) -> web.Response:
    data = await journal.lesson_sheet(ctx_of(request), principal(request), path_int(request, "lesson_id"))
    return json_response(LessonSheetSchema().dump(data))


@doc("Who put, changed or deleted which grade of a journal, and when (newest first)", tags=TAGS,
     query=JournalChangesQuerySchema, response=JournalChangesSchema, errors=(403, 404, 422),
     description="For those who open the journal (see GET /api/v1/journal); the school's whole audit trail "
                 "stays with its admins (GET /api/v1/audit).")
async def journal_changes(request: web.Request) -> web.Response:
    query = load_query(request, JournalChangesQuerySchema())
    data = await journal_audit.journal_changes(ctx_of(request), principal(request), query["class_id"],
                                               query["subject_id"], grade_id=query.get("grade_id"),
                                               limit=query["limit"], offset=query["offset"])
    return json_response(JournalChangesSchema().dump(data))


@doc("The parents of a class's students, with their email (the class teacher and the school's admins)", tags=TAGS,
     response=ClassParentsSchema, errors=(403, 404))
async def class_parents(request: web.Request) -> web.Response:
    data = await journal_audit.class_parents(ctx_of(request), principal(request), path_int(request, "class_id"))
    return json_response(ClassParentsSchema().dump(data))


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/v1/journal/home", home)
    r.add_get("/api/v1/journal", class_journal)
    r.add_get("/api/v1/journal/changes", journal_changes)
    r.add_get("/api/v1/journal/lessons/{lesson_id}", lesson_sheet)
    r.add_get("/api/v1/classes/{class_id}/parents", class_parents)
