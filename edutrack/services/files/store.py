"""Upload, download and attach files kept as PostgreSQL chunks.

An upload is one transaction: the file row, then each CHUNK_BYTES of the stream as a chunk row as soon as it has
arrived (never the whole file in memory), the type told by the content as it streams (services/files/sniff.py),
the thumbnail of an image, and the school's quota checked under a per-school lock at the end. Any refusal (too
large, over quota, wrong type, a broken connection) rolls the transaction back: nothing is left half-written.
A download reads one chunk per short query, so a slow reader holds no connection or transaction.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import os
import tempfile
import unicodedata
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import IO, Any

from sqlalchemy.ext.asyncio import AsyncSession

from edutrack import errors
from edutrack.context import AppContext
from edutrack.db.files import CHUNK_BYTES, StoredFile
from edutrack.i18n import _
from edutrack.queries import chat as chat_q
from edutrack.queries import files as q
from edutrack.queries import handin as handin_q
from edutrack.queries import news as news_q
from edutrack.security.tokens import Principal
from edutrack.services import chat_channels
from edutrack.services.diary import permissions
from edutrack.services.diary.absence_access import may_read_note
from edutrack.services.diary.lessons import visible_lesson
from edutrack.services.files import sniff
from edutrack.services.files.thumbnails import THUMB_TYPE, make_thumbnail
from edutrack.uow import unit_of_work

MAX_ATTACHMENTS = 10
FRAMING = 64 * 1024
SPOOL = 1024 * 1024  # an image being uploaded stays in memory up to this, then goes to a temporary file
_EXTENSIONS = {sniff.JPEG: (".jpg", ".jpeg"), sniff.PNG: (".png",), sniff.GIF: (".gif",), sniff.WEBP: (".webp",),
               sniff.PDF: (".pdf",), sniff.DOCX: (".docx",), sniff.XLSX: (".xlsx",), sniff.PPTX: (".pptx",),
               sniff.ODT: (".odt",), sniff.TEXT: (".txt", ".csv", ".md", ".log")}


@dataclass(frozen=True, slots=True)
class Download:
    id: int
    name: str
    content_type: str
    size: int
    sha256: str | None

    @property
    def chunks(self) -> int:
        return math.ceil(self.size / CHUNK_BYTES)


def file_view(row: StoredFile) -> dict[str, Any]:
    """A file as clients see it, and as a chat message carries it."""
    return {"id": row.id, "name": row.name, "type": row.content_type, "size": row.size,
            "has_thumbnail": row.thumbnail_id is not None}


def clean_name(raw: str | None, content_type: str) -> str:
    """The name to show: no path, no control characters, at most 255 characters, and an extension that says
    what the content is (a "photo.exe" that is a JPEG is "photo.exe.jpg")."""
    name = os.path.basename((raw or "").replace("\\", "/"))
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip(" .") or _("file")
    extensions = _EXTENSIONS[content_type]
    if not name.lower().endswith(extensions):
        name += extensions[0]
    stem, ext = name[:-len(name.rsplit(".", 1)[1]) - 1], "." + name.rsplit(".", 1)[1]
    return stem[:255 - len(ext)] + ext


def _quota_error(quota: int) -> errors.ApiError:
    return errors.PayloadTooLarge(
        _("The school's storage for files is full (%(limit)s bytes); delete old files or ask the administrator.",
          limit=quota), code="school_quota_exceeded")


def _too_large(limit: int) -> errors.ApiError:
    return errors.PayloadTooLarge(_("The file is larger than %(limit)s bytes.", limit=limit))


async def check_quota(ctx: AppContext, who: Principal, declared: int | None) -> None:
    """Refuse before reading a body that cannot fit: larger than a file may be, or than the school has left."""
    # A declared length may include a multipart form's framing around the file: up to FRAMING more is let through
    # here, and the exact size is held to the limits as the bytes arrive.
    body = None if declared is None else max(declared - FRAMING, 0)
    if body is not None and body > ctx.settings.file_max_bytes:
        raise _too_large(ctx.settings.file_max_bytes)
    if who.school_id is not None:
        async with ctx.reads() as session:
            used = await q.school_usage(session, who.school_id)
        if used + (body or 1) > ctx.settings.file_school_quota_bytes:
            raise _quota_error(ctx.settings.file_school_quota_bytes)


async def upload(ctx: AppContext, who: Principal, name: str | None, stream: AsyncIterator[bytes]) -> dict[str, Any]:
    limit, quota = ctx.settings.file_max_bytes, ctx.settings.file_school_quota_bytes
    sniffer, digest = sniff.Sniffer(), hashlib.sha256()
    image: IO[bytes] | None = None
    try:
        async with unit_of_work(ctx) as uow:
            session = uow.session
            row = await q.insert_file(session, owner_id=who.user_id, school_id=who.school_id, name="",
                                      content_type="application/octet-stream")
            size, n, pending = 0, 0, bytearray()
            async for data in stream:
                size += len(data)
                if size > limit:
                    raise _too_large(limit)
                sniffer.feed(data)
                digest.update(data)
                if sniffer.kind in sniff.IMAGES:
                    if image is None:
                        image = tempfile.SpooledTemporaryFile(max_size=SPOOL)  # noqa: SIM115 - closed below
                    image.write(data)
                pending += data
                while len(pending) >= CHUNK_BYTES:
                    await q.insert_chunk(session, row.id, n, bytes(pending[:CHUNK_BYTES]))
                    del pending[:CHUNK_BYTES]
                    n += 1
            if size == 0:
                raise errors.ValidationFailed(_("The file is empty"), details={"file": [_("Required.")]})
            if pending:
                await q.insert_chunk(session, row.id, n, bytes(pending))
            content_type = sniffer.finish()
            row.content_type, row.size, row.sha256 = content_type, size, digest.hexdigest()
            row.name = clean_name(name, content_type)
            if image is not None:
                image.seek(0)
                thumb = await asyncio.to_thread(make_thumbnail, image, ctx.settings.file_max_image_pixels)
                row.thumbnail_id = await _store_thumbnail(session, row, thumb)
                size += len(thumb)
            if who.school_id is not None:
                await q.lock_school_usage(session, who.school_id)
                if await q.school_usage(session, who.school_id) > quota:  # this upload's rows included
                    raise _quota_error(quota)
            await session.flush()
            view = file_view(row)
    finally:
        if image is not None:
            image.close()
    return view


async def _store_thumbnail(session: AsyncSession, row: StoredFile, data: bytes) -> int:
    thumb = await q.insert_file(session, owner_id=row.owner_id, school_id=row.school_id, name="thumbnail.jpg",
                                content_type=THUMB_TYPE, size=len(data), sha256=hashlib.sha256(data).hexdigest(),
                                is_thumbnail=True)
    for n, start in enumerate(range(0, len(data), CHUNK_BYTES)):
        await q.insert_chunk(session, thumb.id, n, data[start:start + CHUNK_BYTES])
    return thumb.id


# --- who may read a file ----------------------------------------------------------------------------------


def _not_found() -> errors.ApiError:
    return errors.NotFound(_("No such file"), code="file_not_found")


async def _may_read(session: AsyncSession, who: Principal, row: StoredFile) -> bool:
    """Whoever can read what it is attached to; before that, only its uploader."""
    if row.channel is not None and row.message_id is not None:
        message = await chat_q.message_by_id(session, row.channel, row.message_id)
        if message is None or message.deleted_at is not None:
            return False
        return await chat_channels.is_member(session, who, chat_channels.parse_channel(row.channel))
    if row.news_id is not None:
        news = await news_q.news_by_id(session, row.news_id)
        if news is None:
            return False
        if who.is_superuser or (who.role == "admin" and who.school_id == news.school_id):
            return True
        return await news_q.readable(session, who, row.news_id)
    if row.lesson_id is not None:
        try:
            await visible_lesson(session, who, row.lesson_id)
        except errors.NotFound:
            return False
        return True
    if row.submission_id is not None:  # a hand-in: the student, their parents, their teachers, the admins
        handed_in = await handin_q.submission_by_id(session, row.submission_id)
        return handed_in is not None and await permissions.can_view_student(session, who, handed_in.student_id)
    if row.absence_note_id is not None:  # the child, their parents, the class teacher, the school's admins
        return await may_read_note(session, who, row.absence_note_id)
    return row.owner_id == who.user_id


async def open_download(ctx: AppContext, who: Principal, file_id: int, *, thumbnail: bool = False) -> Download:
    """What to send, once the reader is allowed: a 404 for a file they may not read, as for one that is not."""
    async with ctx.reads() as session:
        row = await q.file_by_id(session, file_id)
        if row is None or row.is_thumbnail or row.sha256 is None or not await _may_read(session, who, row):
            raise _not_found()
        if thumbnail:
            if row.thumbnail_id is None:
                raise errors.NotFound(_("This file has no thumbnail"), code="file_not_found")
            row = await q.file_by_id(session, row.thumbnail_id)
            if row is None:
                raise _not_found()
    return Download(row.id, row.name, row.content_type, row.size, row.sha256)


async def read_chunks(ctx: AppContext, download: Download, first: int = 0,
                      last: int | None = None) -> AsyncIterator[bytes]:
    """Bytes `first`..`last` (inclusive; default: all) of the file, one chunk per query (each a short read: no
    connection held between writes)."""
    last = download.size - 1 if last is None else last
    for n in range(first // CHUNK_BYTES, last // CHUNK_BYTES + 1):
        async with ctx.reads() as session:
            data = await q.chunk(session, download.id, n)
        if data is None:  # deleted while being read (its message, news item or lesson went)
            return
        start = n * CHUNK_BYTES
        yield data[max(first - start, 0):last - start + 1]


# --- attaching ----------------------------------------------------------------------------------------------


async def claim(session: AsyncSession, who: Principal, file_ids: Sequence[int]) -> list[StoredFile]:
    """The sender's own files, not attached yet, locked until the transaction ends: what may be attached."""
    ids = sorted(set(file_ids))
    if len(ids) > MAX_ATTACHMENTS:
        raise errors.ValidationFailed(details={"attachments": [
            _("Length must be between %(min)s and %(max)s.", min=0, max=MAX_ATTACHMENTS)]})
    rows = await q.files_by_ids(session, ids, for_update=True)
    usable = [r for r in rows if r.owner_id == who.user_id and not r.is_thumbnail and r.sha256 is not None]
    if len(usable) != len(ids):
        raise errors.NotFound(_("No such file"), code="file_not_found",
                              details={"attachments": sorted(set(ids) - {r.id for r in usable})})
    if any(r.attached_at is not None for r in usable):
        raise errors.Conflict(_("A file can be attached only once; upload it again"), code="file_already_attached",
                              details={"attachments": [r.id for r in usable if r.attached_at is not None]})
    return rows
