"""`edutrack queues status|migrate`: what the namespace's queues are, and moving them to RABBITMQ_QUEUE_TYPE.

RabbitMQ cannot change a queue's type or arguments in place: the queue has to be deleted and declared
again, and the messages waiting in it must survive that. `migrate` does it queue by queue:

1. declare a holding queue `{queue}.migrating` (of the new type) and give it the queue's binding, so a
   message routed there during the swap (a delay queue expiring into the work queue) is kept;
2. take the queue's binding away and move its messages to the holding queue, each one published with a
   confirm before it is acked in the old queue;
3. delete the old queue (only if empty), declare the new one with its binding, and move the messages back.

Each message is acked only after its copy is confirmed, so a crash or a lost connection leaves every
message in one queue or the other (or, in the instant between confirm and ack, in both: the notifier's
idempotency on the outbox id makes that copy harmless). Running `migrate` again finishes the job: a holding
queue that still has messages is emptied into its queue. Messages from a delay queue wait their full delay
again afterwards.

The relays and notifiers of the namespace must be stopped: a consumer on a queue makes `migrate` refuse, and
a relay started with the old type would declare the old queue again. Outbox rows wait in PostgreSQL meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractExchange, AbstractQueue

from edutrack.outbox import topology
from edutrack.outbox.relay import PUBLISH_TIMEOUT
from edutrack.settings import RABBITMQ_QUEUE_TYPES, Settings

HOLDING_SUFFIX = ".migrating"


class MigrationRefused(Exception):
    """The namespace's queues are in use; nothing was changed."""


class MigrationInterrupted(Exception):
    """Stopped half way (every message is still in its old queue or a holding queue): run it again."""


@dataclass(frozen=True, slots=True)
class QueueState:
    name: str
    exists: bool
    matches: bool  # declared with exactly the arguments this version and RABBITMQ_QUEUE_TYPE want
    existing_type: str | None  # known when the type is what differs
    messages: int
    consumers: int
    holding: int  # messages in a holding queue left by an unfinished migration

    def describe(self, wanted: str) -> str:
        if not self.exists:
            state = "missing (declared at the next start)"
        elif self.matches:
            state = f"ok ({wanted})"
        elif self.existing_type is not None:
            state = f"{self.existing_type}, RABBITMQ_QUEUE_TYPE wants {wanted}: run `edutrack queues migrate`"
        else:
            state = "other arguments than this version declares: run `edutrack queues migrate`"
        extra = f", {self.holding} in {self.name}{HOLDING_SUFFIX}" if self.holding else ""
        return f"{self.name}: {state}; {self.messages} messages, {self.consumers} consumers{extra}"


async def _passive(connection: AbstractConnection, name: str) -> tuple[int, int] | None:
    """(messages, consumers) of an existing queue, or None. A channel of its own: a 404 closes it."""
    channel = await connection.channel()
    try:
        queue = await channel.declare_queue(name, passive=True)
    except aio_pika.exceptions.ChannelNotFoundEntity:
        return None
    try:
        result = queue.declaration_result
        return int(result.message_count or 0), int(result.consumer_count or 0)
    finally:
        await channel.close()


async def _probe(connection: AbstractConnection, spec: topology.QueueSpec) -> str | None:
    """None if the existing queue is equivalent to `spec`, else RabbitMQ's PRECONDITION_FAILED text."""
    channel = await connection.channel()
    try:
        await channel.declare_queue(spec.name, durable=True, arguments=dict(spec.arguments))
    except aio_pika.exceptions.ChannelPreconditionFailed as exc:
        return str(exc)
    await channel.close()
    return None


async def _existing_type(connection: AbstractConnection, settings: Settings, name: str, conflict: str) -> str | None:
    found = topology.existing_queue_type(conflict)
    if found is not None:
        return found
    # RabbitMQ names only the first argument that differs (a delay queue's dead-letter strategy, say): try
    # the whole argument set of each other type.
    for other in RABBITMQ_QUEUE_TYPES:
        if other == settings.rabbitmq_queue_type:
            continue
        as_other = {s.name: s for s in topology.queue_specs(settings.replace(rabbitmq_queue_type=other))}
        if await _probe(connection, as_other[name]) is None:
            return other
    return None


async def inspect(connection: AbstractConnection, settings: Settings) -> list[QueueState]:
    states = []
    for spec in topology.queue_specs(settings):
        counts = await _passive(connection, spec.name)
        holding = await _passive(connection, spec.name + HOLDING_SUFFIX)
        conflict = await _probe(connection, spec) if counts is not None else None
        messages, consumers = counts or (0, 0)
        states.append(QueueState(
            name=spec.name, exists=counts is not None, matches=counts is not None and conflict is None,
            existing_type=await _existing_type(connection, settings, spec.name, conflict) if conflict else None,
            messages=messages, consumers=consumers, holding=holding[0] if holding else 0))
    return states


async def _move(channel: AbstractChannel, source: AbstractQueue, target: str) -> int:
    moved = 0
    while (message := await source.get(no_ack=False, fail=False)) is not None:
        copy = aio_pika.Message(
            message.body, headers=dict(message.headers or {}), content_type=message.content_type,
            content_encoding=message.content_encoding, message_id=message.message_id,
            correlation_id=message.correlation_id, timestamp=message.timestamp, type=message.type,
            app_id=message.app_id, delivery_mode=aio_pika.DeliveryMode.PERSISTENT)
        await channel.default_exchange.publish(copy, target, mandatory=True, timeout=PUBLISH_TIMEOUT)
        await message.ack()
        moved += 1
    return moved


async def _delete_empty(channel: AbstractChannel, name: str) -> None:
    # Quorum queues refuse queue.delete with if-empty; the queue has no binding any more, so nothing can
    # arrive between this check and the delete.
    queue = await channel.declare_queue(name, passive=True)
    left = int(queue.declaration_result.message_count or 0)
    if left:
        raise MigrationInterrupted(f"{name} still holds {left} messages; run `edutrack queues migrate` again")
    await channel.queue_delete(name)


async def _confirming(connection: AbstractConnection, settings: Settings) -> tuple[AbstractChannel,
                                                                                 AbstractExchange]:
    channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
    exchange = await channel.get_exchange(topology.Names.of(settings).exchange)
    return channel, exchange


async def _swap(connection: AbstractConnection, spec: topology.QueueSpec, settings: Settings, replace: bool) -> int:
    """Re-create one queue with `spec`'s arguments (if `replace`), keeping its messages; returns how many
    messages went through the holding queue."""
    holding = spec.name + HOLDING_SUFFIX
    holding_args: dict[str, Any] = {**topology.type_arguments(settings), **topology.expiry_arguments(settings)}
    # Two channels: RabbitMQ 3.10 crashes a channel that publishes to a queue re-created with another type
    # under a name the same channel used before.
    channel, exchange = await _confirming(connection, settings)
    try:
        parked = await channel.declare_queue(holding, durable=True, arguments=holding_args)
        await parked.bind(exchange, spec.routing_key)
        if replace:
            old = await channel.declare_queue(spec.name, passive=True)
            await old.unbind(exchange, spec.routing_key)
            await _move(channel, old, holding)
            await _delete_empty(channel, spec.name)
    finally:
        await channel.close()
    channel, exchange = await _confirming(connection, settings)
    try:
        queue = await topology.declare_queue(channel, spec, settings)
        await queue.bind(exchange, spec.routing_key)
        parked = await channel.declare_queue(holding, durable=True, arguments=holding_args)
        await parked.unbind(exchange, spec.routing_key)
        moved = await _move(channel, parked, spec.name)
        await _delete_empty(channel, holding)
    finally:
        if not channel.is_closed:
            await channel.close()
    return moved


async def migrate(connection: AbstractConnection, settings: Settings,
                  report: Callable[[str], None] = print) -> list[QueueState]:
    """Bring every queue of the namespace to RABBITMQ_QUEUE_TYPE (and this version's arguments) with its
    messages. Returns the states before; raises MigrationRefused while a consumer is attached."""
    before = await inspect(connection, settings)
    busy = [s for s in before if s.consumers]
    if busy:
        raise MigrationRefused(
            f"{', '.join(s.name for s in busy)} has consumers: stop every notifier and relay of namespace "
            f"{settings.namespace!r} first (outbox rows wait in PostgreSQL meanwhile)")
    channel = await connection.channel()
    try:
        await topology.check_broker(channel, settings)
        names = topology.Names.of(settings)
        await channel.declare_exchange(names.exchange, aio_pika.ExchangeType.DIRECT, durable=True)
    finally:
        await channel.close()
    specs = {spec.name: spec for spec in topology.queue_specs(settings)}
    # Delay queues first and the work queue last: delay queues expire into the work queue, which then still
    # exists (or its holding queue holds its binding).
    for state in sorted(before, key=lambda s: (s.name == names.work, s.name == names.dead)):
        if state.matches and not state.holding:
            report(f"{state.name}: already {settings.rabbitmq_queue_type}, {state.messages} messages")
            continue
        moved = await _swap(connection, specs[state.name], settings, replace=state.exists and not state.matches)
        was = state.existing_type or ("missing" if not state.exists else "other arguments")
        report(f"{state.name}: {was} -> {settings.rabbitmq_queue_type}, {moved} messages moved")
    return before


async def run_command(settings: Settings, action: str, out: Callable[[str], None] = print,
                      err: Callable[[str], None] = print) -> int:
    """`edutrack queues ACTION`. status: 0 when every queue is as RABBITMQ_QUEUE_TYPE wants (or not declared
    yet), 1 when a migration is due. migrate: 0 when done, 1 when refused or interrupted (run it again)."""
    from edutrack.outbox.relay import connect

    connection = await connect(settings, "edutrack-queues")
    try:
        if action == "status":
            states = await inspect(connection, settings)
            for state in states:
                out(state.describe(settings.rabbitmq_queue_type))
            return 0 if all((s.matches or not s.exists) and not s.holding for s in states) else 1
        try:
            await migrate(connection, settings, out)
        except (MigrationRefused, MigrationInterrupted, topology.TopologyConflict,
                topology.UnsupportedBroker) as exc:
            err(f"edutrack queues migrate: {exc}")
            return 1
        except (aio_pika.exceptions.AMQPError, ConnectionError, TimeoutError) as exc:
            err(f"edutrack queues migrate: interrupted by RabbitMQ ({exc!r}); every message is in its old queue "
                f"or in a holding queue: run `edutrack queues migrate` again")
            return 1
        return 0
    finally:
        await connection.close()
