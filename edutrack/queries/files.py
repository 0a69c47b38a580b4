"""SQL of attachments: file rows, their chunks, a school's usage, and what a file is attached to."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from edutrack.db.files import FileChunk, StoredFile


async def insert_file(session: AsyncSession, **values: Any) -> StoredFile:
    row = StoredFile(**values)
    session.add(row)
    await session.flush()
    return row


async def insert_chunk(session: AsyncSession, file_id: int, n: int, data: bytes) -> None:
    await session.execute(insert(FileChunk).values(file_id=file_id, n=n, data=data))


async def chunk(session: AsyncSession, file_id: int, n: int) -> bytes | None:
    found = await session.execute(select(FileChunk.data).where(FileChunk.file_id == file_id, FileChunk.n == n))
    return found.scalar_one_or_none()


async def file_by_id(session: AsyncSession, file_id: int, *, for_update: bool = False) -> StoredFile | None:
    stmt = select(StoredFile).where(StoredFile.id == file_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def files_by_ids(session: AsyncSession, file_ids: Sequence[int], *, for_update: bool = False) -> list[StoredFile]:
    stmt = select(StoredFile).where(StoredFile.id.in_(list(file_ids))).order_by(StoredFile.id)
    if for_update:
        stmt = stmt.with_for_update()
    return list((await session.execute(stmt)).scalars())


async def thumbnail_parent(session: AsyncSession, thumbnail_id: int) -> StoredFile | None:
    stmt = select(StoredFile).where(StoredFile.thumbnail_id == thumbnail_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def lock_school_usage(session: AsyncSession, school_id: int) -> None:
    """Serialize the quota check of one school's uploads until the transaction ends."""
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext('files:school'), CAST(:id AS integer))"),
                          {"id": school_id % 2_147_483_647})


async def school_usage(session: AsyncSession, school_id: int) -> int:
    found = await session.execute(select(func.coalesce(func.sum(StoredFile.size), 0))
                                  .where(StoredFile.school_id == school_id))
    return int(found.scalar_one())


async def attach(session: AsyncSession, file_ids: Sequence[int], **target: Any) -> None:
    """Attach the files (and their thumbnails) to one message, news item, lesson, hand-in or absence note."""
    ids = list(file_ids)
    thumbs = select(StoredFile.thumbnail_id).where(StoredFile.id.in_(ids), StoredFile.thumbnail_id.is_not(None))
    await session.execute(update(StoredFile).where(StoredFile.id.in_(ids) | StoredFile.id.in_(thumbs))
                          .values(**target, attached_at=func.now()))


async def attached_to(session: AsyncSession, **target: Any) -> list[StoredFile]:
    """The files (not thumbnails) attached to one news item or lesson, in upload order."""
    stmt = select(StoredFile).where(StoredFile.is_thumbnail.is_(False)).order_by(StoredFile.id)
    for column, value in target.items():
        stmt = stmt.where(getattr(StoredFile, column) == value)
    return list((await session.execute(stmt)).scalars())


async def attached_to_notes(session: AsyncSession, note_ids: Sequence[int]) -> dict[int, list[StoredFile]]:
    """absence note id -> its files (not thumbnails), in upload order: one query for a page of notes."""
    found: dict[int, list[StoredFile]] = {note_id: [] for note_id in note_ids}
    if not found:
        return found
    stmt = (select(StoredFile).where(StoredFile.is_thumbnail.is_(False), StoredFile.absence_note_id.in_(list(found)))
            .order_by(StoredFile.id))
    for row in (await session.execute(stmt)).scalars():
        found[row.absence_note_id or 0].append(row)
    return found


# At most this many files (with their chunks and thumbnails) per statement: a sweep is short transactions.
SWEEP_BATCH = 200
# Files nothing will read again: uploads never attached, and the files of chat messages deleted, both more than
# :after seconds ago; their thumbnails go with them (data-modifying CTEs all run), their chunks by the foreign key.
_SWEEP = text("""
WITH gone AS (
    DELETE FROM files f
    WHERE f.id IN (
        SELECT c.id FROM files c
        WHERE NOT c.is_thumbnail AND c.created_at < now() - make_interval(secs => :after)
          AND (num_nonnulls(c.message_id, c.news_id, c.lesson_id, c.submission_id, c.absence_note_id) = 0
               OR EXISTS (SELECT 1 FROM chat_messages m WHERE m.channel = c.channel AND m.id = c.message_id
                          AND m.deleted_at < now() - make_interval(secs => :after)))
        ORDER BY c.id
        LIMIT :limit
        FOR UPDATE SKIP LOCKED)
    RETURNING f.thumbnail_id
), thumbnails AS (
    DELETE FROM files t WHERE t.id IN (SELECT thumbnail_id FROM gone WHERE thumbnail_id IS NOT NULL)
)
SELECT count(*) FROM gone
""")


async def sweep(session: AsyncSession, after_seconds: int) -> int:
    """Delete up to SWEEP_BATCH such files; how many went (thumbnails not counted). SKIP LOCKED: several relays
    may sweep at once."""
    found = await session.execute(_SWEEP, {"after": after_seconds, "limit": SWEEP_BATCH})
    return int(found.scalar_one())
