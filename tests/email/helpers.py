"""Small helpers shared by the email tests."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import aio_pika
from aio_pika.abc import AbstractChannel
from sqlalchemy import func, select, text

from edutrack.context import AppContext
from edutrack.db.models import EmailOutbox
from edutrack.outbox import topology
from edutrack.queries import outbox as q
from edutrack.settings import Settings


async def add_emails(ctx: AppContext, count: int, *, kind: str = "test", prefix: str = "user") -> list[int]:
    async with ctx.sessions.begin() as session:
        return await q.insert_many(session, [
            {"recipient": f"{prefix}{i}@example.test", "subject": f"Письмо {i}", "body_text": f"Текст {i}",
             "body_html": f"<p>Текст {i}</p>", "kind": kind, "user_id": None}
            for i in range(count)
        ])


async def statuses(ctx: AppContext) -> dict[str, int]:
    async with ctx.sessions() as session:
        rows = await session.execute(select(EmailOutbox.status, func.count()).group_by(EmailOutbox.status))
        return {status: int(n) for status, n in rows}


async def row(ctx: AppContext, outbox_id: int) -> EmailOutbox:
    async with ctx.sessions() as session:
        found = await session.get(EmailOutbox, outbox_id)
        assert found is not None
        return found


async def all_sent(ctx: AppContext, expected: int) -> bool:
    return (await statuses(ctx)).get("sent", 0) == expected


async def set_created_minutes_ago(ctx: AppContext, table: str, ids: list[int], minutes: int) -> None:
    async with ctx.sessions.begin() as session:
        await session.execute(
            text(f"UPDATE {table} SET created_at = now() - make_interval(mins => :m) WHERE id = ANY(:ids)"),
            {"m": minutes, "ids": ids},
        )


async def claim_as_dead_relay(ctx: AppContext, ids: list[int], lease_seconds: float) -> None:
    """Leave rows the way a relay that died right after claiming them does: 'publishing' with a lease that
    ends `lease_seconds` from now (negative: it already ran out)."""
    async with ctx.sessions.begin() as session:
        await session.execute(
            text("UPDATE email_outbox SET status = 'publishing', lease_until = now() + make_interval(secs => :s) "
                 "WHERE id = ANY(:ids)"),
            {"s": lease_seconds, "ids": ids},
        )


@contextlib.asynccontextmanager
async def broker_channel(settings: Settings) -> AsyncIterator[AbstractChannel]:
    """A channel of the test's own connection, to look into the queues the workers use."""
    connection = await aio_pika.connect(settings.rabbitmq_url, timeout=5)
    try:
        yield await connection.channel()
    finally:
        await connection.close()


async def queue_depth(settings: Settings, name: str) -> int | None:
    """Ready messages in a queue, or None if the queue does not exist."""
    async with broker_channel(settings) as channel:
        try:
            queue = await channel.declare_queue(name, passive=True)
        except aio_pika.exceptions.ChannelClosed:
            return None
        result = queue.declaration_result
        return int(result.message_count or 0)


async def work_queue_ids(settings: Settings) -> list[int]:
    """The outbox ids of every message waiting in the work queue, in queue order. The messages are taken
    without an ack and go back to the queue when this returns, so a notifier started later still sees them."""
    ids: list[int] = []
    async with broker_channel(settings) as channel:
        queue = await channel.declare_queue(topology.Names.of(settings).work, passive=True)
        while (message := await queue.get(fail=False, no_ack=False)) is not None:
            outbox_id = topology.outbox_id_of(message.body)
            assert outbox_id is not None, message.body
            assert message.message_id == f"outbox-{outbox_id}"
            ids.append(outbox_id)
    return ids
