"""Handlers of the exports: the class journal and the term sheet as XLSX, a student's report card as PDF.

Each is authorized exactly as the read it exports, and named in Russian (`Content-Disposition` with `filename*`).
"""

from __future__ import annotations

from aiohttp import web
from marshmallow import fields, validate

from edutrack import errors
from edutrack.api import files
from edutrack.api.http import ctx_of, load_query, path_int, principal
from edutrack.api.openapi import doc
from edutrack.api.schemas import StrictSchema
from edutrack.i18n import _
from edutrack.services.exports import journal, report_card

TAGS = ("exports",)

def _id(**kw: object) -> fields.Integer:
    return fields.Integer(validate=validate.Range(min=1, max=2**63 - 1), **kw)  # type: ignore[arg-type]


class JournalQuerySchema(StrictSchema):
    subject_id = _id(required=True)
    term_id = _id(required=True)


class TermQuerySchema(StrictSchema):
    term_id = _id(required=True)


async def _admit(request: web.Request) -> None:
    """Exports read much and build a file: a few a minute per person is what anyone needs."""
    ctx, who = ctx_of(request), principal(request)
    count, ttl = await ctx.limiter.hit(f"export:user:{who.user_id}", 60)
    if count > ctx.settings.export_max_per_minute:
        raise errors.TooManyRequests(ttl, _("Too many exports; try again in a minute."))


@doc("The class journal of one subject and term as XLSX: lesson days across, attendance and grades, the average, "
     "absences and the term mark; a second sheet with topics and homework (who may read the class term sheet)",
     tags=TAGS, query=JournalQuerySchema, errors=(403, 404, 429), extra_responses={200: "The workbook (XLSX)"})
async def class_journal_xlsx(request: web.Request) -> web.StreamResponse:
    params = load_query(request, JournalQuerySchema())
    await _admit(request)
    export = await journal.class_journal(ctx_of(request), principal(request), path_int(request, "class_id"),
                                         params["subject_id"], params["term_id"])
    return await files.stream(request, export.file, export.filename, files.XLSX)


@doc("The class term sheet as XLSX: every student × subject with the average, the proposal and the final mark "
     "(who may read the term sheet)", tags=TAGS, query=TermQuerySchema, errors=(403, 404, 429),
     extra_responses={200: "The workbook (XLSX)"})
async def term_sheet_xlsx(request: web.Request) -> web.StreamResponse:
    params = load_query(request, TermQuerySchema())
    await _admit(request)
    export = await journal.term_sheet(ctx_of(request), principal(request), path_int(request, "class_id"),
                                      params["term_id"])
    return await files.stream(request, export.file, export.filename, files.XLSX)


@doc("A student's report card for a term as PDF: per subject the weighted average, the term mark and the "
     "absences (who may read the student's grades; a teacher gets the subjects they teach)", tags=TAGS,
     query=TermQuerySchema, errors=(404, 429), extra_responses={200: "The report card (PDF)"})
async def report_card_pdf(request: web.Request) -> web.StreamResponse:
    params = load_query(request, TermQuerySchema())
    await _admit(request)
    export = await report_card.report_card(ctx_of(request), principal(request), path_int(request, "student_id"),
                                           params["term_id"])
    return await files.stream(request, export.file, export.filename, files.PDF)


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/v1/classes/{class_id}/journal.xlsx", class_journal_xlsx)
    r.add_get("/api/v1/classes/{class_id}/term-sheet.xlsx", term_sheet_xlsx)
    r.add_get("/api/v1/students/{student_id}/report-card.pdf", report_card_pdf)
