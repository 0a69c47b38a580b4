"""The relay's guarantees, seen in RabbitMQ itself rather than through the notifier (whose idempotency on the
outbox id would hide a second message): lease reclaim, unroutable messages, several relays at once. And the
notifier's idempotency on its own."""

from __future__ import annotations

import logging
from collections import Counter

import aio_pika
import pytest
from sqlalchemy import text

from edutrack.context import AppContext
from edutrack.notifier.worker import notifier_worker
from edutrack.outbox import topology
from edutrack.outbox.relay import BrokerUnavailable, Relay, relay_worker
from edutrack.queries import outbox as q
from edutrack.settings import Settings
from tests.email.conftest import BOTH_QUEUE_TYPES, SmtpServer, Workers, wait_for
from tests.email.helpers import (
    add_emails,
    broker_channel,
    claim_as_dead_relay,
    queue_depth,
    row,
    statuses,
    work_queue_ids,
)

pytestmark = BOTH_QUEUE_TYPES


async def published(ctx: AppContext, *ids: int) -> bool:
    return [(await row(ctx, i)).status for i in ids] == ["published"] * len(ids)


# --- 1. lease reclaim ------------------------------------------------------------------------------------


async def test_row_of_a_relay_that_died_is_reclaimed_after_its_lease_and_delivered_once(
    ctx: AppContext, smtp: SmtpServer, mail_settings: Settings, workers: Workers,
) -> None:
    stuck, fresh = await add_emails(ctx, 2)
    await claim_as_dead_relay(ctx, [stuck], lease_seconds=-1)  # its relay died; the lease ran out a second ago
    workers.start(relay_worker, mail_settings)

    async def both_published() -> bool:
        return await published(ctx, stuck, fresh)

    await wait_for(both_published, timeout=10)
    reclaimed = await row(ctx, stuck)
    assert reclaimed.lease_until is None
    assert reclaimed.published_at is not None
    await workers.stop_all()
    # Exactly one message per row reached the work queue: the stuck row was published once, not once per poll.
    assert sorted(await work_queue_ids(mail_settings)) == [stuck, fresh]

    workers.start(notifier_worker, mail_settings)

    async def both_sent() -> bool:
        return (await statuses(ctx)) == {"sent": 2}

    await wait_for(both_sent, timeout=10)
    assert sorted(smtp.handler.outbox_ids()) == [stuck, fresh]
    assert (await row(ctx, stuck)).attempts == 1


async def test_row_whose_lease_has_not_expired_is_left_alone_until_it_does(
    ctx: AppContext, mail_settings: Settings, workers: Workers,
) -> None:
    held, other = await add_emails(ctx, 2)
    await claim_as_dead_relay(ctx, [held], lease_seconds=3)  # another relay holds it for 3 more seconds
    lease_until = (await row(ctx, held)).lease_until
    assert lease_until is not None
    workers.start(relay_worker, mail_settings)

    async def other_published() -> bool:
        return await published(ctx, other)

    await wait_for(other_published, timeout=10)
    # The relay has polled (it published the other row) and will keep polling every 50 ms: the held row is
    # untouched, and a claim right now does not take it either.
    still = await row(ctx, held)
    assert (still.status, still.lease_until, still.published_at) == ("publishing", lease_until, None)
    async with ctx.sessions() as session:
        assert await q.claim_batch(session, limit=10, lease_seconds=60) == []
        await session.rollback()
    assert await work_queue_ids(mail_settings) == [other]

    async def held_published() -> bool:
        return await published(ctx, held)

    await wait_for(held_published, timeout=10)
    taken_over = await row(ctx, held)
    assert taken_over.published_at is not None
    assert taken_over.published_at >= lease_until
    await workers.stop_all()
    assert await work_queue_ids(mail_settings) == [other, held]


# --- 2. unroutable messages -------------------------------------------------------------------------------


async def _open_relay_channel(connection: aio_pika.abc.AbstractConnection) -> aio_pika.abc.AbstractChannel:
    # The channel Relay.run opens: publisher confirms, and a returned (unroutable) message raises.
    return await connection.channel(publisher_confirms=True, on_return_raises=True)


@pytest.mark.parametrize("break_routing", ["delete_queue", "unbind_queue"])
async def test_unroutable_publish_is_a_failure_and_the_row_waits_for_the_queue(
    ctx: AppContext, mail_settings: Settings, break_routing: str,
) -> None:
    names = topology.Names.of(mail_settings)
    relay = Relay(ctx)
    relay.settings = mail_settings
    [outbox_id] = await add_emails(ctx, 1)
    connection = await aio_pika.connect(mail_settings.rabbitmq_url, timeout=5)
    try:
        channel = await _open_relay_channel(connection)
        topo = await topology.declare(channel, mail_settings)
        if break_routing == "delete_queue":
            await topo.work.delete(if_unused=False, if_empty=False)
        else:
            await topo.work.unbind(topo.exchange, topology.SEND)

        for _ in range(2):  # however often it is tried: returned by the broker, so not published
            with pytest.raises(BrokerUnavailable, match="1 of 1 publishes failed"):
                await relay.relay_once(topo.exchange)
            released = await row(ctx, outbox_id)
            assert (released.status, released.lease_until, released.published_at) == ("pending", None, None)

        await topology.declare(channel, mail_settings)  # the queue (and its binding) exist again
        assert await relay.relay_once(topo.exchange) == 1
        assert (await row(ctx, outbox_id)).status == "published"
    finally:
        await connection.close()
    # Only the routed copy exists: the returned ones went nowhere (not even to the dead-letter queue).
    assert await work_queue_ids(mail_settings) == [outbox_id]
    assert await queue_depth(mail_settings, names.dead) == 0


async def test_running_relay_does_not_lose_a_row_whose_queue_was_deleted_under_it(
    ctx: AppContext, mail_settings: Settings, workers: Workers, caplog: pytest.LogCaptureFixture,
) -> None:
    """The work queue disappears after the relay declared the topology. Without mandatory + on_return_raises
    the broker would confirm the message and drop it, and the row would say 'published' forever."""
    caplog.set_level(logging.WARNING, logger="edutrack.outbox.relay")
    names = topology.Names.of(mail_settings)
    workers.start(relay_worker, mail_settings)

    async def declared() -> bool:
        return await queue_depth(mail_settings, names.work) is not None

    await wait_for(declared, timeout=10)
    async with broker_channel(mail_settings) as channel:
        await channel.queue_delete(names.work)
    [outbox_id] = await add_emails(ctx, 1)

    async def in_the_queue() -> bool:
        return await queue_depth(mail_settings, names.work) == 1 and await published(ctx, outbox_id)

    # The relay's publish is returned, the row goes back to 'pending', the relay reconnects and declares the
    # topology again, and the row goes out into the new queue.
    await wait_for(in_the_queue, timeout=10)
    failures = [r for r in caplog.records if "publishes failed" in str(getattr(r, "error", ""))]
    assert failures
    assert "PublishError" in str(failures[0].error)  # type: ignore[attr-defined]
    await workers.stop_all()
    assert await work_queue_ids(mail_settings) == [outbox_id]


# --- 3. several relays at once ---------------------------------------------------------------------------


async def _waiting_claims(ctx: AppContext) -> int:
    async with ctx.sessions() as session:
        return int((await session.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND query ILIKE 'UPDATE email_outbox%'"
        ))).scalar_one())


async def test_three_relays_at_once_put_each_row_into_the_queue_exactly_once(
    ctx: AppContext, mail_settings: Settings, workers: Workers,
) -> None:
    """No notifier: what is counted is the messages in the work queue, so a row published twice shows up
    (the notifier would have acked the second copy silently)."""
    relays = 3
    settings = mail_settings.replace(relay_batch_size=10)
    ids = await add_emails(ctx, 600)
    # Hold the table while the relays start, so that all three are blocked in a claim and then claim at
    # the same moment: the overlap this test is about happens for certain, not by luck of timing.
    async with ctx.sessions.begin() as gate:
        await gate.execute(text("LOCK TABLE email_outbox IN EXCLUSIVE MODE"))
        for _ in range(relays):
            workers.start(relay_worker, settings)

        async def all_blocked() -> bool:
            return await _waiting_claims(ctx) == relays

        await wait_for(all_blocked, timeout=10)

    async def everything_published() -> bool:
        return (await statuses(ctx)) == {"published": len(ids)}

    await wait_for(everything_published, timeout=30)
    await workers.stop_all()
    counted = Counter(await work_queue_ids(settings))
    assert set(counted) == set(ids)
    twice = {i: n for i, n in counted.items() if n > 1}
    assert not twice, f"published more than once: {twice}"
    assert sum(counted.values()) == len(ids)


# --- notifier idempotency --------------------------------------------------------------------------------


async def test_notifier_acks_a_job_for_an_already_sent_row_without_sending(
    ctx: AppContext, smtp: SmtpServer, mail_settings: Settings, workers: Workers,
) -> None:
    # One job at a time, in queue order: the duplicate is handled (and acked) before the marker is.
    settings = mail_settings.replace(notifier_concurrency=1, notifier_prefetch=1)
    already, marker = await add_emails(ctx, 2)
    async with ctx.sessions.begin() as session:
        await session.execute(text("UPDATE email_outbox SET status = 'sent', sent_at = now() - interval '1 minute', "
                                   "attempts = 1 WHERE id = :id"), {"id": already})
    sent_at = (await row(ctx, already)).sent_at
    async with broker_channel(settings) as channel:
        topo = await topology.declare(channel, settings)
        for outbox_id in (already, marker):  # the late second copy of a sent row's job, then a real one
            await topo.exchange.publish(topology.job(outbox_id), topology.SEND, mandatory=True)
    workers.start(notifier_worker, settings)

    async def marker_sent() -> bool:
        return (await row(ctx, marker)).status == "sent"

    await wait_for(marker_sent, timeout=10)
    await workers.stop_all()
    assert smtp.handler.outbox_ids() == [marker]
    assert smtp.handler.started == 1  # the duplicate never reached the SMTP server at all
    untouched = await row(ctx, already)
    assert (untouched.status, untouched.attempts, untouched.sent_at, untouched.last_error) == \
        ("sent", 1, sent_at, None)
    names = topology.Names.of(settings)
    # Acked: not back in the work queue after the notifier stopped, and not dead-lettered or retried.
    assert await queue_depth(settings, names.work) == 0
    assert await queue_depth(settings, names.dead) == 0
    for ms in topology.delays_ms(settings):
        assert await queue_depth(settings, names.retry_queue(ms)) == 0
