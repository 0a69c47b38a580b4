"""RabbitMQ names and declarations shared by the relay and the notifier.

    {ns}.email (direct exchange, durable)
      "send"            -> {ns}.email.work         the notifier consumes here
      "retry.{ms}"      -> {ns}.email.retry.{ms}   no consumer; message TTL {ms}, then dead-lettered
                                                   back to the exchange with routing key "send"
      "dead"            -> {ns}.email.dead         permanent failures and exhausted retries, for people

Every name starts with Settings.namespace so deployments (and test runs) sharing one broker never meet.
A delay queue's name carries its TTL: changing the delays creates new queues instead of clashing with
the arguments of existing ones.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractQueue

from edutrack.settings import Settings

SEND = "send"
DEAD = "dead"
CONTENT_TYPE = "application/json"


@dataclass(frozen=True, slots=True)
class Names:
    exchange: str
    work: str
    dead: str
    retry_prefix: str

    @classmethod
    def of(cls, settings: Settings) -> Names:
        base = f"{settings.namespace}.email"
        return cls(exchange=base, work=f"{base}.work", dead=f"{base}.dead", retry_prefix=f"{base}.retry")

    def retry_queue(self, delay_ms: int) -> str:
        return f"{self.retry_prefix}.{delay_ms}"


def delays_ms(settings: Settings) -> list[int]:
    return sorted({max(int(d * 1000), 1) for d in settings.email_retry_delays})


def retry_delay_ms(settings: Settings, attempt: int) -> int:
    """The wait after failed attempt number `attempt` (1-based); the last configured delay repeats."""
    delays = settings.email_retry_delays
    return max(int(delays[min(attempt, len(delays)) - 1] * 1000), 1)


@dataclass(slots=True)
class Topology:
    exchange: AbstractExchange
    work: AbstractQueue
    dead: AbstractQueue


TEST_QUEUE_EXPIRY_MS = 3600 * 1000


def _expiry(settings: Settings) -> dict[str, int]:
    # Test runs use a random namespace each; any of their queues a test did not delete (a crashed run,
    # another suite starting `edutrack run`) disappears from the shared broker an hour after its last use.
    # Never in development or production: an expired work queue would drop waiting emails.
    return {"x-expires": TEST_QUEUE_EXPIRY_MS} if settings.environment == "test" else {}


async def declare(channel: AbstractChannel, settings: Settings) -> Topology:
    names = Names.of(settings)
    expiry = _expiry(settings)
    exchange = await channel.declare_exchange(names.exchange, aio_pika.ExchangeType.DIRECT, durable=True)
    work = await channel.declare_queue(names.work, durable=True, arguments={**expiry})
    await work.bind(exchange, SEND)
    dead = await channel.declare_queue(names.dead, durable=True, arguments={**expiry})
    await dead.bind(exchange, DEAD)
    for ms in delays_ms(settings):
        retry = await channel.declare_queue(
            names.retry_queue(ms),
            durable=True,
            arguments={"x-message-ttl": ms, "x-dead-letter-exchange": names.exchange,
                       "x-dead-letter-routing-key": SEND, **expiry},
        )
        await retry.bind(exchange, f"retry.{ms}")
    return Topology(exchange=exchange, work=work, dead=dead)


async def delete(channel: AbstractChannel, settings: Settings) -> None:
    """Remove a namespace's queues and exchange (tests and benchmarks clean up after themselves)."""
    names = Names.of(settings)
    for name in [names.work, names.dead, *(names.retry_queue(ms) for ms in delays_ms(settings))]:
        await channel.queue_delete(name)
    await channel.exchange_delete(names.exchange)


def job(outbox_id: int, *, headers: dict[str, str | int] | None = None) -> aio_pika.Message:
    """The message for one outbox row. It carries only the id: the row is the source of truth for the
    content and for whether the email already went out."""
    return aio_pika.Message(
        json.dumps({"outbox_id": outbox_id}).encode(),
        content_type=CONTENT_TYPE,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=f"outbox-{outbox_id}",
        headers=dict(headers or {}),
    )


def outbox_id_of(body: bytes) -> int | None:
    try:
        value = json.loads(body)["outbox_id"]
    except (ValueError, KeyError, TypeError):
        return None
    return value if isinstance(value, int) and value > 0 else None
