"""Handlers: term-mark proposals, confirmation/override, and the class term sheet."""

from __future__ import annotations

import marshmallow as ma
from aiohttp import web
from marshmallow import fields, validate

from edutrack.api.http import ctx_of, json_body_response, json_response, load_json, load_query, path_int, principal
from edutrack.api.openapi import doc
from edutrack.api.schemas import StrictSchema
from edutrack.services.diary import attestations

TAGS = ("attestations",)
ID = validate.Range(min=1, max=2**63 - 1)
FINAL = validate.OneOf(list(attestations.MARK_CHOICES))


class ProposalQuerySchema(StrictSchema):
    student_id = fields.Integer(required=True, validate=ID)
    subject_id = fields.Integer(required=True, validate=ID)
    term_id = fields.Integer(required=True, validate=ID)


class AttestationSchema(ma.Schema):
    id = fields.Integer()
    student_id = fields.Integer()
    subject_id = fields.Integer()
    term_id = fields.Integer()
    proposed = fields.String(metadata={"description": "1..5 or na (не аттестован)"})
    final = fields.String()
    is_override = fields.Boolean()
    average = fields.Float(allow_none=True)
    comment = fields.String(allow_none=True)
    confirmed_by = fields.Integer()
    confirmed_at = fields.DateTime()


class ProposalSchema(ma.Schema):
    student_id = fields.Integer()
    subject_id = fields.Integer()
    term_id = fields.Integer()
    average = fields.Float(allow_none=True, metadata={"description": "weighted average over numeric grades"})
    plain_average = fields.Float(allow_none=True)
    numeric_count = fields.Integer()
    marks_count = fields.Integer()
    proposed = fields.String()
    attestation = fields.Nested(AttestationSchema, allow_none=True)


class SetAttestationSchema(StrictSchema):
    student_id = fields.Integer(required=True, strict=True, validate=ID)
    subject_id = fields.Integer(required=True, strict=True, validate=ID)
    term_id = fields.Integer(required=True, strict=True, validate=ID)
    class_id = fields.Integer(strict=True, validate=ID)
    final = fields.String(allow_none=True, validate=FINAL,
                          metadata={"description": "leave out to confirm the proposal; a different mark overrides"})
    comment = fields.String(allow_none=True, validate=validate.Length(max=500),
                            metadata={"description": "required for an override: the reason"})


class SheetQuerySchema(StrictSchema):
    term_id = fields.Integer(required=True, validate=ID)


class SheetCellSchema(ma.Schema):
    subject_id = fields.Integer()
    average = fields.Float(allow_none=True)
    numeric_count = fields.Integer()
    marks_count = fields.Integer()
    proposed = fields.String()
    final = fields.String(allow_none=True)
    is_override = fields.Boolean()


class SheetRowSchema(ma.Schema):
    student_id = fields.Integer()
    name = fields.String()
    cells = fields.List(fields.Nested(SheetCellSchema))


class NamedSchema(ma.Schema):
    id = fields.Integer()
    name = fields.String()


class PolicySchema(ma.Schema):
    min_marks = fields.Integer()
    rounding_threshold = fields.Float()


class TermSheetSchema(ma.Schema):
    class_id = fields.Integer()
    class_name = fields.String()
    term_id = fields.Integer()
    from_ = fields.Date(data_key="from")
    to = fields.Date()
    subjects = fields.List(fields.Nested(NamedSchema))
    students = fields.List(fields.Nested(SheetRowSchema))
    policy = fields.Nested(PolicySchema)


@doc("The proposed term mark of a student in a subject (and the confirmed one, if any)", tags=TAGS,
     query=ProposalQuerySchema, response=ProposalSchema, errors=(404, 422),
     description="Weighted average Σ(value×weight)/Σ(weight) over numeric grades of the term, rounded up when its "
                 "fractional part reaches the school's threshold; `na` with fewer numeric grades than the school's "
                 "minimum.")
async def proposal(request: web.Request) -> web.Response:
    query = load_query(request, ProposalQuerySchema())
    data = await attestations.get_proposal(ctx_of(request), principal(request), query["student_id"],
                                           query["subject_id"], query["term_id"])
    return json_response(ProposalSchema().dump(data))


@doc("Confirm or override a term mark (the teacher of the class and subject, or an admin)", tags=TAGS,
     body=SetAttestationSchema, response=AttestationSchema, errors=(403, 404, 422),
     description="Without `final` the proposal is confirmed. A `final` other than the proposal is an override: it "
                 "needs a `comment` and is written to the audit trail with the reason.")
async def set_attestation(request: web.Request) -> web.Response:
    data = await load_json(request, SetAttestationSchema())
    view = await attestations.set_attestation(ctx_of(request), principal(request), data)
    return json_response(AttestationSchema().dump(view))


_sheet_query = SheetQuerySchema()  # built once: hot path


@doc("Class term sheet: every student × subject with average, proposal and final mark", tags=TAGS,
     query=SheetQuerySchema, response=TermSheetSchema, errors=(403, 404, 422),
     description="Admins and the class teacher see every subject; a subject teacher sees their subjects. "
                 "A constant number of queries whatever the class size.")
async def term_sheet(request: web.Request) -> web.Response:
    query = load_query(request, _sheet_query)
    body = await attestations.term_sheet_body(ctx_of(request), principal(request), path_int(request, "class_id"),
                                              query["term_id"])
    return json_body_response(body)  # encoded in TermSheetSchema's shape: no per-cell marshmallow dump


def setup(app: web.Application) -> None:
    app.router.add_get("/api/v1/attestations/proposal", proposal)
    app.router.add_put("/api/v1/attestations", set_attestation)
    app.router.add_get("/api/v1/classes/{class_id}/term-sheet", term_sheet)
