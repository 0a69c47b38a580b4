"""Handlers: one-off changes of a lesson (admins): a cover teacher, a cancellation. Rules:
services/diary/lesson_changes.py, docs/diary-structure.md."""

from __future__ import annotations

from aiohttp import web
from marshmallow import fields, validate

from edutrack.api.diary_schemas import LessonSchema
from edutrack.api.http import ctx_of, json_response, load_json, path_int, principal
from edutrack.api.openapi import doc
from edutrack.api.schemas import StrictSchema
from edutrack.services.diary import lesson_changes

TAGS = ("schedule",)
NOTIFIES = "The class's students and parents and the teachers concerned get a lesson_changed notification."


class CoverSchema(StrictSchema):
    teacher_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=2**63 - 1),
                                metadata={"description": "a teacher (or admin) of the school, free at that time"})
    note = fields.String(allow_none=True, validate=validate.Length(max=300))


class CancelSchema(StrictSchema):
    note = fields.String(allow_none=True, validate=validate.Length(max=300))


@doc("Give one lesson a cover teacher (admins)", tags=TAGS, body=CoverSchema, response=LessonSchema,
     errors=(403, 404, 409, 422, 429),
     description="For this lesson only: the cover takes attendance, grades on it and keeps its topic and homework. "
                 "A clash of the cover's time is a 409 schedule_conflict. " + NOTIFIES)
async def set_cover(request: web.Request) -> web.Response:
    data = await load_json(request, CoverSchema())
    view = await lesson_changes.set_cover(ctx_of(request), principal(request), path_int(request, "lesson_id"),
                                          data["teacher_id"], data.get("note"))
    return json_response(LessonSchema().dump(view))


@doc("Give a covered lesson back to its own teacher (admins)", tags=TAGS, response=LessonSchema,
     errors=(403, 404, 409, 429), description=NOTIFIES)
async def remove_cover(request: web.Request) -> web.Response:
    view = await lesson_changes.remove_cover(ctx_of(request), principal(request), path_int(request, "lesson_id"))
    return json_response(LessonSchema().dump(view))


@doc("Cancel a lesson (admins): it stays in the schedule, marked, and books nothing", tags=TAGS,
     body=CancelSchema, response=LessonSchema, errors=(403, 404, 409, 422, 429), description=NOTIFIES)
async def cancel(request: web.Request) -> web.Response:
    data = await load_json(request, CancelSchema())
    view = await lesson_changes.cancel(ctx_of(request), principal(request), path_int(request, "lesson_id"),
                                       data.get("note"))
    return json_response(LessonSchema().dump(view))


@doc("Take back a lesson's cancellation (admins); its time is checked for clashes again", tags=TAGS,
     response=LessonSchema, errors=(403, 404, 409, 429), description=NOTIFIES)
async def restore(request: web.Request) -> web.Response:
    view = await lesson_changes.restore(ctx_of(request), principal(request), path_int(request, "lesson_id"))
    return json_response(LessonSchema().dump(view))


def setup(app: web.Application) -> None:
    app.router.add_put("/api/v1/lessons/{lesson_id}/cover", set_cover)
    app.router.add_delete("/api/v1/lessons/{lesson_id}/cover", remove_cover)
    app.router.add_put("/api/v1/lessons/{lesson_id}/cancellation", cancel)
    app.router.add_delete("/api/v1/lessons/{lesson_id}/cancellation", restore)
