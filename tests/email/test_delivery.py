"""End to end through real PostgreSQL, RabbitMQ and an SMTP server inside the test."""

from __future__ import annotations

import re

from aiohttp.test_utils import TestClient

from edutrack.context import AppContext
from edutrack.notifier.worker import notifier_worker
from edutrack.outbox.relay import relay_worker
from edutrack.settings import Settings
from tests.email.conftest import BOTH_QUEUE_TYPES, SmtpServer, Workers, wait_for
from tests.email.helpers import add_emails, all_sent, row, statuses
from tests.support.factories import Factory

pytestmark = BOTH_QUEUE_TYPES


async def test_password_reset_email_carries_a_working_token(
    client: TestClient, ctx: AppContext, factory: Factory, smtp: SmtpServer, mail_settings: Settings,
    workers: Workers,
) -> None:
    user = await factory.user("parent", email="mama@example.test", first_name="Анна")
    workers.start(relay_worker, mail_settings)
    workers.start(notifier_worker, mail_settings)

    resp = await client.post("/api/v1/password-reset/request", json={"email": "mama@example.test"})
    assert resp.status == 202

    async def arrived() -> bool:
        return len(smtp.handler.received) == 1

    await wait_for(arrived)
    message = smtp.handler.received[0]
    assert message["To"] == "mama@example.test"
    assert smtp.handler.envelopes[0][1] == ["mama@example.test"]
    assert message["Subject"] == "Восстановление пароля EduTrack"
    outbox_id = int(message["X-EduTrack-Outbox-Id"])
    assert message["Message-ID"] == f"<outbox-{outbox_id}.{mail_settings.namespace}@edutrack.local>"
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    assert text_part is not None
    assert html_part is not None
    body = text_part.get_content()
    assert "Анна" in body
    token = re.search(r"token=([A-Za-z0-9_\-]+)", body)
    assert token is not None

    resp = await client.post("/api/v1/password-reset/confirm",
                             json={"token": token.group(1), "new_password": "a-brand-new-pass-77"})
    assert resp.status in (200, 204), await resp.text()
    resp = await client.post("/api/v1/auth/login", json={"email": user.email, "password": "a-brand-new-pass-77"})
    assert resp.status == 200
    resp = await client.post("/api/v1/auth/login", json={"email": user.email, "password": "correct-horse-42"})
    assert resp.status == 401

    async def marked_sent() -> bool:
        return (await row(ctx, outbox_id)).status == "sent"

    await wait_for(marked_sent)
    assert (await row(ctx, outbox_id)).attempts == 1


async def test_transient_451_twice_then_delivered_exactly_once(
    ctx: AppContext, smtp: SmtpServer, mail_settings: Settings, workers: Workers,
) -> None:
    smtp.handler.script = ["451 4.3.0 Try again later", "451 4.3.0 Try again later"]
    [outbox_id] = await add_emails(ctx, 1)
    workers.start(relay_worker, mail_settings)
    workers.start(notifier_worker, mail_settings)

    async def sent() -> bool:
        return (await row(ctx, outbox_id)).status == "sent"

    await wait_for(sent)
    final = await row(ctx, outbox_id)
    assert final.attempts == 3
    assert final.last_error is None
    assert smtp.handler.answered[:2] == ["451 4.3.0 Try again later"] * 2
    # Linger past the longest retry delay: a stray extra copy would arrive by then.
    import asyncio
    await asyncio.sleep(1.0)
    assert smtp.handler.outbox_ids() == [outbox_id]


async def test_permanent_550_goes_to_dead_letter_queue_and_row_says_why(
    ctx: AppContext, smtp: SmtpServer, mail_settings: Settings, workers: Workers,
) -> None:
    import aio_pika

    from edutrack.outbox import topology

    smtp.handler.script = ["550 5.1.1 No such user here"]
    [bad, good] = await add_emails(ctx, 2)
    workers.start(relay_worker, mail_settings)
    workers.start(notifier_worker, mail_settings)

    async def settled() -> bool:
        s = await statuses(ctx)
        return s.get("dead", 0) == 1 and s.get("sent", 0) == 1

    await wait_for(settled)
    dead = await row(ctx, bad) if (await row(ctx, bad)).status == "dead" else await row(ctx, good)
    assert dead.last_error is not None
    assert "550" in dead.last_error
    assert "No such user" in dead.last_error
    assert dead.attempts == 1  # permanent: no retries

    connection = await aio_pika.connect(mail_settings.rabbitmq_url)
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue(topology.Names.of(mail_settings).dead, durable=True, passive=True)
        message = await queue.get(timeout=5)
        assert message is not None
        assert topology.outbox_id_of(message.body) == dead.id
        assert "550" in str(message.headers["x-error"])
        await message.ack()
        assert await queue.get(fail=False) is None
    finally:
        await connection.close()


async def test_exhausted_retries_are_dead_lettered(
    ctx: AppContext, smtp: SmtpServer, mail_settings: Settings, workers: Workers,
) -> None:
    smtp.handler.script = ["421 4.7.0 Busy"] * 10
    settings = mail_settings.replace(email_max_attempts=3, email_retry_delays=(0.1,))
    [outbox_id] = await add_emails(ctx, 1)
    workers.start(relay_worker, settings)
    workers.start(notifier_worker, settings)

    async def dead() -> bool:
        return (await row(ctx, outbox_id)).status == "dead"

    await wait_for(dead)
    final = await row(ctx, outbox_id)
    assert final.attempts == 3
    assert final.last_error is not None
    assert "gave up after 3 attempts" in final.last_error
    assert smtp.handler.received == []


async def test_invalid_address_is_permanent_without_touching_smtp(
    ctx: AppContext, smtp: SmtpServer, mail_settings: Settings, workers: Workers,
) -> None:
    async with ctx.sessions.begin() as session:
        from edutrack.queries import outbox as q

        [outbox_id] = await q.insert_many(session, [{
            "recipient": "not an address", "subject": "x", "body_text": "x", "body_html": None, "kind": "test",
            "user_id": None}])
    workers.start(relay_worker, mail_settings)
    workers.start(notifier_worker, mail_settings)

    async def dead() -> bool:
        return (await row(ctx, outbox_id)).status == "dead"

    await wait_for(dead)
    assert "invalid recipient" in ((await row(ctx, outbox_id)).last_error or "")
    assert smtp.handler.answered == []


async def test_two_relays_and_two_notifiers_deliver_each_email_once(
    ctx: AppContext, smtp: SmtpServer, mail_settings: Settings, workers: Workers,
) -> None:
    settings = mail_settings.replace(relay_batch_size=25)
    ids = await add_emails(ctx, 300)
    for _ in range(2):
        workers.start(relay_worker, settings)
        workers.start(notifier_worker, settings)

    async def done() -> bool:
        return await all_sent(ctx, 300)

    await wait_for(done, timeout=60)
    received = smtp.handler.outbox_ids()
    assert sorted(received) == sorted(ids)
    assert len(received) == len(set(received))
