"""RabbitMQ names and declarations shared by the relay and the notifier.

    {ns}.email (direct exchange, durable)
      "send"            -> {ns}.email.work         the notifier consumes here
      "retry.{ms}"      -> {ns}.email.retry.{ms}   no consumer; message TTL {ms}, then dead-lettered
                                                   back to the exchange with routing key "send"
      "dead"            -> {ns}.email.dead         permanent failures and exhausted retries, for people

Every name starts with Settings.namespace so deployments (and test runs) sharing one broker never meet.
A delay queue's name carries its TTL: changing the delays creates new queues instead of clashing with
the arguments of existing ones.

RABBITMQ_QUEUE_TYPE picks classic or quorum queues for all of them. Quorum queues (RabbitMQ 3.10+, which
added message TTL and at-least-once dead-lettering to them) replicate every message to a majority of the
cluster's nodes; their delay queues dead-letter at-least-once: an expired message leaves the delay queue
only once the work queue has confirmed it, where classic queues (and quorum queues' default) drop it if
the hop fails. A queue cannot change type (or arguments) in place: a queue that exists with other
arguments is reported as a TopologyConflict naming the way out (`edutrack queues migrate`, queues.py).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

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


@dataclass(frozen=True, slots=True)
class QueueSpec:
    name: str
    routing_key: str
    arguments: dict[str, Any] = field(default_factory=dict)


TEST_QUEUE_EXPIRY_MS = 3600 * 1000
# Message TTL and at-least-once dead-lettering of quorum queues arrived in RabbitMQ 3.10.
QUORUM_MIN_VERSION = (3, 10)


class TopologyConflict(Exception):
    """A queue exists with other arguments than this process would declare, most often another queue type.
    RabbitMQ refuses such a declaration (PRECONDITION_FAILED); this says what to do about it."""

    def __init__(self, queue: str, reply: str, settings: Settings) -> None:
        self.queue = queue
        self.reply = reply
        self.existing_type = existing_queue_type(reply)
        wanted = settings.rabbitmq_queue_type
        if self.existing_type is not None and self.existing_type != wanted:
            problem = (f"RabbitMQ queue {queue!r} is a {self.existing_type} queue but RABBITMQ_QUEUE_TYPE={wanted}; "
                       f"a queue cannot change type in place.")
        else:
            problem = f"RabbitMQ queue {queue!r} exists with other arguments than this version declares ({reply})."
        super().__init__(
            f"{problem} Stop every relay and notifier of namespace {settings.namespace!r}, then run "
            f"`edutrack queues migrate` (it moves the waiting messages into queues of type {wanted}); "
            f"or set RABBITMQ_QUEUE_TYPE to the type the queues have. Until then outbox rows wait in PostgreSQL. "
            f"See docs/scaling.md.")


class UnsupportedBroker(Exception):
    """The broker cannot hold the requested queue type (quorum delay queues need RabbitMQ 3.10 or newer)."""


_INEQUIVALENT_TYPE = re.compile(r"inequivalent arg 'x-queue-type'.*current is (?:none|(?:the value )?'([a-z]+)')")


def existing_queue_type(reply: str) -> str | None:
    """The type of the existing queue, from RabbitMQ's PRECONDITION_FAILED text, if the type is what differs.
    A queue declared without x-queue-type ("none") is a classic queue."""
    match = _INEQUIVALENT_TYPE.search(reply)
    if match is None:
        return None
    return match.group(1) or "classic"


def expiry_arguments(settings: Settings) -> dict[str, int]:
    # Test runs use a random namespace each; any of their queues a test did not delete (a crashed run,
    # another suite starting `edutrack run`) disappears from the shared broker an hour after its last use.
    # Never in development or production: an expired work queue would drop waiting emails.
    return {"x-expires": TEST_QUEUE_EXPIRY_MS} if settings.environment == "test" else {}


def type_arguments(settings: Settings) -> dict[str, str]:
    # Classic queues are declared exactly as before quorum queues existed here (no x-queue-type), so the
    # queues of every existing deployment stay equivalent on every broker version.
    return {"x-queue-type": "quorum"} if settings.rabbitmq_queue_type == "quorum" else {}


def queue_specs(settings: Settings) -> list[QueueSpec]:
    """Every queue of the namespace with the exact arguments this version declares it with."""
    names = Names.of(settings)
    quorum = settings.rabbitmq_queue_type == "quorum"
    base = {**type_arguments(settings), **expiry_arguments(settings)}
    # At-least-once needs reject-publish overflow (a full queue refuses instead of dropping its head). Without
    # it, a message that cannot reach the work queue on expiry (the hop itself failed) would be gone.
    hop = {"x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish"} if quorum else {}
    specs = [QueueSpec(names.work, SEND, dict(base)), QueueSpec(names.dead, DEAD, dict(base))]
    for ms in delays_ms(settings):
        specs.append(QueueSpec(names.retry_queue(ms), f"retry.{ms}", {
            **base, "x-message-ttl": ms, "x-dead-letter-exchange": names.exchange,
            "x-dead-letter-routing-key": SEND, **hop}))
    return specs


def broker_version(server_properties: dict[str, Any]) -> tuple[int, ...]:
    raw = server_properties.get("version", "")
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


async def check_broker(channel: AbstractChannel, settings: Settings) -> None:
    if settings.rabbitmq_queue_type != "quorum":
        return
    underlay = await channel.get_underlay_channel()
    version = broker_version(dict(underlay.connection.server_properties or {}))
    if version and version < QUORUM_MIN_VERSION:
        raise UnsupportedBroker(
            f"RABBITMQ_QUEUE_TYPE=quorum needs RabbitMQ 3.10 or newer (message TTL and at-least-once "
            f"dead-lettering of quorum queues); this broker is {'.'.join(map(str, version))}. "
            f"Upgrade RabbitMQ or set RABBITMQ_QUEUE_TYPE=classic.")


async def declare_queue(channel: AbstractChannel, spec: QueueSpec, settings: Settings) -> AbstractQueue:
    try:
        return await channel.declare_queue(spec.name, durable=True, arguments=dict(spec.arguments))
    except aio_pika.exceptions.ChannelPreconditionFailed as exc:
        raise TopologyConflict(spec.name, str(exc), settings) from exc


async def declare(channel: AbstractChannel, settings: Settings) -> Topology:
    """Declare the exchange and every queue (idempotent). Raises TopologyConflict if a queue exists with other
    arguments (the channel is closed by the broker then), UnsupportedBroker if quorum queues cannot work."""
    await check_broker(channel, settings)
    names = Names.of(settings)
    exchange = await channel.declare_exchange(names.exchange, aio_pika.ExchangeType.DIRECT, durable=True)
    queues: dict[str, AbstractQueue] = {}
    for spec in queue_specs(settings):
        queue = await declare_queue(channel, spec, settings)
        await queue.bind(exchange, spec.routing_key)
        queues[spec.name] = queue
    return Topology(exchange=exchange, work=queues[names.work], dead=queues[names.dead])


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
