"""Handlers of what parents have seen of the diary (services/diary/diary_seen.py): a week marked seen
("Просмотрено"), and the class teacher's list of parents who have not opened the diary for N days."""

from __future__ import annotations

import marshmallow as ma
from aiohttp import web
from marshmallow import fields, validate

from edutrack.api.http import ctx_of, json_response, load_json, load_query, path_int, principal
from edutrack.api.openapi import doc
from edutrack.api.schemas import StrictSchema
from edutrack.services.diary import diary_seen

TAGS = ("diary",)
_ID = validate.Range(min=1, max=2**63 - 1)


class WeekSchema(StrictSchema):
    child_id = fields.Integer(required=True, validate=_ID)
    week_start = fields.Date(required=True, metadata={"description": "The Monday of the week"})


class WeekSeenSchema(ma.Schema):
    child_id = fields.Integer()
    week_start = fields.Date()
    seen_at = fields.DateTime(allow_none=True, metadata={"description": "when you marked it; null: not yet"})
    duplicate = fields.Boolean(metadata={"description": "true: you had marked this week already"})


class ActivityQuerySchema(StrictSchema):
    days = fields.Integer(load_default=7, validate=validate.Range(min=1, max=365), metadata={
        "description": "a parent who has not opened the diary for this many days is `stale`"})


class ActivityChildSchema(ma.Schema):
    id = fields.Integer()
    name = fields.String()
    last_opened_at = fields.DateTime(allow_none=True, metadata={"description": "this parent opened this child's "
                                                                              "diary (to the hour)"})
    last_week_seen = fields.Date(allow_none=True, metadata={"description": "the latest week this parent marked "
                                                                          "seen for this child"})


class ActivityParentSchema(ma.Schema):
    id = fields.Integer()
    name = fields.String()
    children = fields.List(fields.Nested(ActivityChildSchema))
    last_opened_at = fields.DateTime(allow_none=True)
    stale = fields.Boolean(metadata={"description": "not opened for `days` days, or never"})


class ActivityStudentSchema(ma.Schema):
    id = fields.Integer()
    name = fields.String()
    last_opened_at = fields.DateTime(allow_none=True)


class ActivitySchema(ma.Schema):
    class_id = fields.Integer()
    class_name = fields.String()
    days = fields.Integer()
    since = fields.DateTime()
    stale = fields.Integer(metadata={"description": "how many parents are stale"})
    parents = fields.List(fields.Nested(ActivityParentSchema))
    students = fields.List(fields.Nested(ActivityStudentSchema))


@doc("Mark a week of your child's diary as seen (parents); marking it again changes nothing", tags=TAGS,
     body=WeekSchema, response=WeekSeenSchema, errors=(403, 404, 429))
async def mark_week_seen(request: web.Request) -> web.Response:
    data = await load_json(request, WeekSchema())
    found = await diary_seen.mark_week_seen(ctx_of(request), principal(request), data["child_id"],
                                            data["week_start"])
    return json_response(WeekSeenSchema().dump(found))


@doc("Whether you marked a week of your child's diary as seen (parents)", tags=TAGS, query=WeekSchema,
     response=WeekSeenSchema, errors=(403, 404))
async def week_seen(request: web.Request) -> web.Response:
    query = load_query(request, WeekSchema())
    found = await diary_seen.week_seen(ctx_of(request), principal(request), query["child_id"], query["week_start"])
    return json_response(WeekSeenSchema().dump(found))


@doc("Who of a class's parents opens the diary: each parent's last opening per child, the last week they marked "
     "seen, and whether they have not opened it for `days` days (the class teacher, the school's admins)",
     tags=TAGS, query=ActivityQuerySchema, response=ActivitySchema, errors=(403, 404))
async def class_activity(request: web.Request) -> web.Response:
    query = load_query(request, ActivityQuerySchema())
    found = await diary_seen.class_activity(ctx_of(request), principal(request), path_int(request, "class_id"),
                                            query["days"])
    return json_response(ActivitySchema().dump(found))


def setup(app: web.Application) -> None:
    r = app.router
    r.add_post("/api/v1/diary/seen-weeks", mark_week_seen)
    r.add_get("/api/v1/diary/seen-weeks", week_seen)
    r.add_get("/api/v1/classes/{class_id}/diary-activity", class_activity)
