"""`edutrack relay`: moves outbox rows to RabbitMQ, and runs the digest scheduler and the push dispatcher beside it.

One cycle: claim a batch in a short transaction (status 'publishing' + lease, FOR UPDATE SKIP LOCKED),
publish every row as a persistent message with publisher confirms and mandatory=True (a message the
broker cannot route is a failure, not a silent drop), then mark the confirmed rows 'published'.
Rows whose publish failed are released to 'pending'. If the relay dies between claim and mark,
the lease expires and another cycle (or relay) reclaims the rows: the notifier's idempotency on the
outbox id absorbs the resulting second message.

RabbitMQ down: the relay stops claiming, reconnects with exponential backoff, and rows simply wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractConnection
from sqlalchemy.exc import SQLAlchemyError

from edutrack.context import AppContext
from edutrack.outbox import topology
from edutrack.queries import outbox as q
from edutrack.resources import open_context
from edutrack.settings import Settings

log = logging.getLogger(__name__)

PUBLISH_TIMEOUT = 10.0
MAX_BACKOFF = 15.0


class BrokerUnavailable(Exception):
    """The connection to RabbitMQ is gone; reconnect before claiming more rows."""


async def connect(settings: Settings, name: str) -> AbstractConnection:
    # A plain (not robust) connection: on loss we rebuild channel and topology ourselves, explicitly.
    return await aio_pika.connect(settings.rabbitmq_url, timeout=5,
                                  client_properties={"connection_name": f"{name}:{settings.namespace}"})


class Relay:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.settings = ctx.settings
        self.published = 0

    async def run(self, stop: asyncio.Event) -> None:
        backoff = 0.2
        while not stop.is_set():
            connection: AbstractConnection | None = None
            try:
                connection = await connect(self.settings, "edutrack-relay")
                channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
                topo = await topology.declare(channel, self.settings)
                log.info("relay connected to RabbitMQ")
                backoff = 0.2
                await self._pump(topo.exchange, channel, stop)
            except (topology.TopologyConflict, topology.UnsupportedBroker) as exc:
                # An operator's decision, not an outage: say what to do, keep the rows, look again later.
                log.error("relay: %s", exc, extra={"retry_in": backoff})
                await _sleep_or_stop(stop, backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
            except (OSError, TimeoutError, aio_pika.exceptions.AMQPError, BrokerUnavailable,
                    ConnectionError) as exc:
                log.warning("relay: RabbitMQ unavailable; outbox rows wait", extra={"error": repr(exc),
                                                                                   "retry_in": backoff})
                await _sleep_or_stop(stop, backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
            finally:
                if connection is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(connection.close(), 2)

    async def _pump(self, exchange: aio_pika.abc.AbstractExchange, channel: AbstractChannel,
                    stop: asyncio.Event) -> None:
        while not stop.is_set():
            # The channel, not the connection: aio-pika's plain connection keeps is_closed False after the
            # socket died, while its channels are marked closed.
            if channel.is_closed:
                raise BrokerUnavailable("connection lost")
            try:
                count = await self.relay_once(exchange)
            except SQLAlchemyError as exc:
                log.warning("relay: database unavailable", extra={"error": repr(exc)})
                count = 0
                await _sleep_or_stop(stop, 1.0)
            if count < self.settings.relay_batch_size:
                # Drained: poll again shortly. A full batch means more is waiting, so go on at once.
                await _sleep_or_stop(stop, self.settings.relay_poll_interval)

    async def relay_once(self, exchange: aio_pika.abc.AbstractExchange) -> int:
        """Claim, publish and mark one batch; returns how many rows were claimed."""
        async with self.ctx.sessions.begin() as session:
            ids = await q.claim_batch(session, limit=self.settings.relay_batch_size,
                                      lease_seconds=self.settings.relay_lease,
                                      republish_after=self.settings.relay_republish_after)
        if not ids:
            return 0
        results = await asyncio.gather(*(self._publish(exchange, i) for i in ids), return_exceptions=True)
        done = [i for i, r in zip(ids, results, strict=True) if r is None]
        failed = [i for i, r in zip(ids, results, strict=True) if r is not None]
        async with self.ctx.sessions.begin() as session:
            if done:
                await q.mark_published(session, done)
            if failed:
                await q.release(session, failed)
        self.published += len(done)
        if failed:
            first = next(r for r in results if r is not None)
            raise BrokerUnavailable(f"{len(failed)} of {len(ids)} publishes failed: {first!r}")
        return len(ids)

    async def _publish(self, exchange: aio_pika.abc.AbstractExchange, outbox_id: int) -> None:
        # Returns only once the broker confirmed; an unroutable (returned) or nacked message raises.
        await exchange.publish(topology.job(outbox_id), topology.SEND, mandatory=True, timeout=PUBLISH_TIMEOUT)


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def relay_worker(settings: Settings, stop: asyncio.Event) -> None:
    """The `relay` role: the outbox relay, the digest scheduler, the push dispatcher, the scheduled-news job, the
    refresh-token sweep and the file sweep, until `stop` is set."""
    from edutrack.digest.news_publisher import ScheduledNewsPublisher
    from edutrack.digest.scheduler import DigestScheduler
    from edutrack.digest.token_sweeper import RefreshTokenSweeper
    from edutrack.push.dispatcher import PushDispatcher
    from edutrack.services.files import sweep as file_sweep

    async with open_context(settings, role="relay", connect_amqp=False, small_pool=True) as ctx:
        relay = Relay(ctx)
        digests = DigestScheduler(ctx)
        await asyncio.gather(relay.run(stop), digests.run(stop), PushDispatcher(ctx).run(stop),
                             ScheduledNewsPublisher(ctx).run(stop), RefreshTokenSweeper(ctx).run(stop),
                             file_sweep.run(ctx, stop))
