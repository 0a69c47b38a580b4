"""The notifier: competing consumers of the work queue, each job one email to one recipient, or one web push to
one browser (outbox kind `push`, edutrack/push/sender.py; same retries, dead-lettering and idempotency).

Delivery is at least once (manual acks after the outcome is committed), with duplicates cut down by
idempotency on the outbox id: the job locks its outbox row for the duration of the send, so a second
copy of the job (a relay republish after a lease expiry, a redelivery after a crash) waits for the
first and then finds the row 'sent' and is acked without sending. The one window left is a process
killed after the SMTP server accepted the message and before the 'sent' commit: that email is sent
again on redelivery, with the same Message-ID. No design closes it: the SMTP server's acceptance and our
commit share no transaction (README, "Email delivery").

Transient failures go to a delay queue (TTL, then dead-lettered back to the work queue) for the next
attempt; permanent failures and exhausted attempts go to the dead-letter queue and the row says why.
Shutdown: cancel the consumer, finish the emails being sent, hand back the prefetched rest, close.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

import aio_pika
from aio_pika.abc import AbstractConnection, AbstractIncomingMessage
from sqlalchemy.ext.asyncio import AsyncSession

from edutrack.context import AppContext
from edutrack.db.models import OutboxStatus
from edutrack.notifier.smtp import SendFailure, SmtpSender
from edutrack.outbox import topology
from edutrack.outbox.relay import MAX_BACKOFF, PUBLISH_TIMEOUT, connect
from edutrack.push.sender import PushSender
from edutrack.queries import outbox as q
from edutrack.queries.push import PUSH_KIND
from edutrack.resources import open_context
from edutrack.settings import Settings

log = logging.getLogger(__name__)

_STOP = None


@dataclass
class Stats:
    sent: int = 0
    skipped_duplicates: int = 0
    retried: int = 0
    dead: int = 0


class Notifier:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.settings = ctx.settings
        self.stats = Stats()

    async def run(self, stop: asyncio.Event) -> None:
        backoff = 0.2
        while not stop.is_set():
            connection: AbstractConnection | None = None
            try:
                connection = await connect(self.settings, "edutrack-notifier")
                backoff = 0.2
                await self._consume(connection, stop)
            except (topology.TopologyConflict, topology.UnsupportedBroker) as exc:
                log.error("notifier: %s", exc, extra={"retry_in": backoff})
                await _sleep_or_stop(stop, backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
            except (OSError, TimeoutError, aio_pika.exceptions.AMQPError, ConnectionError) as exc:
                log.warning("notifier: RabbitMQ unavailable", extra={"error": repr(exc), "retry_in": backoff})
                await _sleep_or_stop(stop, backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
            finally:
                if connection is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(connection.close(), 2)

    async def _consume(self, connection: AbstractConnection, stop: asyncio.Event) -> None:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        await channel.set_qos(prefetch_count=self.settings.notifier_prefetch)
        topo = await topology.declare(channel, self.settings)
        inbox: asyncio.Queue[AbstractIncomingMessage | None] = asyncio.Queue()
        senders = [asyncio.create_task(self._sender(inbox, topo.exchange), name=f"smtp-sender-{i}")
                   for i in range(self.settings.notifier_concurrency)]
        tag = await topo.work.consume(inbox.put, no_ack=False)
        log.info("notifier consuming", extra={"queue": topo.work.name})
        try:
            # The channel, not the connection: aio-pika's plain connection keeps is_closed False after the
            # socket died, while its channels are marked closed.
            while not stop.is_set() and not channel.is_closed and not all(t.done() for t in senders):
                await _sleep_or_stop(stop, 0.2)
        finally:
            if not channel.is_closed:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(topo.work.cancel(tag), 2)
            # Prefetched but not started: back to the queue for another consumer (or our next start).
            while not inbox.empty():
                message = inbox.get_nowait()
                if message is not None and not channel.is_closed:
                    with contextlib.suppress(Exception):
                        await message.nack(requeue=True)
            for _ in senders:
                inbox.put_nowait(_STOP)
            await asyncio.gather(*senders, return_exceptions=True)
        if channel.is_closed and not stop.is_set():
            raise ConnectionError("RabbitMQ connection lost")

    async def _sender(self, inbox: asyncio.Queue[AbstractIncomingMessage | None],
                      exchange: aio_pika.abc.AbstractExchange) -> None:
        smtp = SmtpSender(self.settings)
        push = PushSender(self.ctx)
        try:
            while (message := await inbox.get()) is not _STOP:
                assert message is not None
                try:
                    await self.handle(message, smtp, exchange, push)
                except Exception as exc:
                    # Not acked: RabbitMQ redelivers it (after reconnecting, if the link was the problem).
                    log.warning("notifier: job not finished; it will be redelivered", extra={"error": repr(exc)})
        finally:
            await smtp.close()
            await push.close()

    async def handle(self, message: AbstractIncomingMessage, smtp: SmtpSender,
                     exchange: aio_pika.abc.AbstractExchange, push: PushSender) -> None:
        outbox_id = topology.outbox_id_of(message.body)
        if outbox_id is None:
            await self._publish(exchange, message.body, topology.DEAD, {"x-error": "malformed job"})
            await message.ack()
            return
        async with self.ctx.sessions.begin() as session:
            row = await q.lock_for_delivery(session, outbox_id)
            if row is None or row.status in (OutboxStatus.SENT.value, OutboxStatus.DEAD.value):
                self.stats.skipped_duplicates += 1
                failure: SendFailure | None = None
            else:
                if row.kind == PUSH_KIND:
                    failure = await push.send(session, row)
                else:
                    failure = await smtp.send(row)
                if failure is None:
                    await q.mark_sent(session, outbox_id)
                    self.stats.sent += 1
                else:
                    await self._failed(session, exchange, row.id, row.attempts + 1, failure)
        await message.ack()

    async def _failed(self, session: AsyncSession, exchange: aio_pika.abc.AbstractExchange, outbox_id: int,
                      attempt: int, failure: SendFailure) -> None:
        give_up = failure.permanent or attempt >= self.settings.email_max_attempts
        # The message goes out (confirmed) before the row changes commit: if the publish fails, the
        # transaction rolls back and the unacked job is redelivered, so nothing is lost in between.
        if give_up:
            reason = failure.reason if failure.permanent else f"gave up after {attempt} attempts: {failure.reason}"
            await self._publish(exchange, topology.job(outbox_id).body, topology.DEAD,
                                {"x-error": reason[:500], "x-outbox-id": outbox_id})
            await q.record_failure(session, outbox_id, reason, dead=True)
            self.stats.dead += 1
            log.warning("email dead-lettered", extra={"outbox_id": outbox_id, "reason": reason})
        else:
            delay = topology.retry_delay_ms(self.settings, attempt)
            await self._publish(exchange, topology.job(outbox_id).body, f"retry.{delay}",
                                {"x-error": failure.reason[:500], "x-outbox-id": outbox_id})
            await q.record_failure(session, outbox_id, failure.reason, dead=False)
            self.stats.retried += 1
            log.info("email will be retried", extra={"outbox_id": outbox_id, "attempt": attempt,
                                                     "delay_ms": delay, "reason": failure.reason})

    async def _publish(self, exchange: aio_pika.abc.AbstractExchange, body: bytes, routing_key: str,
                       headers: dict[str, str | int]) -> None:
        message = aio_pika.Message(body, content_type=topology.CONTENT_TYPE,
                                   delivery_mode=aio_pika.DeliveryMode.PERSISTENT, headers=dict(headers))
        await exchange.publish(message, routing_key, mandatory=True, timeout=PUBLISH_TIMEOUT)


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def notifier_worker(settings: Settings, stop: asyncio.Event) -> None:
    """The `notifier` role, until `stop` is set."""
    async with open_context(settings, role="notifier", connect_amqp=False) as ctx:
        await Notifier(ctx).run(stop)
