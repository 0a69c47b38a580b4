"""The scheduled-news job (runs inside `edutrack relay`, beside the digest scheduler): every few seconds it
publishes the news items whose `publish_at` has come and notifies their audience (services/diary/news.py).

Several relays may run it at once: one of them does the work per tick (an advisory lock), and each item is
claimed with SKIP LOCKED, so it is published, and notified, exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from edutrack.context import AppContext
from edutrack.services.diary import news

log = logging.getLogger(__name__)

INTERVAL = 2.0  # seconds between two looks: the publication time is kept to within this


class ScheduledNewsPublisher:
    def __init__(self, ctx: AppContext, interval: float = INTERVAL) -> None:
        self.ctx = ctx
        self.interval = interval

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await news.publish_due(self.ctx)
            except Exception:  # a database hiccup must not end the job; the next tick retries
                log.exception("publishing scheduled news failed; the next tick retries")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.interval)
