"""RABBITMQ_QUEUE_TYPE: quorum queues with at-least-once dead-lettering, a clear message (not a crash) when the
queues have another type, and `edutrack queues migrate` moving them without losing a waiting message."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from pathlib import Path

import aio_pika
import pytest

from edutrack.context import AppContext
from edutrack.notifier.worker import notifier_worker
from edutrack.outbox import queues, topology
from edutrack.outbox.relay import relay_worker
from edutrack.settings import Settings
from tests.email.conftest import SmtpServer, Workers, delete_topology, wait_for, worker_env
from tests.email.helpers import add_emails, all_sent, broker_channel, queue_depth, statuses
from tests.support.services import private_rabbitmq

EDUTRACK = str(Path(sys.executable).parent / "edutrack")


async def _declare(settings: Settings) -> topology.Topology:
    async with broker_channel(settings) as channel:
        return await topology.declare(channel, settings)


async def _states(settings: Settings) -> dict[str, queues.QueueState]:
    connection = await aio_pika.connect(settings.rabbitmq_url, timeout=5)
    try:
        return {s.name: s for s in await queues.inspect(connection, settings)}
    finally:
        await connection.close()


async def _migrate(settings: Settings) -> list[str]:
    """`edutrack queues migrate` for `settings`; returns what it reported."""
    lines: list[str] = []
    connection = await aio_pika.connect(settings.rabbitmq_url, timeout=5)
    try:
        await queues.migrate(connection, settings, report=lines.append)
    finally:
        await connection.close()
    return lines


async def _publish(settings: Settings, routing_key: str, *outbox_ids: int) -> None:
    connection = await aio_pika.connect(settings.rabbitmq_url, timeout=5)
    try:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        exchange = await channel.get_exchange(topology.Names.of(settings).exchange)
        for outbox_id in outbox_ids:
            await exchange.publish(topology.job(outbox_id), routing_key, mandatory=True)
    finally:
        await connection.close()


async def test_quorum_queues_are_declared_with_at_least_once_dead_lettering(mail_settings: Settings) -> None:
    quorum = mail_settings.replace(rabbitmq_queue_type="quorum")
    await _declare(quorum)
    names = topology.Names.of(quorum)
    assert all(s.matches for s in (await _states(quorum)).values())

    # The broker itself says what the queues are: declaring them as classic ones is refused, naming the type.
    seen_as_classic = await _states(quorum.replace(rabbitmq_queue_type="classic"))
    assert all(not s.matches for s in seen_as_classic.values())
    assert {s.existing_type for s in seen_as_classic.values()} == {"quorum"}
    # ...and a delay queue without the safe dead-lettering arguments is not the queue that exists.
    [retry] = [s for s in topology.queue_specs(quorum) if s.name.startswith(names.retry_prefix)][:1]
    assert retry.arguments["x-dead-letter-strategy"] == "at-least-once"
    assert retry.arguments["x-overflow"] == "reject-publish"
    async with broker_channel(quorum) as channel:
        at_most_once = {k: v for k, v in retry.arguments.items() if k != "x-dead-letter-strategy"}
        with pytest.raises(aio_pika.exceptions.ChannelPreconditionFailed, match="x-dead-letter-strategy"):
            await channel.declare_queue(retry.name, durable=True, arguments=at_most_once)


def test_what_the_broker_says_is_understood() -> None:
    assert topology.existing_queue_type(
        "PRECONDITION_FAILED - inequivalent arg 'x-queue-type' for queue 'a.email.work' in vhost '/': "
        "received the value 'quorum' of type 'longstr' but current is none") == "classic"
    assert topology.existing_queue_type(
        "PRECONDITION_FAILED - inequivalent arg 'x-queue-type' for queue 'a.email.work' in vhost '/': "
        "received the value 'classic' of type 'longstr' but current is the value 'quorum' of type 'longstr'"
    ) == "quorum"
    assert topology.existing_queue_type(
        "PRECONDITION_FAILED - inequivalent arg 'x-queue-type' for queue 'a.email.work' in vhost '/': "
        "received 'classic' but current is 'quorum'") == "quorum"
    assert topology.existing_queue_type("PRECONDITION_FAILED - inequivalent arg 'x-expires' ...") is None
    assert topology.broker_version({"version": b"3.9.29"}) < topology.QUORUM_MIN_VERSION
    assert topology.broker_version({"version": "3.10.8"}) >= topology.QUORUM_MIN_VERSION
    assert topology.broker_version({"version": "4.0.5"}) >= topology.QUORUM_MIN_VERSION


# The broker retries an at-least-once dead-letter it could not route after this many ms (3 minutes by default).
SHORT_DLX_RETRY = "[{rabbit, [{dead_letter_worker_publisher_confirm_timeout, 1000}]}].\n"


async def test_a_retry_that_cannot_reach_the_work_queue_is_kept_by_quorum_and_lost_by_classic(
    mail_settings: Settings,
) -> None:
    """A delay queue expires while the work queue is gone (deleted by mistake, or mid-migration). Classic
    dead-lettering drops the message (only the relay's republish hours later would save the email); quorum
    queues with at-least-once keep it until the work queue takes it."""
    async with private_rabbitmq(advanced_config=SHORT_DLX_RETRY) as broker:
        outcome = {}
        for kind in ("classic", "quorum"):
            settings = mail_settings.replace(rabbitmq_url=broker.url, rabbitmq_queue_type=kind,
                                             namespace=f"{mail_settings.namespace}{kind}",
                                             email_retry_delays=(0.3,))
            names = topology.Names.of(settings)
            topo = await _declare(settings)
            async with broker_channel(settings) as channel:
                work = await channel.declare_queue(names.work, passive=True)
                await work.unbind(topo.exchange.name, topology.SEND)
            await _publish(settings, "retry.300", 7)
            await asyncio.sleep(1.0)  # expired, and found nowhere to go
            assert await queue_depth(settings, names.work) == 0
            await _declare(settings)  # the work queue's binding is back

            async def arrived(settings: Settings = settings) -> bool:
                return await queue_depth(settings, topology.Names.of(settings).work) == 1

            try:
                await wait_for(arrived, timeout=4)
                outcome[kind] = "kept"
            except AssertionError:
                outcome[kind] = "lost"
    assert outcome == {"classic": "lost", "quorum": "kept"}


async def test_workers_say_what_to_do_about_queues_of_another_type_and_rows_wait(
    ctx: AppContext, smtp: SmtpServer, mail_settings: Settings, workers: Workers, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR)
    classic = mail_settings.replace(rabbitmq_queue_type="classic")
    quorum = mail_settings.replace(rabbitmq_queue_type="quorum")
    await _declare(classic)  # what an existing deployment has
    ids = await add_emails(ctx, 3)
    relay_stop, relay = workers.start(relay_worker, quorum)
    notifier_stop, notifier = workers.start(notifier_worker, quorum)

    async def both_complained() -> bool:
        said = [r.getMessage() for r in caplog.records]
        return any(m.startswith("relay:") for m in said) and any(m.startswith("notifier:") for m in said)

    await wait_for(both_complained, timeout=10)
    message = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("relay:"))
    assert "is a classic queue but RABBITMQ_QUEUE_TYPE=quorum" in message
    assert "edutrack queues migrate" in message
    assert "docs/scaling.md" in message
    assert not relay.done()
    assert not notifier.done()  # waiting for the operator, not crashed
    assert (await statuses(ctx)) == {"pending": 3}

    relay_stop.set()
    notifier_stop.set()
    await asyncio.gather(relay, notifier)
    await _migrate(quorum)
    workers.start(relay_worker, quorum)
    workers.start(notifier_worker, quorum)

    async def delivered() -> bool:
        return await all_sent(ctx, 3)

    await wait_for(delivered)
    assert sorted(smtp.handler.outbox_ids()) == sorted(ids)


@pytest.mark.parametrize(("before", "after"), [("classic", "quorum"), ("quorum", "classic")])
async def test_migrate_keeps_every_waiting_message_and_the_emails_then_go_out(
    ctx: AppContext, smtp: SmtpServer, mail_settings: Settings, workers: Workers, before: str, after: str,
) -> None:
    old = mail_settings.replace(rabbitmq_queue_type=before, email_retry_delays=(600.0,))
    new = old.replace(rabbitmq_queue_type=after)
    names = topology.Names.of(old)
    await _declare(old)
    waiting, delayed, dead = await add_emails(ctx, 3), await add_emails(ctx, 2), await add_emails(ctx, 1)
    await _publish(old, topology.SEND, *waiting)
    await _publish(old, "retry.600000", *delayed)
    await _publish(old, topology.DEAD, *dead)

    lines = await _migrate(new)
    assert lines == [f"{names.retry_queue(600000)}: {before} -> {after}, 2 messages moved",
                     f"{names.dead}: {before} -> {after}, 1 messages moved",
                     f"{names.work}: {before} -> {after}, 3 messages moved"]
    states = await _states(new)
    assert all(s.matches and not s.holding for s in states.values())
    assert {n: s.messages for n, s in states.items()} == {names.work: 3, names.dead: 1,
                                                          names.retry_queue(600000): 2}
    assert await queue_depth(new, names.work + queues.HOLDING_SUFFIX) is None

    workers.start(notifier_worker, new)

    async def sent() -> bool:
        return (await statuses(ctx)).get("sent", 0) == 3

    await wait_for(sent)
    assert sorted(smtp.handler.outbox_ids()) == sorted(waiting)


async def test_queues_command_shows_the_state_and_migrate_refuses_while_a_notifier_consumes(
    mail_settings: Settings, workers: Workers,
) -> None:
    classic = mail_settings.replace(rabbitmq_queue_type="classic")
    quorum = mail_settings.replace(rabbitmq_queue_type="quorum")
    names = topology.Names.of(quorum)
    await _declare(classic)
    env = worker_env(quorum)

    def run(action: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([EDUTRACK, "--env-file", "/nonexistent", "queues", action], env=env,
                              capture_output=True, text=True, timeout=60)

    status = run("status")
    assert status.returncode == 1, status.stderr
    assert f"{names.work}: classic, RABBITMQ_QUEUE_TYPE wants quorum: run `edutrack queues migrate`" in status.stdout

    stop, notifier = workers.start(notifier_worker, classic)

    async def consuming() -> bool:
        return (await _states(classic))[names.work].consumers == 1

    await wait_for(consuming)
    refused = await asyncio.to_thread(run, "migrate")
    assert refused.returncode == 1
    assert f"{names.work} has consumers: stop every notifier and relay" in refused.stderr
    assert (await _states(quorum))[names.work].existing_type == "classic"  # nothing was changed

    stop.set()
    await notifier
    done = await asyncio.to_thread(run, "migrate")
    assert done.returncode == 0, done.stderr
    assert f"{names.work}: classic -> quorum, 0 messages moved" in done.stdout
    again = run("status")
    assert again.returncode == 0
    assert f"{names.work}: ok (quorum)" in again.stdout
    await delete_topology(quorum)


async def test_migrate_run_again_finishes_an_interrupted_migration(mail_settings: Settings) -> None:
    """As left by a migration that died after deleting the classic work queue: its messages only in the
    holding queue, no work queue. Running it again puts them into the new queue."""
    quorum = mail_settings.replace(rabbitmq_queue_type="quorum")
    names = topology.Names.of(quorum)
    await _declare(mail_settings)  # classic
    holding = names.work + queues.HOLDING_SUFFIX
    async with broker_channel(quorum) as channel:
        parked = await channel.declare_queue(holding, durable=True, arguments={
            **topology.type_arguments(quorum), **topology.expiry_arguments(quorum)})
        await channel.queue_delete(names.work)
        for outbox_id in (41, 42):
            await channel.default_exchange.publish(topology.job(outbox_id), parked.name)
    assert (await _states(quorum))[names.work].holding == 2

    lines = await _migrate(quorum)
    assert f"{names.work}: missing -> quorum, 2 messages moved" in lines
    work = (await _states(quorum))[names.work]
    assert (work.matches, work.messages, work.holding) == (True, 2, 0)
    assert await queue_depth(quorum, holding) is None
