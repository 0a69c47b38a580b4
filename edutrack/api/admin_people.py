"""Handlers of a school's people for its administrators: the directory, invitations, the link that sets a
person's password, and moving a student to another class."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from aiohttp import web
from marshmallow import fields, validate

from edutrack.api.http import ctx_of, json_response, load_json, load_query, path_int, principal
from edutrack.api.openapi import doc
from edutrack.api.schemas import ROLES, PageQuerySchema, StrictSchema, not_blank
from edutrack.i18n import GENDERS
from edutrack.services import directory, invitations
from edutrack.services.diary import enrolment

TAGS = ("users",)


def _id(**kw: Any) -> fields.Integer:
    return fields.Integer(validate=validate.Range(min=1, max=2**63 - 1), **kw)


class PersonRefSchema(ma.Schema):
    id = fields.Integer()
    name = fields.String(metadata={"description": "as in a list: surname, first name"})


class PersonSchema(ma.Schema):
    id = fields.Integer()
    email = fields.String()
    role = fields.String()
    is_active = fields.Boolean()
    is_superuser = fields.Boolean()
    school_id = fields.Integer(allow_none=True)
    name = fields.String(metadata={"description": "as in a list: surname, first name"})
    full_name = fields.String(metadata={"description": "surname, first name, patronymic"})
    gender = fields.String(allow_none=True, metadata={
        "description": "grammatical gender for sentences about the person (set, else inferred from the name)"})
    classes = fields.List(fields.Nested(PersonRefSchema),
                          metadata={"description": "classes a student is in or a teacher leads as class teacher"})
    children = fields.List(fields.Nested(PersonRefSchema), metadata={"description": "a parent's linked children"})
    parents = fields.List(fields.Nested(PersonRefSchema), metadata={"description": "a student's linked parents"})
    invited_until = fields.String(allow_none=True, metadata={
        "description": "invited and no password set yet: when the newest invitation link expires; else null"})


PersonPageSchema = ma.Schema.from_dict({
    "items": fields.List(fields.Nested(PersonSchema)), "total": fields.Integer(), "limit": fields.Integer(),
    "offset": fields.Integer()}, name="PersonPageSchema")


class PeopleQuerySchema(PageQuerySchema):
    school_id = _id(metadata={"description": "superusers: one school (default: all)"})
    role = fields.String(validate=validate.OneOf(ROLES))
    class_id = _id(metadata={"description": "the class's students, their parents, its teachers, its class teacher"})
    q = fields.String(validate=validate.Length(min=1, max=100),
                      metadata={"description": "words that each match the email or a part of the name"})
    active = fields.Boolean()


class InvitationSchema(StrictSchema):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    first_name = fields.String(required=True, validate=[validate.Length(min=1, max=100), not_blank])
    last_name = fields.String(required=True, validate=[validate.Length(min=1, max=100), not_blank])
    middle_name = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))
    birthday = fields.Date(load_default=None, allow_none=True)
    gender = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(GENDERS))
    school_id = _id(load_default=None, allow_none=True, metadata={"description": "superusers: required"})


class LinkSentSchema(ma.Schema):
    status = fields.String()
    kind = fields.String(metadata={"description": "invitation (no password set yet) or password_reset"})


class TransferSchema(StrictSchema):
    from_class_id = _id(required=True)
    to_class_id = _id(required=True)


class TransferResultSchema(ma.Schema):
    student_id = fields.Integer()
    from_class_id = fields.Integer()
    to_class_id = fields.Integer()


@doc("A school's people for its administrators (superusers: any school), sorted by surname, with their classes, "
     "children or parents and waiting invitations", tags=TAGS, query=PeopleQuerySchema, response=PersonPageSchema,
     errors=(403, 404))
async def list_people(request: web.Request) -> web.Response:
    p = load_query(request, PeopleQuerySchema())
    return json_response(await directory.list_people(
        ctx_of(request), principal(request), school_id=p.get("school_id"), role=p.get("role"),
        class_id=p.get("class_id"), q_text=p.get("q"), active=p.get("active"), limit=p["limit"],
        offset=p["offset"]))


@doc("Add a person by invitation (admins: teachers, students, parents of their school; superusers: anyone, "
     "administrators too). Nobody types a password: the person gets an email with a link (and a code) that sets "
     "it, valid INVITATION_TTL seconds", tags=TAGS, body=InvitationSchema, response=PersonSchema, status=201,
     errors=(403, 404, 409, 429, 503))
async def invite(request: web.Request) -> web.Response:
    data = await load_json(request, InvitationSchema())
    person = await invitations.invite(ctx_of(request), principal(request), invitations.Invitee(**data))
    return json_response(person, status=201)


@doc("Email a person of your school the link that sets their password: the invitation again while it is waiting, "
     "else a password reset (admins; at most 3 an hour per person)", tags=TAGS, response=LinkSentSchema,
     status=202, errors=(403, 404, 409, 429))
async def send_link(request: web.Request) -> web.Response:
    result = await invitations.send_link(ctx_of(request), principal(request), path_int(request, "user_id"))
    return json_response(result, status=202)


@doc("Move a student from one class to another of the same school, in one step (admins)", tags=("classes",),
     body=TransferSchema, response=TransferResultSchema, errors=(403, 404, 422))
async def transfer(request: web.Request) -> web.Response:
    data = await load_json(request, TransferSchema())
    return json_response(await enrolment.transfer(ctx_of(request), principal(request),
                                                  path_int(request, "student_id"), data["from_class_id"],
                                                  data["to_class_id"]))


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/v1/admin/people", list_people)
    r.add_post("/api/v1/invitations", invite)
    r.add_post("/api/v1/users/{user_id}/password-reset", send_link)
    r.add_post("/api/v1/students/{student_id}/transfer", transfer)
