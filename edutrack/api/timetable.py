"""Handlers of timetable planning: the dry-run check of one lesson and a weekly timetable over a term (admins)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from aiohttp import web
from marshmallow import fields, validate

from edutrack.api.diary_schemas import LessonUpdateSchema
from edutrack.api.http import ctx_of, json_response, load_json, principal
from edutrack.api.openapi import doc
from edutrack.api.schemas import StrictSchema
from edutrack.i18n import _
from edutrack.services.diary import timetable

TAGS = ("schedule",)


def _id(**kw: Any) -> fields.Integer:
    return fields.Integer(validate=validate.Range(min=1, max=2**63 - 1), **kw)


class LessonCheckSchema(LessonUpdateSchema):
    lesson_id = _id(load_default=None, allow_none=True, metadata={
        "description": "The lesson being moved (fields not given keep its values); without it: a new lesson, and "
                       "class_id, subject_id, teacher_id, starts_at, ends_at are required"})


class ConflictSchema(ma.Schema):
    kind = fields.String(metadata={"description": "class, teacher or room"})
    lesson_id = fields.Integer(allow_none=True, metadata={"description": "the lesson in the way"})
    message = fields.String()


class LessonCheckResultSchema(ma.Schema):
    ok = fields.Boolean(metadata={"description": "true: saving would not clash with anything"})
    conflicts = fields.List(fields.Nested(ConflictSchema))


class WeeklySlotSchema(StrictSchema):
    weekday = fields.Integer(required=True, validate=validate.Range(min=1, max=7),
                             metadata={"description": "1 = Monday ... 7 = Sunday"})
    starts = fields.Time(required=True, format="%H:%M", metadata={"description": "school time, HH:MM"})
    ends = fields.Time(required=True, format="%H:%M")
    subject_id = _id(required=True)
    teacher_id = _id(required=True)
    room = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=30))

    @ma.validates_schema
    def ends_after_start(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if data["ends"] <= data["starts"]:
            raise ma.ValidationError(_("Must be after the start."), "ends")


class WeeklySchema(StrictSchema):
    class_id = _id(required=True)
    term_id = _id(required=True)
    from_ = fields.Date(data_key="from", load_default=None,
                        metadata={"description": "first day (default: the term's first; never before it)"})
    to = fields.Date(load_default=None, metadata={"description": "last day (default: the term's last; never after it)"})
    slots = fields.List(fields.Nested(WeeklySlotSchema), required=True, validate=validate.Length(min=1, max=80))
    dry_run = fields.Boolean(load_default=False, metadata={"description": "only report what saving would do"})


class WeeklyConflictSchema(ma.Schema):
    slot = fields.Integer(metadata={"description": "index in `slots`"})
    date = fields.String()
    starts_at = fields.String()
    conflicts = fields.List(fields.Nested(ConflictSchema))


class WeeklyResultSchema(ma.Schema):
    dry_run = fields.Boolean()
    lessons = fields.Integer(metadata={"description": "lessons the timetable makes"})
    created = fields.Integer()
    conflicts = fields.List(fields.Nested(WeeklyConflictSchema),
                            metadata={"description": "dry run: the lessons that would clash (a real run with any "
                                                     "is a 409 listing them in details.lessons)"})


@doc("Check a lesson before saving it (admins): the double-bookings of the class, the teacher or the room that "
     "creating it (or, with lesson_id, moving that lesson) would meet; nothing is saved", tags=TAGS,
     body=LessonCheckSchema, response=LessonCheckResultSchema, errors=(403, 404, 422, 429))
async def check_lesson(request: web.Request) -> web.Response:
    data = await load_json(request, LessonCheckSchema())
    return json_response(await timetable.check_lesson(ctx_of(request), principal(request), data))


@doc("Lay a class's weekly timetable over a term (admins): one lesson per slot and week, in one transaction. "
     "With any conflict nothing is saved (409, details.lessons: each clashing lesson); dry_run reports only",
     tags=TAGS, body=WeeklySchema, response=WeeklyResultSchema, errors=(403, 404, 409, 422, 429))
async def build_weekly(request: web.Request) -> web.Response:
    data = await load_json(request, WeeklySchema())
    return json_response(await timetable.build_weekly(ctx_of(request), principal(request), data))


def setup(app: web.Application) -> None:
    app.router.add_post("/api/v1/lessons/check", check_lesson)
    app.router.add_post("/api/v1/lessons/weekly", build_weekly)
