"""Handlers: a person's grammatical gender (how messages about them agree: "опоздал" / "опоздала")."""

from __future__ import annotations

from aiohttp import web
from marshmallow import fields, validate

from edutrack.api.http import ctx_of, json_response, load_json, path_int, principal
from edutrack.api.openapi import doc
from edutrack.api.schemas import StrictSchema
from edutrack.i18n import GENDERS
from edutrack.services import people

TAGS = ("users",)


class GenderSchema(StrictSchema):
    gender = fields.String(required=True, allow_none=True, validate=validate.OneOf(GENDERS),
                           metadata={"description": "male, female, or null to infer it from the name"})


class GenderViewSchema(StrictSchema):
    user_id = fields.Integer()
    gender = fields.String(allow_none=True, metadata={"description": "as set; null when not set"})
    grammatical_gender = fields.String(allow_none=True, metadata={
        "description": "what messages use: the set gender, else the one inferred from the patronymic, first name "
                       "and surname; null when the name does not tell"})


@doc("Set a person's grammatical gender (the person, or an administrator of their school)", tags=TAGS,
     body=GenderSchema, response=GenderViewSchema, errors=(401, 404, 422, 429))
async def set_gender(request: web.Request) -> web.Response:
    who = principal(request)
    user_id = path_int(request, "user_id")
    data = await load_json(request, GenderSchema())
    return json_response(await people.set_gender(ctx_of(request), who, user_id, data["gender"]))


def setup(app: web.Application) -> None:
    app.router.add_put("/api/v1/users/{user_id}/gender", set_gender)
