"""Request and response schemas of the diary's structure: schools, calendar, classes, subjects,
assignments, work types, the schedule, news and classmates."""

from __future__ import annotations

import re
from decimal import Decimal

import marshmallow as ma
from marshmallow import fields, validate

from edutrack.api.schemas import PageQuerySchema, StrictSchema
from edutrack.db.diary import NEWS_AUDIENCES, NEWS_STATUSES, YEAR_MARK_RULES
from edutrack.db.models import Role
from edutrack.i18n import N_

ROLES = [r.value for r in Role]


def _id(**kw: object) -> fields.Integer:
    return fields.Integer(validate=validate.Range(min=1, max=2**63 - 1), **kw)  # type: ignore[arg-type]


def _page(item: type[ma.Schema]) -> type[ma.Schema]:
    return ma.Schema.from_dict({
        "items": fields.List(fields.Nested(item)), "total": fields.Integer(), "limit": fields.Integer(),
        "offset": fields.Integer(),
    }, name=f"{item.__name__.removesuffix('Schema')}PageSchema")


# Schools


class SchoolCreateSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    address = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=300))
    timezone = fields.String(validate=validate.Length(min=1, max=64))
    parents_in_class_chat = fields.Boolean()
    min_marks_for_attestation = fields.Integer(validate=validate.Range(min=1, max=20))
    # Decimal bounds: the float 0.01 is a hair above 1/100 and 0.99 a hair below, so float bounds refuse both.
    rounding_threshold = fields.Decimal(validate=validate.Range(min=Decimal("0.01"), max=Decimal("0.99")), places=2,
                                        as_string=False)
    at_risk_average = fields.Decimal(validate=validate.Range(min=1, max=5), places=2)
    at_risk_unexcused_absences = fields.Integer(validate=validate.Range(min=1, max=1000))
    year_mark_rule = fields.String(validate=validate.OneOf(YEAR_MARK_RULES), metadata={
        "description": "the proposed year mark: mean = the rounded mean of the term marks (rounding_threshold), "
                       "last_term = the last term's mark"})


class SchoolUpdateSchema(SchoolCreateSchema):
    name = fields.String(validate=validate.Length(min=1, max=200))


class SchoolSchema(ma.Schema):
    id = fields.Integer()
    name = fields.String()
    address = fields.String(allow_none=True)
    timezone = fields.String()
    parents_in_class_chat = fields.Boolean()
    min_marks_for_attestation = fields.Integer()
    rounding_threshold = fields.Float()
    at_risk_average = fields.Float()
    at_risk_unexcused_absences = fields.Integer()
    year_mark_rule = fields.String()
    created_at = fields.String()
    updated_at = fields.String()


SchoolPageSchema = _page(SchoolSchema)


class SchoolListQuerySchema(PageQuerySchema):
    q = fields.String(validate=validate.Length(min=1, max=100))


# Calendar


class YearCreateSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=20))
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(required=True)


class YearUpdateSchema(StrictSchema):
    name = fields.String(validate=validate.Length(min=1, max=20))
    starts_on = fields.Date()
    ends_on = fields.Date()


class YearSchema(ma.Schema):
    id = fields.Integer()
    school_id = fields.Integer()
    name = fields.String()
    starts_on = fields.String()
    ends_on = fields.String()


class TermCreateSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=40))
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(required=True)


class TermUpdateSchema(StrictSchema):
    name = fields.String(validate=validate.Length(min=1, max=40))
    starts_on = fields.Date()
    ends_on = fields.Date()


class TermSchema(YearSchema):
    academic_year_id = fields.Integer()


class TermListQuerySchema(StrictSchema):
    year_id = _id()


# Work types


class WorkTypeCreateSchema(StrictSchema):
    school_id = _id(load_default=None, allow_none=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    weight = fields.Integer(required=True, validate=validate.Range(min=1, max=10))


class WorkTypeUpdateSchema(StrictSchema):
    name = fields.String(validate=validate.Length(min=1, max=100))
    weight = fields.Integer(validate=validate.Range(min=1, max=10))


class WorkTypeSchema(ma.Schema):
    id = fields.Integer()
    school_id = fields.Integer()
    name = fields.String()
    weight = fields.Integer()


class SchoolScopedQuerySchema(StrictSchema):
    school_id = _id()


# Classes


# `\Z`, not `$` (which accepts a final newline); ASCII digits and spaces only.
CLASS_NAME = validate.Regexp(r"^(1[01]|[1-9])\s?[А-ЯЁA-Z]{0,2}(-?\d)?\Z", flags=re.ASCII,
                             error=N_("Expected a class name such as 10A or 5B."))


class ClassCreateSchema(StrictSchema):
    school_id = _id(load_default=None, allow_none=True)
    name = fields.String(required=True, validate=[validate.Length(min=1, max=20), CLASS_NAME])
    grade_level = fields.Integer(required=True, validate=validate.Range(min=1, max=11))
    academic_year_id = _id(load_default=None, allow_none=True)
    class_teacher_id = _id(load_default=None, allow_none=True)


class ClassUpdateSchema(StrictSchema):
    name = fields.String(validate=[validate.Length(min=1, max=20), CLASS_NAME])
    grade_level = fields.Integer(validate=validate.Range(min=1, max=11))
    academic_year_id = _id(allow_none=True)
    class_teacher_id = _id(allow_none=True)


class ClassSchema(ma.Schema):
    id = fields.Integer()
    school_id = fields.Integer()
    name = fields.String()
    grade_level = fields.Integer()
    academic_year_id = fields.Integer(allow_none=True)
    academic_year = fields.String(allow_none=True)
    class_teacher_id = fields.Integer(allow_none=True)
    class_teacher_name = fields.String(allow_none=True)
    students = fields.Integer()


ClassPageSchema = _page(ClassSchema)


class ClassListQuerySchema(PageQuerySchema):
    school_id = _id()
    grade_level = fields.Integer(validate=validate.Range(min=1, max=11))
    academic_year_id = _id()
    q = fields.String(validate=validate.Length(min=1, max=20))


class EnrolSchema(StrictSchema):
    student_ids = fields.List(_id(), required=True, validate=validate.Length(min=1, max=500))


class EnrolResultSchema(ma.Schema):
    class_id = fields.Integer()
    added = fields.Integer()
    already_enrolled = fields.Integer()


class ClassStudentSchema(ma.Schema):
    id = fields.Integer()
    email = fields.String(allow_none=True, metadata={"description": "Only for teachers and admins"})
    full_name = fields.String()
    enrolled_at = fields.String()


class ParentLinkCreateSchema(StrictSchema):
    parent_id = _id(required=True)
    child_id = _id(required=True)


class ParentLinkResultSchema(ma.Schema):
    parent_id = fields.Integer()
    child_id = fields.Integer()
    created = fields.Boolean()


class ParentLinkSchema(ma.Schema):
    parent_id = fields.Integer()
    parent_name = fields.String()
    child_id = fields.Integer()
    child_name = fields.String()


ParentLinkPageSchema = _page(ParentLinkSchema)


class ParentLinkQuerySchema(PageQuerySchema):
    parent_id = _id()
    child_id = _id()


# Subjects and assignments


class SubjectCreateSchema(StrictSchema):
    school_id = _id(load_default=None, allow_none=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))


class SubjectUpdateSchema(StrictSchema):
    name = fields.String(validate=validate.Length(min=1, max=100))


class SubjectSchema(ma.Schema):
    id = fields.Integer()
    school_id = fields.Integer()
    name = fields.String()


SubjectPageSchema = _page(SubjectSchema)


class SubjectListQuerySchema(PageQuerySchema):
    school_id = _id()
    q = fields.String(validate=validate.Length(min=1, max=100))


class AssignmentCreateSchema(StrictSchema):
    class_id = _id(required=True)
    subject_id = _id(required=True)
    teacher_id = _id(required=True)


class AssignmentSchema(ma.Schema):
    id = fields.Integer()
    school_id = fields.Integer()
    class_id = fields.Integer()
    class_name = fields.String()
    subject_id = fields.Integer()
    subject_name = fields.String()
    teacher_id = fields.Integer()
    teacher_name = fields.String()


AssignmentPageSchema = _page(AssignmentSchema)


class AssignmentListQuerySchema(PageQuerySchema):
    class_id = _id()
    teacher_id = _id()
    subject_id = _id()


# Schedule


class LessonCreateSchema(StrictSchema):
    class_id = _id(required=True)
    subject_id = _id(required=True)
    teacher_id = _id(required=True)
    room = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=30))
    starts_at = fields.DateTime(required=True, metadata={"description": "Without an offset: school time"})
    ends_at = fields.DateTime(required=True)
    topic = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=300))
    homework = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=5000))


class LessonUpdateSchema(StrictSchema):
    class_id = _id()
    subject_id = _id()
    teacher_id = _id()
    room = fields.String(allow_none=True, validate=validate.Length(max=30))
    starts_at = fields.DateTime()
    ends_at = fields.DateTime()
    topic = fields.String(allow_none=True, validate=validate.Length(max=300))
    homework = fields.String(allow_none=True, validate=validate.Length(max=5000))


class LessonSchema(ma.Schema):
    id = fields.Integer()
    school_id = fields.Integer()
    class_id = fields.Integer()
    class_name = fields.String()
    subject_id = fields.Integer()
    subject_name = fields.String()
    teacher_id = fields.Integer()
    teacher_name = fields.String()
    room = fields.String(allow_none=True)
    starts_at = fields.String()
    ends_at = fields.String()
    topic = fields.String(allow_none=True)
    homework = fields.String(allow_none=True)
    cancelled = fields.Boolean(metadata={"description": "cancelled: stays in the schedule, books nothing"})
    regular_teacher_id = fields.Integer(allow_none=True, metadata={
        "description": "with a one-off cover: the teacher it replaces (teacher_id is the cover)"})
    change_note = fields.String(allow_none=True, metadata={"description": "why it was cancelled or covered"})
    moved_from = fields.String(allow_none=True, metadata={
        "description": "a moved lesson: the start it was planned for (UTC); null when not moved or moved back"})


class ScheduleSchema(ma.Schema):
    from_ = fields.String(data_key="from")
    to = fields.String()
    timezone = fields.String()
    items = fields.List(fields.Nested(LessonSchema))


class RangeQuerySchema(StrictSchema):
    from_ = fields.Date(data_key="from", metadata={"description": "First day (school time zone); default: Monday"})
    to = fields.Date(metadata={"description": "Last day, inclusive; at most 42 days after from"})


class WeekQuerySchema(RangeQuerySchema):
    class_id = _id(required=True)


class MyScheduleQuerySchema(RangeQuerySchema):
    child_id = _id(metadata={"description": "Parents: whose schedule (required with several children)"})


# News

URGENT = {"description": "its emails pass the recipients' quiet hours; URGENT_NEWS_PER_DAY per school, audited; "
                         "only before publication"}
ACK_ROLES = ("parent", "student", "staff")
ACK = {"description": "who must acknowledge they read it: parent, student, staff; [] nobody"}
EACH_PARENT = {"description": "every parent must confirm, not one per child"}
PUBLISH_AT = {"description": "when to publish; without an offset, the school's wall-clock time (as lesson times)"}


PUBLIC = {"description": "Shown without login on the school's public page and Atom feed once published "
                         "(school audience only)"}


class NewsCreateSchema(StrictSchema):
    school_id = _id(load_default=None, allow_none=True)
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    body = fields.String(required=True, validate=validate.Length(min=1, max=20000))
    audience = fields.String(required=True, validate=validate.OneOf(NEWS_AUDIENCES))
    class_id = _id(load_default=None, allow_none=True)
    role = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(ROLES))
    status = fields.String(load_default="draft", validate=validate.OneOf(NEWS_STATUSES))
    publish_at = fields.DateTime(load_default=None, allow_none=True, metadata=PUBLISH_AT)
    public = fields.Boolean(load_default=False, metadata=PUBLIC)
    urgent = fields.Boolean(load_default=False, metadata=URGENT)
    ack = fields.List(fields.String(validate=validate.OneOf(ACK_ROLES)), load_default=list, metadata=ACK)
    ack_each_parent = fields.Boolean(load_default=False, metadata=EACH_PARENT)


class NewsUpdateSchema(StrictSchema):
    title = fields.String(validate=validate.Length(min=1, max=200))
    body = fields.String(validate=validate.Length(min=1, max=20000))
    audience = fields.String(validate=validate.OneOf(NEWS_AUDIENCES))
    class_id = _id(allow_none=True)
    role = fields.String(allow_none=True, validate=validate.OneOf(ROLES))
    status = fields.String(validate=validate.OneOf(NEWS_STATUSES))
    publish_at = fields.DateTime(allow_none=True, metadata=PUBLISH_AT)
    public = fields.Boolean(metadata=PUBLIC)
    urgent = fields.Boolean(metadata=URGENT)
    ack = fields.List(fields.String(validate=validate.OneOf(ACK_ROLES)), metadata=ACK)
    ack_each_parent = fields.Boolean(metadata=EACH_PARENT)


class NewsSchema(ma.Schema):
    id = fields.Integer()
    school_id = fields.Integer()
    author_id = fields.Integer()
    author_name = fields.String()
    title = fields.String()
    body = fields.String()
    audience = fields.String()
    class_id = fields.Integer(allow_none=True)
    class_name = fields.String(allow_none=True)
    role = fields.String(allow_none=True)
    status = fields.String()
    publish_at = fields.String(allow_none=True)
    published_at = fields.String(allow_none=True)
    public = fields.Boolean()
    urgent = fields.Boolean()
    ack = fields.List(fields.String())
    ack_each_parent = fields.Boolean()
    created_at = fields.String()
    updated_at = fields.String()


NewsPageSchema = _page(NewsSchema)


class NewsListQuerySchema(PageQuerySchema):
    status = fields.String(validate=validate.OneOf(NEWS_STATUSES))
    audience = fields.String(validate=validate.OneOf(NEWS_AUDIENCES))
    class_id = _id()
    q = fields.String(validate=validate.Length(min=1, max=100))


# Classmates


class ClassmateSchema(ma.Schema):
    id = fields.Integer()
    first_name = fields.String()
    last_name = fields.String()
    full_name = fields.String()
    avatar_url = fields.String(allow_none=True)
    classes = fields.List(fields.String())
    birthday = fields.String(allow_none=True, metadata={"description": "Only if the classmate shows it"})


ClassmatePageSchema = _page(ClassmateSchema)


class ClassmateQuerySchema(PageQuerySchema):
    q = fields.String(validate=validate.Length(min=1, max=100))
