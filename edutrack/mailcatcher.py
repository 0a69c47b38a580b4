"""A development SMTP server that saves every message it receives as a .eml file.

`edutrack run` starts it on smtp_host:smtp_port when DEV_MAIL_CATCHER is on, so a new developer reads
the emails EduTrack sends (password resets, digests) in var/mail without any SMTP account.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP

from edutrack.settings import Settings

log = logging.getLogger(__name__)


class SaveToFolder:
    """aiosmtpd handler: one .eml per message and recipient, named so they sort by arrival."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.saved = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%f")
        path = self.folder / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
        data = envelope.original_content or envelope.content
        raw = data if isinstance(data, bytes) else str(data).encode()
        await asyncio.to_thread(path.write_bytes, raw)
        self.saved += 1
        log.info("mail catcher saved a message", extra={"path": str(path), "to": list(envelope.rcpt_tos)})
        return "250 Message accepted for delivery"


async def start_mail_catcher(settings: Settings) -> tuple[asyncio.Server, SaveToFolder]:
    folder = Path(settings.mail_catcher_dir)
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    handler = SaveToFolder(folder)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="edutrack-mailcatcher", ident="EduTrack mail catcher"),
        settings.smtp_host, settings.smtp_port,
    )
    return server, handler


async def mail_catcher_worker(settings: Settings, stop: asyncio.Event) -> None:
    """The `mailcatcher` role of `edutrack run`; idles when the setting is off (the supervisor treats a
    returning role as a failure, so it must not just return)."""
    if not settings.dev_mail_catcher:
        await stop.wait()
        return
    try:
        server, _ = await start_mail_catcher(settings)
    except OSError as exc:
        # Mail still waits safely in the outbox; do not take the whole process down for a dev convenience.
        log.error("mail catcher could not listen; emails stay queued", extra={
            "address": f"{settings.smtp_host}:{settings.smtp_port}", "error": str(exc)})
        await stop.wait()
        return
    log.info("mail catcher listening", extra={"address": f"{settings.smtp_host}:{settings.smtp_port}",
                                              "folder": settings.mail_catcher_dir})
    try:
        await stop.wait()
    finally:
        server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 5)
