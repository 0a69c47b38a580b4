"""Group commit for chat sends: the messages that arrive on this node while the previous batch is being
stored go to PostgreSQL together, in one statement (one round trip, one commit, one fsync).

The invariants are those of `chat.send_message`, per message:
  * persist first: a sender's ack (and the live event) exists only after the statement that stored the
    message has committed; nothing here weakens durability;
  * per-channel ids follow arrival order and commit in order (the channel row lock is held to the commit);
  * idempotent on (sender, client_msg_id): a resend, in the same batch or a later one, stores nothing and is
    answered with the stored message (`duplicate: true`);
  * one message failing (a database error for that message) does not fail the others: a batch that fails is
    stored again one message at a time, so only the bad one gets the error.

Batching is adaptive: with nothing in flight a send is stored at once (no added latency at low rates); while
one batch is in flight the next one gathers, so batches grow exactly when the database is the bottleneck.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from edutrack import errors
from edutrack.context import AppContext
from edutrack.db.models import Notification, Role
from edutrack.i18n import _
from edutrack.queries import chat as q
from edutrack.security.tokens import Principal
from edutrack.services import chat, chat_channels, chat_notify
from edutrack.services.chat import Channel, SendResult
from edutrack.uow import AfterCommit

log = logging.getLogger(__name__)

MAX_BATCH = 256
# A concurrent send with the same client_msg_id (REST, another node) can commit between our duplicate check and
# our insert; the insert then fails as a whole and the batch is re-planned (the check now finds that message).
# A deadlock cannot happen between batches (channel rows are locked in name order) but is retried all the same.
_RETRY_ERRORS = (asyncpg.UniqueViolationError, asyncpg.DeadlockDetectedError)
_ATTEMPTS = 3


@dataclass(slots=True)
class _Send:
    who: Principal
    channel: Channel
    text: str
    client_msg_id: str | None
    sender: str | None
    future: asyncio.Future[SendResult] = field(repr=False)
    # The screen's check (mutes, slow mode) of this send, running while it waits in the queue.
    screening: asyncio.Future[None] | None = field(default=None, repr=False)


@dataclass(slots=True)
class _Stored:
    """What a flushed batch produced: each send's answer, and what to publish once it committed."""

    results: list[SendResult | BaseException]
    effects: AfterCommit


class ChatSendBatcher:
    """One per gateway (per process). `send` has the contract of `chat.send_message`."""

    def __init__(self, ctx: AppContext, *, max_batch: int = MAX_BATCH,
                 screen: Callable[[Principal, Channel], Awaitable[None] | None] | None = None,
                 serving: Callable[[], Iterable[str]] | None = None) -> None:
        """`screen`: what else a send must pass before it is stored (the node's mutes and slow mode); it refuses
        at once (raises), lets the send through (None), or returns what to await while the send waits in line;
        `serving`: the chats this node has subscribers in (chat_notify.AudienceCache)."""
        self.ctx = ctx
        self.screen = screen
        self.max_batch = max_batch
        self._queue: list[_Send] = []
        self._task: asyncio.Task[None] | None = None
        # Who in each room may want a `chat_message` row: a room where nobody does costs its sends nothing more.
        self.audiences = chat_notify.AudienceCache(ctx, serving)
        self.batches = 0  # statements that stored messages, and how many they stored (tests, diagnostics)
        self.stored = 0

    async def send(self, who: Principal, channel_name: str, raw_text: object, client_msg_id: str | None, *,
                   known_member: bool = False, sender: str | None = None) -> SendResult:
        channel = chat.parse_channel(channel_name)
        if not channel.is_chat:
            raise errors.BadRequest(_("Messages go to chats, not to user:{id}"), code="invalid_channel")
        text = chat.clean_text(raw_text)
        await chat_channels.check_sender(self.ctx, who, channel, known_member=known_member)
        pending = self.screen(who, channel) if self.screen is not None else None
        future: asyncio.Future[SendResult] = asyncio.get_running_loop().create_future()
        # A sender that went away leaves its error unread: read it here, so asyncio does not report it as lost.
        future.add_done_callback(_consume_error)
        # Queued now, in arrival order; a screen that has to wait runs meanwhile and the batch waits for it
        # (_screened).
        screening = asyncio.ensure_future(pending) if pending is not None else None
        self._queue.append(_Send(who, channel, text, client_msg_id, sender, future, screening))
        if self._task is None:
            self._task = asyncio.create_task(self._drain(), name="chat-group-commit")
        # Shielded: a sender that goes away (socket closed) must not cancel the batch under the others.
        return await asyncio.shield(future)

    async def close(self) -> None:
        """Let the batch in flight and the queued sends finish (their senders are waiting for acks)."""
        task = self._task
        if task is not None:
            with contextlib.suppress(Exception):
                await task

    async def _drain(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue[:self.max_batch], self._queue[self.max_batch:]
                batch = await _screened(batch)
                if batch:
                    await self._flush(batch)
        except BaseException:  # cancelled (the process stops): nobody may wait forever for an ack
            queued, self._queue = self._queue, []
            for item in queued:
                item.future.cancel()
            raise
        finally:
            self._task = None

    async def _flush(self, batch: list[_Send]) -> None:
        try:
            stored = await self._store_retrying(batch)
        except Exception as exc:
            if len(batch) > 1:
                log.warning("chat: a batch of sends failed; storing them one by one",
                            extra={"size": len(batch), "error": repr(exc)})
                for item in batch:
                    await self._flush([item])
                return
            stored = _Stored([exc], AfterCommit(self.ctx))
        except BaseException:  # cancelled: nobody may wait forever for an ack
            for item in batch:
                item.future.cancel()
            raise
        # Committed: the acks are due now, before the publish. The publish can wait seconds on a Redis Cluster master
        # that just died (until its replica takes over), and the senders whose messages are stored must not wait
        # with it (docs/benchmarks.md, the failover runs); the protocol lets ack and message come in either order.
        for item, result in zip(batch, stored.results, strict=True):
            if item.future.done():
                continue
            if isinstance(result, BaseException):
                item.future.set_exception(result)
            else:
                item.future.set_result(result)
        # Live events of the committed batch: messages in id order per channel, then the private-message
        # notifications, in one Redis round trip (on a cluster one per master, none waiting more than
        # live_shards.GROUP_TIMEOUT on a failing one; its part is held, and its channels' next events behind it).
        # The next batch is stored after it, which keeps each channel's events in id order across batches.
        await stored.effects.run()

    async def _store_retrying(self, batch: list[_Send]) -> _Stored:
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                return await self._store(batch)
            except _RETRY_ERRORS:
                if attempt == _ATTEMPTS:
                    raise
        raise AssertionError("unreachable")

    async def _store(self, batch: list[_Send]) -> _Stored:
        # Before the connection below: the audiences' own reads (rarely: cached) need one of their own.
        rooms = await self.audiences.of({item.channel for item in batch if item.channel.kind != "dm"})
        async with self.ctx.engine.connect() as conn:
            db = await q.driver(conn)
            unnamed = sorted({item.who.user_id for item in batch if item.sender is None})
            names = await q.user_names_raw(db, unnamed) if unnamed else {}
            keys = sorted({(item.who.user_id, item.client_msg_id) for item in batch if item.client_msg_id})
            existing = await q.messages_by_client_ids(db, keys) if keys else {}
            plan = _plan(batch, names, existing, await _class_teachers(db, batch), rooms)
            stored = await q.append_messages(db, plan.new) if plan.new else []
        # Committed: the statement above ran outside any transaction block, so it was its own transaction.
        if plan.new:
            self.batches += 1
            self.stored += len(plan.new)
        return _answers(self.ctx, batch, plan, stored)


@dataclass(slots=True)
class _Plan:
    """What to store for a batch: the new messages and where they sit in it; the answers known without storing
    (resends of stored messages, a client_msg_id reused in another channel); sends that repeat an earlier send of
    the same batch, as (position, position of the first send with its client_msg_id)."""

    results: list[SendResult | BaseException | None]
    new: list[q.NewMessage] = field(default_factory=list)
    new_at: list[int] = field(default_factory=list)
    followers: list[tuple[int, int]] = field(default_factory=list)


async def _class_teachers(db: asyncpg.Connection, batch: list[_Send]) -> dict[int, int]:
    """class id -> its class teacher, for the class-bound rooms that teachers of this batch write to."""
    classes = {chat_channels.class_of(item.channel) for item in batch if item.who.role == Role.TEACHER.value}
    wanted = sorted(c for c in classes if c is not None)
    return await q.class_teachers_raw(db, wanted) if wanted else {}


def _role(item: _Send, leads: dict[int, int]) -> str:
    class_id = chat_channels.class_of(item.channel)
    if class_id is not None and leads.get(class_id) == item.who.user_id:
        return "class_teacher"
    return item.who.role


def _plan(batch: list[_Send], names: dict[int, str], existing: dict[tuple[int, str], q.ExistingMessage],
          leads: dict[int, int], rooms: dict[str, chat_notify.RoomAudience]) -> _Plan:
    plan = _Plan([None] * len(batch))
    first_with: dict[tuple[int, str], int] = {}
    for position, item in enumerate(batch):
        sender = item.sender if item.sender is not None else names.get(item.who.user_id, "")
        item.sender = sender
        if item.client_msg_id:
            key = (item.who.user_id, item.client_msg_id)
            found = existing.get(key)
            if found is not None:
                plan.results[position] = _reused() if found.channel != item.channel.name else SendResult(
                    _existing_view(found, item), True)
                continue
            if key in first_with:
                leader = batch[first_with[key]]
                if leader.channel.name != item.channel.name:
                    plan.results[position] = _reused()
                else:
                    plan.followers.append((position, first_with[key]))
                continue
            first_with[key] = position
        plan.new.append(_new_message(item, sender, _role(item, leads), rooms.get(item.channel.name)))
        plan.new_at.append(position)
    return plan


def _answers(ctx: AppContext, batch: list[_Send], plan: _Plan, stored: list[q.StoredMessage]) -> _Stored:
    """Each send's answer once the batch committed, and the live events to publish."""
    results = plan.results
    effects = AfterCommit(ctx)
    notes: list[Notification] = []
    for message, row, position in zip(plan.new, stored, plan.new_at, strict=True):
        item = batch[position]
        view = chat.message_dict(channel=message.channel, id=row.id, sender_id=message.sender_id,
                                 sender=item.sender or "", text=message.text,
                                 client_msg_id=message.client_msg_id, created_at=row.created_at,
                                 edited_at=None, deleted=False, sender_role=message.sender_role)
        results[position] = SendResult(view, False)
        effects.publish(message.channel, chat.message_event(view))
        if row.notification_id is not None and message.notify_user_id is not None:
            notes.append(Notification(id=row.notification_id, user_id=message.notify_user_id, kind="message",
                                      about_user_id=None, created_at=row.notification_created_at,
                                      read_at=None, channels=row.notification_channels,
                                      payload={**(message.notify_payload or {}), "message_id": row.id}))
        notes += [Notification(id=n.id, user_id=n.user_id, kind=chat_notify.KIND, about_user_id=None,
                               created_at=n.created_at, read_at=None, channels=n.channels, payload=n.payload)
                  for n in row.live_room_notes]
    for position, leader_at in plan.followers:
        first = results[leader_at]
        assert isinstance(first, SendResult)
        results[position] = SendResult(first.message, True)
    effects.publish_notifications(notes)
    final: list[SendResult | BaseException] = []
    for result in results:
        assert result is not None
        final.append(result)
    return _Stored(final, effects)


def _new_message(item: _Send, sender: str, role: str, room: chat_notify.RoomAudience | None) -> q.NewMessage:
    if item.channel.kind != "dm":
        wanting = sorted(room.user_ids - {item.who.user_id}) if room is not None else []
        return q.NewMessage(item.channel.name, item.who.user_id, item.client_msg_id, item.text, sender_role=role,
                            room_user_ids=wanting, room_payload=chat_notify.payload(
                                item.channel.name, room.title, item.who.user_id, sender, item.text)
                            if room is not None and wanting else None)
    # The recipient's feed gets the message too, in the same statement, so an offline recipient gets it
    # in the email digest.
    recipient = next(uid for uid in item.channel.ids if uid != item.who.user_id)
    return q.NewMessage(item.channel.name, item.who.user_id, item.client_msg_id, item.text, recipient, {
        "title": chat.message_title(sender),
        "channel": item.channel.name,
        "sender_id": item.who.user_id,
        "sender": sender,
        "text": item.text[:500],
    }, sender_role=role)


def _existing_view(found: q.ExistingMessage, item: _Send) -> dict[str, Any]:
    return chat.message_dict(channel=found.channel, id=found.id, sender_id=item.who.user_id,
                             sender=item.sender or "", text=found.text, client_msg_id=item.client_msg_id,
                             created_at=found.created_at, edited_at=found.edited_at,
                             deleted=found.deleted_at is not None, sender_role=found.sender_role)


async def _screened(batch: list[_Send]) -> list[_Send]:
    """The sends of `batch` that their screen let through; the others are answered with its refusal."""
    checks = [item.screening for item in batch if item.screening is not None]
    if checks:
        await asyncio.wait(checks)
    passed: list[_Send] = []
    for item in batch:
        refusal = item.screening.exception() if item.screening is not None and not item.screening.cancelled() \
            else None
        if refusal is None:
            passed.append(item)
        elif not item.future.done():
            item.future.set_exception(refusal)
    return passed


def _consume_error(future: asyncio.Future[SendResult]) -> None:
    if not future.cancelled():
        future.exception()


def _reused() -> errors.ApiError:
    return errors.Conflict(_("This client_msg_id was already used in another channel"),
                           code="client_msg_id_reused")
