"""Writing notification rows through the real service path and reading what each channel consumed."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select, update

from edutrack.context import AppContext
from edutrack.db.models import EmailOutbox, Notification, User
from edutrack.digest.scheduler import DigestScheduler
from edutrack.events import NOTIFICATION_KINDS
from edutrack.services.diary.notify import notify_users
from edutrack.settings import Settings
from edutrack.uow import unit_of_work
from tests.support.factories import Actor

PREFS = "/api/v1/profile/notifications"


async def put_prefs(client: TestClient, actor: Actor, body: dict[str, Any]) -> dict[str, Any]:
    resp = await client.put(PREFS, json=body, headers=actor.headers)
    assert resp.status == 200, await resp.text()
    return dict(await resp.json())


async def write_kinds(ctx: AppContext, user_id: int, kinds: tuple[str, ...] = NOTIFICATION_KINDS,
                      *, created: datetime | None = None, extra: dict[str, Any] | None = None) -> dict[str, int]:
    """One row of each kind for the user, written and published as services do; kind -> row id."""
    ids: dict[str, int] = {}
    async with unit_of_work(ctx) as uow:
        for kind in kinds:
            rows = await notify_users(uow.session, kind, [user_id], {"title": f"про {kind}", **(extra or {})})
            ids[kind] = rows[0].id
            uow.publish_notifications(rows)
    if created is not None:
        async with ctx.sessions.begin() as session:
            await session.execute(update(Notification).where(Notification.id.in_(list(ids.values())))
                                  .values(created_at=created))
    return ids


async def emailed_kinds(ctx: AppContext, user_id: int) -> set[str]:
    async with ctx.sessions() as session:
        rows = await session.execute(select(Notification.kind).where(Notification.user_id == user_id,
                                                                     Notification.emailed_at.is_not(None)))
    return set(rows.scalars())


async def outbox_of(ctx: AppContext, user_id: int) -> list[EmailOutbox]:
    async with ctx.sessions() as session:
        rows = await session.execute(select(EmailOutbox).where(EmailOutbox.user_id == user_id)
                                     .order_by(EmailOutbox.id))
    return list(rows.scalars())


def scheduler(ctx: AppContext, settings: Settings, clock: Callable[[], datetime] | None = None) -> DigestScheduler:
    made = DigestScheduler(ctx, clock=clock) if clock is not None else DigestScheduler(ctx)
    made.settings = settings
    return made


def days_ago(days: float) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)


async def email_link(ctx: AppContext, settings: Settings, user: User) -> str:
    """The confirmation link of the user's digest email, as the scheduler renders it (the page that asks first):
    the user's rows are made old enough to be due, one round of the scheduler runs."""
    async with ctx.sessions.begin() as session:
        await session.execute(update(Notification).where(Notification.user_id == user.id)
                              .values(created_at=datetime.now(UTC) - timedelta(hours=1)))
    await scheduler(ctx, settings).run_once()
    text = (await outbox_of(ctx, user.id))[0].body_text
    found = re.search(r"https?://\S+/ack/\S+", text)
    assert found is not None, text
    return urllib.parse.urlsplit(found.group(0)).path
