"""The relay's file sweep: uploads never attached and the files of deleted chat messages go (chunks, thumbnails,
their share of the school's quota) once FILE_SWEEP_AFTER has passed; attached files and recent uploads stay."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from edutrack.db.chat import ChatMessage
from edutrack.db.files import FileChunk, StoredFile
from edutrack.queries import files as fq
from edutrack.services.files.sweep import sweep_files
from tests.files.helpers import PDF_BYTES, png_bytes, upload
from tests.realtime.helpers import make_class_world


async def _age(ctx, file_ids: list[int], by: timedelta) -> None:
    async with ctx.sessions.begin() as session:
        await session.execute(update(StoredFile).where(StoredFile.id.in_(file_ids))
                              .values(created_at=StoredFile.created_at - by))


async def _existing(ctx, file_ids: list[int]) -> set[int]:
    async with ctx.sessions() as session:
        return set((await session.execute(select(StoredFile.id).where(StoredFile.id.in_(file_ids)))).scalars())


async def test_the_sweep_frees_what_nothing_reads_and_keeps_the_rest(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    sender = world.students[0]
    post = f"/api/v1/chats/{world.channel}/messages"
    uploads = {}
    for name, data in (("abandoned", PDF_BYTES), ("image", png_bytes()), ("in_deleted", PDF_BYTES),
                       ("in_live", PDF_BYTES), ("fresh", PDF_BYTES)):
        status, meta = await upload(client, sender, data, f"{name}.{'png' if name == 'image' else 'pdf'}")
        assert status == 201, meta
        uploads[name] = meta
    async with ctx.sessions() as session:
        thumbnail = await session.scalar(select(StoredFile.thumbnail_id)
                                         .where(StoredFile.id == uploads["image"]["id"]))
    assert thumbnail is not None
    for name in ("in_deleted", "in_live"):
        resp = await client.post(post, json={"text": name, "attachments": [uploads[name]["id"]]},
                                 headers=sender.headers)
        assert resp.status == 201, await resp.text()
        uploads[name]["message"] = (await resp.json())["id"]
    resp = await client.delete(f"{post}/{uploads['in_deleted']['message']}", headers=sender.headers)
    assert resp.status == 204, await resp.text()
    ids = {name: int(meta["id"]) for name, meta in uploads.items()}
    async with ctx.sessions() as session:
        used_before = await fq.school_usage(session, world.school_id)

    day = timedelta(seconds=ctx.settings.file_sweep_after + 60)
    await _age(ctx, [ids[n] for n in ("abandoned", "image", "in_deleted", "in_live")] + [thumbnail], day)
    # The message was deleted just now: its file waits out the same time from the deletion.
    assert await sweep_files(ctx) == 2
    assert await _existing(ctx, [*ids.values(), thumbnail]) == {ids["in_deleted"], ids["in_live"], ids["fresh"]}
    async with ctx.sessions.begin() as session:
        await session.execute(update(ChatMessage).where(ChatMessage.id == uploads["in_deleted"]["message"],
                                                        ChatMessage.channel == world.channel)
                              .values(deleted_at=ChatMessage.deleted_at - day))
    assert await sweep_files(ctx) == 1
    assert await _existing(ctx, [*ids.values(), thumbnail]) == {ids["in_live"], ids["fresh"]}
    async with ctx.sessions() as session:
        chunks = await session.scalar(select(func.count()).select_from(FileChunk).where(
            FileChunk.file_id.in_([ids["abandoned"], ids["image"], ids["in_deleted"], thumbnail])))
        used_after = await fq.school_usage(session, world.school_id)
    assert chunks == 0
    assert used_after < used_before
    # What stays is still there to read.
    resp = await client.get(f"/api/v1/files/{ids['in_live']}", headers=world.students[1].headers)
    assert resp.status == 200
    assert await sweep_files(ctx) == 0
