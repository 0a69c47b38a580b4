"""Outages and crashes: RabbitMQ unreachable, a notifier killed with SIGKILL, graceful shutdown."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import aio_pika

from edutrack.context import AppContext
from edutrack.notifier.worker import notifier_worker
from edutrack.outbox import topology
from edutrack.outbox.relay import relay_worker
from edutrack.settings import Settings
from tests.email.conftest import BOTH_QUEUE_TYPES, SmtpServer, Workers, wait_for, worker_env
from tests.email.helpers import add_emails, all_sent, row, statuses
from tests.support.services import tcp_proxy

EDUTRACK = str(Path(sys.executable).parent / "edutrack")


@BOTH_QUEUE_TYPES
async def test_rabbitmq_outage_loses_nothing_and_sends_nothing_twice(
    ctx: AppContext, smtp: SmtpServer, mail_settings: Settings, workers: Workers,
) -> None:
    async with tcp_proxy(5672) as proxy:
        settings = mail_settings.replace(rabbitmq_url=f"amqp://guest:guest@127.0.0.1:{proxy.port}/")
        workers.start(relay_worker, settings)
        workers.start(notifier_worker, settings)
        before = await add_emails(ctx, 20, prefix="before")

        async def first_batch() -> bool:
            return await all_sent(ctx, 20)

        await wait_for(first_batch)

        proxy.cut()  # RabbitMQ "stopped" for the relay and the notifier
        during = await add_emails(ctx, 50, prefix="during")
        await asyncio.sleep(1.5)
        waiting = await statuses(ctx)
        assert waiting.get("sent", 0) == 20
        assert waiting.get("pending", 0) + waiting.get("publishing", 0) == 50

        proxy.restore()  # "started" again

        async def everything() -> bool:
            return await all_sent(ctx, 70)

        await wait_for(everything, timeout=40)
    received = smtp.handler.outbox_ids()
    assert sorted(received) == sorted(before + during)
    assert len(received) == len(set(received)), "an email was sent twice"


@BOTH_QUEUE_TYPES
async def test_notifier_killed_mid_batch_then_restarted_delivers_everything(
    ctx: AppContext, smtp: SmtpServer, mail_settings: Settings, workers: Workers,
) -> None:
    """At-least-once delivery + idempotency on the outbox id: nothing is lost; a duplicate is possible only
    for an email whose SMTP transaction completed in the instant before its 'sent' commit."""
    smtp.handler.delay = 0.01  # keep several emails in flight when the kill lands
    settings = mail_settings.replace(notifier_concurrency=4, notifier_prefetch=16)
    ids = await add_emails(ctx, 300)
    workers.start(relay_worker, settings)
    env = worker_env(settings)
    first = await asyncio.create_subprocess_exec(EDUTRACK, "notifier", env=env)
    try:
        async def some_delivered() -> bool:
            return len(smtp.handler.received) >= 60

        await wait_for(some_delivered, timeout=30, interval=0.005)
        first.send_signal(signal.SIGKILL)
        await first.wait()
        killed_at = len(smtp.handler.received)
        assert killed_at < 300, "the kill came too late to test anything"
        assert (await statuses(ctx)).get("sent", 0) < 300
    finally:
        if first.returncode is None:
            first.kill()
            await first.wait()

    second = await asyncio.create_subprocess_exec(EDUTRACK, "notifier", env=env)
    try:
        async def everything() -> bool:
            return await all_sent(ctx, 300)

        await wait_for(everything, timeout=60)
    finally:
        second.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(second.wait(), 15) == 0

    received = smtp.handler.outbox_ids()
    lost = set(ids) - set(received)
    duplicates = len(received) - len(set(received))
    print(f"\nSIGKILL test: killed after {killed_at} emails, lost={len(lost)}, duplicates={duplicates}")
    assert not lost
    # A duplicate needs the kill to land between SMTP "250" and the commit of 'sent': at most one per
    # parallel SMTP connection of the killed process.
    assert duplicates <= settings.notifier_concurrency


@BOTH_QUEUE_TYPES
async def test_graceful_stop_finishes_the_email_in_flight(
    ctx: AppContext, smtp: SmtpServer, mail_settings: Settings, workers: Workers,
) -> None:
    smtp.handler.delay = 1.0
    [outbox_id] = await add_emails(ctx, 1)
    workers.start(relay_worker, mail_settings)
    stop, task = workers.start(notifier_worker, mail_settings)

    async def in_flight() -> bool:
        return smtp.handler.started == 1

    await wait_for(in_flight)
    stop.set()
    await asyncio.wait_for(task, 10)
    assert smtp.handler.outbox_ids() == [outbox_id]
    assert (await row(ctx, outbox_id)).status == "sent"

    # Acked before closing: nothing is left in the work queue to be sent again.
    connection = await aio_pika.connect(mail_settings.rabbitmq_url)
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue(topology.Names.of(mail_settings).work, durable=True, passive=True)
        assert queue.declaration_result.message_count == 0
    finally:
        await connection.close()


def test_edutrack_binary_exists() -> None:
    assert os.access(EDUTRACK, os.X_OK)


@BOTH_QUEUE_TYPES
async def test_a_published_row_whose_message_was_lost_is_published_again(
    ctx: AppContext, smtp: SmtpServer, mail_settings: Settings, workers: Workers,
) -> None:
    from sqlalchemy import text

    lost, waiting = await add_emails(ctx, 2)
    async with ctx.sessions.begin() as session:
        # Both "published", but no message exists in RabbitMQ: the broker lost them. One long ago, one just
        # now (as if still waiting in a delay queue).
        await session.execute(text("UPDATE email_outbox SET status = 'published', published_at = now() - "
                                   "make_interval(hours => 4) WHERE id = :id"), {"id": lost})
        await session.execute(text("UPDATE email_outbox SET status = 'published', published_at = now() - "
                                   "make_interval(mins => 10) WHERE id = :id"), {"id": waiting})
    settings = mail_settings.replace(relay_republish_after=3600.0)
    workers.start(relay_worker, settings)
    workers.start(notifier_worker, settings)

    async def resent() -> bool:
        return (await row(ctx, lost)).status == "sent"

    await wait_for(resent)
    await asyncio.sleep(0.5)
    assert smtp.handler.outbox_ids() == [lost]
    assert (await row(ctx, waiting)).status == "published"
