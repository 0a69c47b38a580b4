"""Handlers of the onboarding import: upload a file (dry run or for real) and download the blank templates."""

from __future__ import annotations

from aiohttp import web
from marshmallow import fields, validate

from edutrack import errors
from edutrack.api import files
from edutrack.api.http import ctx_of, json_response, load_query, principal
from edutrack.api.openapi import doc
from edutrack.api.schemas import StrictSchema
from edutrack.i18n import _
from edutrack.services.imports import templates
from edutrack.services.imports.formats import KINDS, KINDS_BY_KEY
from edutrack.services.imports.service import ImportRequest, run_import

TAGS = ("imports",)
KIND_KEYS = [k.key for k in KINDS]


def _id() -> fields.Integer:
    return fields.Integer(validate=validate.Range(min=1, max=2**63 - 1))


class ImportQuerySchema(StrictSchema):
    dry_run = fields.Boolean(load_default=True)
    kind = fields.String(validate=validate.OneOf(KIND_KEYS))
    year_id = _id()
    school_id = _id()


class TemplateQuerySchema(StrictSchema):
    format = fields.String(load_default="xlsx", validate=validate.OneOf(["xlsx", "csv"]))
    kind = fields.String(validate=validate.OneOf(KIND_KEYS))


class ProblemSchema(StrictSchema):
    sheet = fields.String()
    row = fields.Integer()
    column = fields.String(allow_none=True)
    cell = fields.String(allow_none=True)
    message = fields.String()


class CountsSchema(StrictSchema):
    created = fields.Integer()
    updated = fields.Integer()
    unchanged = fields.Integer()
    deleted = fields.Integer()


class ImportSheetSchema(StrictSchema):
    name = fields.String()
    kind = fields.String()
    rows = fields.Integer()


class YearRefSchema(StrictSchema):
    id = fields.Integer()
    name = fields.String()


class ImportReportSchema(StrictSchema):
    import_id = fields.String()
    dry_run = fields.Boolean()
    ok = fields.Boolean()
    format = fields.String(metadata={"enum": ["xlsx", "csv"]})
    academic_year = fields.Nested(YearRefSchema, allow_none=True)
    sheets = fields.List(fields.Nested(ImportSheetSchema))
    ignored_sheets = fields.List(fields.String())
    problems = fields.List(fields.Nested(ProblemSchema))
    summary = fields.Dict(keys=fields.String(), values=fields.Nested(CountsSchema))
    lessons_kept = fields.Integer()
    invitations = fields.Integer()


@doc("Import students, parents, teachers, classes, subjects, teaching load and the timetable from an XLSX "
     "workbook or a CSV file (admins of the school)", tags=TAGS, query=ImportQuerySchema,
     response=ImportReportSchema, errors=(403, 404, 409, 413, 415, 429),
     description="The body is the file itself, or a multipart/form-data form with the file in the field `file`; "
                 "its type is told by its content (XLSX, or CSV in UTF-8 with `;` or `,`). `dry_run=true` (the "
                 "default) writes nothing and lists every problem by sheet, row and column; `dry_run=false` writes "
                 "everything in one transaction, or answers 422 `import_invalid` with the same report and writes "
                 "nothing. New people get an invitation email to set their password. Progress: `import.progress` "
                 "frames on the socket's `user:{id}` channel (docs/websocket.md). Formats: docs/import.md.")
async def import_file(request: web.Request) -> web.Response:
    ctx, who = ctx_of(request), principal(request)
    params = load_query(request, ImportQuerySchema())
    if not who.is_admin:
        raise errors.Forbidden(_("Only the school's administrators can import"))
    count, ttl = await ctx.limiter.hit(f"import:user:{who.user_id}", 3600)
    if count > ctx.settings.import_max_per_hour:
        raise errors.TooManyRequests(ttl, _("Too many uploads; try again later."))
    with await files.read_upload(request, ctx.settings.import_max_bytes) as file:
        report = await run_import(ctx, who, file, ImportRequest(
            dry_run=params["dry_run"], kind=params.get("kind"), year_id=params.get("year_id"),
            school_id=params.get("school_id")))
    return json_response(report)


@doc("A blank import template: the XLSX workbook with every sheet and the instructions, or the CSV file of one "
     "kind (`kind` required)", tags=TAGS, query=TemplateQuerySchema, errors=(403,),
     extra_responses={200: "The template (XLSX or CSV)"})
async def import_template(request: web.Request) -> web.Response:
    who = principal(request)
    params = load_query(request, TemplateQuerySchema())
    if not who.is_admin:
        raise errors.Forbidden(_("Only the school's administrators can import"))
    if params["format"] == "xlsx":
        return files.download(templates.xlsx_template(), _("Import template.xlsx"), files.XLSX)
    if "kind" not in params:
        raise errors.ValidationFailed(_("Say which template: kind"), details={"kind": [_("Required.")]})
    kind = KINDS_BY_KEY[params["kind"]]
    return files.download(templates.csv_template(kind), _("%(kind)s.csv", kind=_(kind.title)), files.CSV)


def setup(app: web.Application) -> None:
    app.router.add_post("/api/v1/imports", import_file)
    app.router.add_get("/api/v1/imports/template", import_template)
