"""Files in and out of the API: uploads read as a stream up to a limit, downloads named in Russian (RFC 6266)."""

from __future__ import annotations

import tempfile
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import IO

from aiohttp import BodyPartReader, web

from edutrack import errors
from edutrack.i18n import _

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF = "application/pdf"
CSV = "text/csv; charset=utf-8"
CHUNK = 64 * 1024
SPOOL = 2 * 1024 * 1024  # smaller uploads stay in memory


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback name and the real one as `filename*` (RFC 6266, RFC 5987): every
    browser of the last decade shows "Журнал 5А.xlsx", older ones a plain name."""
    fallback = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{urllib.parse.quote(filename, safe='')}"


def download(body: bytes, filename: str, content_type: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=body, headers={"Content-Type": content_type,
                                            "Content-Disposition": content_disposition(filename), **(headers or {})})


def _too_large(limit: int) -> errors.ApiError:
    return errors.PayloadTooLarge(_("The file is larger than %(limit)s bytes.", limit=limit))


async def read_upload(request: web.Request, limit: int) -> IO[bytes]:
    """The uploaded file: the body itself, or the part named `file` of a multipart/form-data body. Read in chunks
    into a temporary file that stays in memory while small; more than `limit` bytes is a 413 as soon as they
    arrive (a declared Content-Length above it, before anything is read)."""
    if request.content_length is not None and request.content_length > limit + (64 * 1024 if request.content_type
                                                                                  == "multipart/form-data" else 0):
        raise _too_large(limit)
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL)  # noqa: SIM115 - handed to the caller, who closes it
    try:
        if request.content_type == "multipart/form-data":
            reader = await request.multipart()
            while True:
                part = await reader.next()
                if part is None:
                    raise errors.ValidationFailed(_("Send the file as the form field \u00abfile\u00bb"),
                                                  details={"file": [_("Required.")]})
                if isinstance(part, BodyPartReader) and part.name == "file":
                    await _copy(part.read_chunk, spool, limit)
                    break
        else:
            await _copy(lambda: request.content.read(CHUNK), spool, limit)
    except BaseException:
        spool.close()
        raise
    if spool.tell() == 0:
        spool.close()
        raise errors.ValidationFailed(_("The file is empty"), details={"file": [_("Required.")]})
    spool.seek(0)
    return spool


async def _copy(read: Callable[[], Awaitable[bytes]], into: IO[bytes], limit: int) -> None:
    size = 0
    while True:
        chunk = await read()
        if not chunk:
            return
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        into.write(chunk)


async def stream(request: web.Request, file: IO[bytes], filename: str, content_type: str) -> web.StreamResponse:
    """Send a file in chunks (closing it), so a large export is never one bytes object in memory."""
    with file:
        file.seek(0, 2)
        size = file.tell()
        file.seek(0)
        response = web.StreamResponse(headers={"Content-Type": content_type, "Content-Length": str(size),
                                               "Content-Disposition": content_disposition(filename)})
        await response.prepare(request)
        while chunk := file.read(CHUNK):
            await response.write(chunk)
    await response.write_eof()
    return response
