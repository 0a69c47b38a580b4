"""The refresh-token sweep (runs inside `edutrack relay`, beside the scheduled-news job): once an hour it deletes
the refresh-token rows no check needs any more (services/sessions.py). Two relays sweeping at once only delete
the same rows; nothing needs a lock."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

from edutrack.context import AppContext
from edutrack.services import sessions

log = logging.getLogger(__name__)

INTERVAL = 3600.0


class RefreshTokenSweeper:
    def __init__(self, ctx: AppContext, interval: float = INTERVAL) -> None:
        self.ctx = ctx
        self.interval = interval

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                deleted = await sessions.sweep_refresh_tokens(self.ctx, datetime.now(UTC))
                if deleted:
                    log.info("refresh tokens swept", extra={"deleted": deleted})
            except Exception:  # a database hiccup must not end the job; the next tick retries
                log.exception("sweeping refresh tokens failed; the next tick retries")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.interval)
