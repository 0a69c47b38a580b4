"""Small files of each kind, and upload helpers, for the attachment tests."""

from __future__ import annotations

import io
from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient
from PIL import Image
from sqlalchemy import func, select

from edutrack.context import AppContext
from edutrack.db.files import FileChunk, StoredFile
from tests.support.factories import Actor

PDF_BYTES = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def png_bytes(size: tuple[int, int] = (800, 600), *, exif_gps: bool = False) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    out = io.BytesIO()
    if exif_gps:
        exif = Image.Exif()
        exif[0x010F] = "Шпионская камера"  # Make
        exif[0x8825] = {1: "N", 2: (55.0, 45.0, 0.0)}  # GPS
        image.save(out, "JPEG", exif=exif)
    else:
        image.save(out, "PNG")
    return out.getvalue()


def form(data: bytes, filename: str, content_type: str = "application/octet-stream") -> aiohttp.FormData:
    body = aiohttp.FormData()
    body.add_field("file", data, filename=filename, content_type=content_type)
    return body


async def upload(client: TestClient, actor: Actor, data: bytes, filename: str, **kwargs: Any) -> tuple[int, Any]:
    resp = await client.post("/api/v1/files", data=form(data, filename, **kwargs), headers=actor.headers)
    return resp.status, await resp.json()


async def stored_counts(ctx: AppContext, owner_id: int) -> tuple[int, int]:
    """(files, chunks) stored for this uploader."""
    async with ctx.sessions() as session:
        files = await session.scalar(select(func.count()).select_from(StoredFile)
                                     .where(StoredFile.owner_id == owner_id))
        chunks = await session.scalar(select(func.count()).select_from(FileChunk).join(
            StoredFile, StoredFile.id == FileChunk.file_id).where(StoredFile.owner_id == owner_id))
    return int(files or 0), int(chunks or 0)
