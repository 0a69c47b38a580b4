"""RabbitMQ really stopped while outbox rows are written, then started again: every email is
delivered, none twice. The broker is a private node of this test (tests/support/services.py), so the
machine's shared RabbitMQ, which other runs use, is never touched."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from edutrack.context import AppContext
from edutrack.db.models import EmailOutbox
from edutrack.notifier.worker import notifier_worker
from edutrack.outbox import topology
from edutrack.outbox.relay import relay_worker
from edutrack.settings import Settings
from tests.email.conftest import BOTH_QUEUE_TYPES, SmtpServer, Workers, wait_for
from tests.email.helpers import add_emails, all_sent, queue_depth
from tests.support.services import PrivateRabbitMQ, port_open, private_rabbitmq

pytestmark = BOTH_QUEUE_TYPES


@pytest.fixture
async def broker() -> AsyncIterator[PrivateRabbitMQ]:
    async with private_rabbitmq() as started:
        yield started


async def statuses_of(ctx: AppContext, ids: list[int]) -> dict[str, int]:
    async with ctx.sessions() as session:
        rows = await session.execute(select(EmailOutbox.status, func.count())
                                     .where(EmailOutbox.id.in_(ids)).group_by(EmailOutbox.status))
        return {status: int(n) for status, n in rows}


# `broker` before `workers`: the workers stop (at teardown) while the broker still runs.
async def test_rabbitmq_stopped_and_started_loses_nothing_and_sends_nothing_twice(
    ctx: AppContext, smtp: SmtpServer, mail_settings: Settings, broker: PrivateRabbitMQ, workers: Workers,
) -> None:
    # A small prefetch leaves messages ready in the queue, not only unacked in the notifier.
    settings = mail_settings.replace(rabbitmq_url=broker.url, notifier_prefetch=4)
    workers.start(relay_worker, settings)
    workers.start(notifier_worker, settings)

    before = await add_emails(ctx, 20, prefix="before")

    async def first_batch() -> bool:
        return await all_sent(ctx, 20)

    await wait_for(first_batch)

    # A slow SMTP server keeps published messages waiting in the broker's durable work queue when it stops:
    # they must survive the restart (persistent messages), not wait for the hours-later republish.
    smtp.handler.delay = 0.3
    queued = await add_emails(ctx, 30, prefix="queued")

    async def some_in_broker() -> bool:
        return (await statuses_of(ctx, queued)).get("published", 0) >= 10

    await wait_for(some_in_broker)
    in_broker = await queue_depth(settings, topology.Names.of(settings).work)
    assert in_broker is not None
    assert in_broker >= 1

    await broker.stop()  # the node and its Erlang VM stop: connections drop, the port closes
    assert not port_open(broker.port)
    smtp.handler.delay = 0.0
    during = await add_emails(ctx, 50, prefix="during")
    await asyncio.sleep(1.5)
    waiting = await statuses_of(ctx, during)
    assert waiting.get("pending", 0) + waiting.get("publishing", 0) == 50, waiting
    left_queued = (await statuses_of(ctx, queued)).get("published", 0)
    assert left_queued >= 1, "nothing was left in the broker when it stopped: the test proves too little"

    restart_took = await broker.start()  # same data directory: durable queues and messages come back

    async def everything() -> bool:
        return await all_sent(ctx, 100)

    await wait_for(everything, timeout=60)
    print(f"\nbroker restart: {left_queued} emails waited in RabbitMQ, 50 in PostgreSQL; "
          f"node start took {restart_took:.1f} s")

    received = smtp.handler.outbox_ids()
    assert len(received) == len(set(received)), "an email was sent twice"
    assert sorted(received) == sorted(before + queued + during)
    assert await queue_depth(settings, topology.Names.of(settings).work) == 0
