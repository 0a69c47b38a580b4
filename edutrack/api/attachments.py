"""Handlers of attachments: upload (streamed into PostgreSQL), download (streamed out, in a sandbox), and the
files of news items and lessons. Chat messages take attachments in their send (api/chats.py, `chat.send`)."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import AsyncIterator

import marshmallow as ma
from aiohttp import BodyPartReader, web
from marshmallow import fields, validate

from edutrack import errors
from edutrack.api.files import content_disposition
from edutrack.api.http import ctx_of, json_response, load_json, load_query, path_int, principal
from edutrack.api.openapi import doc
from edutrack.api.schemas import StrictSchema
from edutrack.i18n import _
from edutrack.services.files import attach, store

TAGS = ("files",)
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
READ = 64 * 1024
# What an uploaded file may do when opened from our origin: nothing (no script, no form, no plugin, its own
# opaque origin), and the browser must not guess another type than the one told by the content.
SANDBOX = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"


class UploadQuerySchema(StrictSchema):
    name = fields.String(validate=validate.Length(min=1, max=255),
                         metadata={"description": "The file's name when the body is the file itself"})


class FileSchema(ma.Schema):
    id = fields.Integer()
    name = fields.String(metadata={"description": "Cleaned; its extension follows the content's type"})
    type = fields.String(metadata={"description": "Told by the content, not by the name"})
    size = fields.Integer()
    has_thumbnail = fields.Boolean()


class FileListSchema(ma.Schema):
    items = fields.List(fields.Nested(FileSchema))


class AttachSchema(StrictSchema):
    file_ids = fields.List(fields.Integer(validate=validate.Range(min=1, max=2**63 - 1)), required=True,
                           validate=validate.Length(min=1, max=store.MAX_ATTACHMENTS))


async def _body(request: web.Request) -> tuple[str | None, AsyncIterator[bytes]]:
    """The uploaded bytes as they arrive: the body itself, or the form field `file` of a multipart body."""
    if request.content_type == "multipart/form-data":
        reader = await request.multipart()
        while True:
            part = await reader.next()
            if part is None:
                raise errors.ValidationFailed(_("Send the file as the form field \u00abfile\u00bb"),
                                              details={"file": [_("Required.")]})
            if isinstance(part, BodyPartReader) and part.name == "file":
                # Some clients (aiohttp's among them) percent-encode a non-ASCII name; browsers send it as UTF-8.
                return urllib.parse.unquote(part.filename or ""), _chunks(part)

    async def raw() -> AsyncIterator[bytes]:
        async for data in request.content.iter_chunked(READ):
            yield data

    return request.query.get("name"), raw()


async def _chunks(part: BodyPartReader) -> AsyncIterator[bytes]:
    while data := await part.read_chunk(READ):
        yield data


@doc("Upload a file to attach to a chat message, a news item, a lesson's homework, a hand-in or an absence note",
     tags=TAGS,
     query=UploadQuerySchema, response=FileSchema, status=201, errors=(413, 415, 422, 429),
     description="The body is the file itself (its name in `name`), or a multipart/form-data form with the file in "
                 "the field `file`. It is stored as it streams in; its type is told by its content and must be an "
                 "image (JPEG, PNG, WebP, GIF: a thumbnail is made), PDF, DOCX, XLSX, PPTX, ODT or UTF-8 text "
                 "(415 `file_type_not_allowed`). Larger than FILE_MAX_BYTES: 413 `payload_too_large`; beyond the "
                 "school's FILE_SCHOOL_QUOTA_BYTES: 413 `school_quota_exceeded`. Until attached, only you can "
                 "download it. docs/files.md.")
async def upload_file(request: web.Request) -> web.Response:
    ctx, who = ctx_of(request), principal(request)
    params = load_query(request, UploadQuerySchema())
    count, ttl = await ctx.limiter.hit(f"files:user:{who.user_id}", 3600)
    if count > ctx.settings.file_uploads_per_hour:
        raise errors.TooManyRequests(ttl, _("Too many uploads; try again later."))
    await store.check_quota(ctx, who, request.content_length)
    name, stream = await _body(request)
    view = await store.upload(ctx, who, name or params.get("name"), stream)
    return json_response(FileSchema().dump(view), status=201)


async def _send(request: web.Request, download: store.Download) -> web.StreamResponse:
    ctx = ctx_of(request)
    etag = f'"{download.sha256}"'
    headers = {"Content-Type": download.content_type, "Content-Length": str(download.size),
               "Content-Disposition": content_disposition(download.name), "X-Content-Type-Options": "nosniff",
               "Content-Security-Policy": SANDBOX, "Cache-Control": "private, no-cache", "ETag": etag,
               "Cross-Origin-Resource-Policy": "same-origin", "X-Frame-Options": "DENY", "Accept-Ranges": "bytes"}
    if etag in request.headers.get("If-None-Match", ""):
        del headers["Content-Length"]
        return web.Response(status=304, headers=headers)
    first, last = 0, download.size - 1
    status = 200
    wanted = _range(request.headers.get("Range"), download.size)
    if wanted is not None:  # files never change, so a range of one is always a range of the same bytes
        if wanted == (-1, -1):
            return web.Response(status=416, headers={**headers, "Content-Range": f"bytes */{download.size}",
                                                     "Content-Length": "0"})
        first, last = wanted
        status = 206
        headers.update({"Content-Range": f"bytes {first}-{last}/{download.size}",
                        "Content-Length": str(last - first + 1)})
    response = web.StreamResponse(status=status, headers=headers)
    await response.prepare(request)
    async for data in store.read_chunks(ctx, download, first, last):
        await response.write(data)
    await response.write_eof()
    return response


def _range(header: str | None, size: int) -> tuple[int, int] | None:
    """One `bytes=first-last` (or `first-`, or `-suffix`) range as (first, last); (-1, -1) when it cannot be
    satisfied; None without one, or for several ranges (answered with the whole file, as RFC 9110 allows)."""
    match = _RANGE.fullmatch(header.strip()) if header else None
    if match is None:
        return None
    start, end = match.groups()
    if not start:
        if not end or int(end) == 0:
            return (-1, -1)
        return max(size - int(end), 0), size - 1
    first = int(start)
    last = min(int(end), size - 1) if end else size - 1
    return (first, last) if first <= last else (-1, -1)


@doc("Download a file: its uploader before it is attached, then whoever can read its message, news item, "
     "lesson, hand-in or absence note (others: 404)", tags=TAGS, errors=(404,),
     extra_responses={200: "The file", 206: "The requested range (Range: bytes=...)", 304: "Not modified (ETag)",
                      416: "The range is beyond the file"})
async def download_file(request: web.Request) -> web.StreamResponse:
    found = await store.open_download(ctx_of(request), principal(request), path_int(request, "file_id"))
    return await _send(request, found)


@doc("An image's thumbnail (JPEG, at most 320x320, without the original's metadata)", tags=TAGS, errors=(404,),
     extra_responses={200: "The thumbnail (image/jpeg)", 304: "Not modified (ETag)"})
async def download_thumbnail(request: web.Request) -> web.StreamResponse:
    found = await store.open_download(ctx_of(request), principal(request), path_int(request, "file_id"),
                                      thumbnail=True)
    return await _send(request, found)


@doc("Files attached to a news item (if addressed to you)", tags=TAGS, response=FileListSchema, errors=(404,))
async def news_files(request: web.Request) -> web.Response:
    items = await attach.news_files(ctx_of(request), principal(request), path_int(request, "news_id"))
    return json_response(FileListSchema().dump({"items": items}))


@doc("Attach your uploaded files to a news item (the school's administrators)", tags=TAGS, body=AttachSchema,
     response=FileListSchema, errors=(403, 404, 409))
async def attach_news_files(request: web.Request) -> web.Response:
    data = await load_json(request, AttachSchema())
    items = await attach.attach_to_news(ctx_of(request), principal(request), path_int(request, "news_id"),
                                        data["file_ids"])
    return json_response(FileListSchema().dump({"items": items}))


@doc("Files of a lesson's homework (if you can see the lesson)", tags=TAGS, response=FileListSchema, errors=(404,))
async def lesson_files(request: web.Request) -> web.Response:
    items = await attach.lesson_files(ctx_of(request), principal(request), path_int(request, "lesson_id"))
    return json_response(FileListSchema().dump({"items": items}))


@doc("Attach your uploaded files to a lesson's homework (its teachers, the school's administrators)", tags=TAGS,
     body=AttachSchema, response=FileListSchema, errors=(403, 404, 409))
async def attach_lesson_files(request: web.Request) -> web.Response:
    data = await load_json(request, AttachSchema())
    items = await attach.attach_to_lesson(ctx_of(request), principal(request), path_int(request, "lesson_id"),
                                          data["file_ids"])
    return json_response(FileListSchema().dump({"items": items}))


def setup(app: web.Application) -> None:
    r = app.router
    r.add_post("/api/v1/files", upload_file)
    r.add_get("/api/v1/files/{file_id}", download_file)
    r.add_get("/api/v1/files/{file_id}/thumbnail", download_thumbnail)
    r.add_get("/api/v1/news/{news_id}/attachments", news_files)
    r.add_post("/api/v1/news/{news_id}/attachments", attach_news_files)
    r.add_get("/api/v1/lessons/{lesson_id}/attachments", lesson_files)
    r.add_post("/api/v1/lessons/{lesson_id}/attachments", attach_lesson_files)
