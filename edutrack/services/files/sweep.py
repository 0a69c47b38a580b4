"""The file sweep (runs inside `edutrack relay`): every SWEEP_INTERVAL seconds it deletes the files nothing will
read again, uploads never attached and the files of deleted chat messages, once FILE_SWEEP_AFTER seconds have
passed (docs/files.md). Their chunks and thumbnails go with them, and the school's quota is freed."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.exc import SQLAlchemyError

from edutrack.background import every
from edutrack.context import AppContext
from edutrack.queries import files as q

log = logging.getLogger(__name__)

SWEEP_INTERVAL = 600.0


async def sweep_files(ctx: AppContext) -> int:
    """Sweep until nothing is left to sweep, a batch per transaction; how many files went."""
    swept = 0
    while True:
        async with ctx.sessions.begin() as session:
            batch = await q.sweep(session, ctx.settings.file_sweep_after)
        swept += batch
        if batch < q.SWEEP_BATCH:
            break
    if swept:
        log.info("files swept", extra={"files": swept})
    return swept


async def run(ctx: AppContext, stop: asyncio.Event, interval: float = SWEEP_INTERVAL) -> None:
    await every(stop, lambda: interval, lambda: sweep_files(ctx), what="file sweep",
                expected=(SQLAlchemyError, OSError))
