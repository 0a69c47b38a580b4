"""The client commands of /ws: each one's fields, declared next to its handler, and the handler.

A handler gets the socket, the command as a typed object and the frame's `req`; it answers with frames.py's
constructors. Errors it raises (ProtocolError, errors.ApiError) become `error` frames that echo `req`
(connection.py). To add a command: a dataclass of its fields, a handler with `@table.command`, a row in
docs/websocket.md's table of client frames.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

from edutrack import errors, events
from edutrack.events import redis_channel
from edutrack.i18n import _
from edutrack.ratelimit import CHAT_READ, CHAT_SEND, TYPING
from edutrack.realtime import frames
from edutrack.realtime.commands import (
    CommandTable,
    any_string,
    choices,
    count,
    file_ids,
    flag,
    string,
    user_ids,
    wire,
)
from edutrack.realtime.connection import Connection
from edutrack.realtime.delivery import ChannelDelivery
from edutrack.realtime.protocol import ErrorCode, ProtocolError, Req, dumps
from edutrack.services import chat, chat_acks
from edutrack.services.ack_table import ACK_ROLES
from edutrack.services.diary import news_acks
from edutrack.services.files.store import MAX_ATTACHMENTS

table = CommandTable()
channel_name = string(64)


@dataclass(frozen=True, slots=True)
class Ping:
    pass


@table.command("ping", Ping)
async def ping(conn: Connection, cmd: Ping, req: Req) -> None:
    conn.send(frames.pong(req))


@dataclass(frozen=True, slots=True)
class Auth:
    token: str = wire(string(4096))


@table.command("auth", Auth)
async def auth(conn: Connection, cmd: Auth, req: Req) -> None:
    """A fresh access token on an open socket (Unauthorized -> error frame, the socket stays)."""
    conn.token.refresh(cmd.token, req)


@dataclass(frozen=True, slots=True)
class Subscribe:
    channel: str = wire(channel_name)
    since: int | None = wire(count(required=False))


@table.command("subscribe", Subscribe)
async def subscribe(conn: Connection, cmd: Subscribe, req: Req) -> None:
    name, gateway = cmd.channel, conn.gateway
    channel = chat.parse_channel(name)
    if name in conn.subs:
        raise ProtocolError(ErrorCode.ALREADY_SUBSCRIBED, _("Already subscribed to %(channel)s", channel=name))
    if len(conn.subs) >= conn.limits.max_subscriptions:
        raise ProtocolError(ErrorCode.TOO_MANY_SUBSCRIPTIONS,
                            _("At most %(num)s channels per socket", num=conn.limits.max_subscriptions))
    sub = ChannelDelivery(channel, conn, conn.writer, conn.limits)
    sub.running = True
    conn.subs[name] = sub
    # Order matters: Redis first (confirmed), then the database, so nothing falls between the two. That holds
    # for membership too: authorized only once a membership.changed of this channel reaches this node.
    live = await gateway.hub.attach(name, sub)
    try:
        members = await gateway.join(conn.principal, channel)
        if conn.subs.get(name) is not sub:  # revoked by a membership change while authorizing
            raise errors.Forbidden(_("You are not a member of this channel"), code="not_a_member",
                                   details={"channel": name})
        if cmd.since is None and channel.is_chat:  # nothing to replay: only the head, read with others'
            head = cursor = await gateway.heads.head(name)
            missed: list[dict[str, Any]] = []
        else:
            async with gateway.db_slots:
                head, cursor, missed = await chat.resume(conn.ctx, channel, since=cmd.since,
                                                         limit=conn.limits.replay_limit)
    except BaseException:
        if conn.subs.get(name) is sub:
            await conn.leave(name)
        raise
    sub.cursor = sub.floor = cursor
    if channel.kind == "user":
        conn.send(frames.subscribed(req, name, cursor, head, live))
    else:
        online = await _online(conn, name, members)
        conn.send(frames.subscribed(req, name, cursor, head, live, missed=head - cursor, online=online))
    await sub.sync(missed)


async def _online(conn: Connection, name: str, members: set[int]) -> list[int]:
    """Who of the chat is online; the socket's own `online` announcement (its user's first socket on the channel
    on this node) goes out in the same Redis round trip."""
    gateway = conn.gateway
    announce: tuple[str, str] | None = None
    if not gateway.other_socket_on(conn, name):
        announce = (redis_channel(conn.ctx.settings.namespace, name),
                    dumps(frames.presence(name, conn.user_id, "online")))
    async with gateway.redis_slots:
        return sorted(await gateway.presence.online(members, announce=announce))


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    channel: str = wire(channel_name)


@table.command("unsubscribe", Unsubscribe)
async def unsubscribe(conn: Connection, cmd: Unsubscribe, req: Req) -> None:
    if not await conn.leave(cmd.channel):
        raise ProtocolError(ErrorCode.NOT_SUBSCRIBED, _("Not subscribed to %(channel)s", channel=cmd.channel))
    conn.send(frames.unsubscribed(req, cmd.channel))


@dataclass(frozen=True, slots=True)
class ChatSend:
    channel: str = wire(channel_name)
    text: str = wire(any_string)
    client_msg_id: str | None = wire(string(64, required=False))
    mentions: tuple[int, ...] = wire(user_ids(chat.MAX_MENTIONS))
    attachments: tuple[int, ...] = wire(file_ids(MAX_ATTACHMENTS))
    reply_to: int | None = wire(count(required=False))
    ack: tuple[str, ...] = wire(choices(ACK_ROLES))
    ack_each_parent: bool = wire(flag)


@table.command("chat.send", ChatSend)
async def chat_send(conn: Connection, cmd: ChatSend, req: Req) -> None:
    wait = conn.ctx.budgets.take(conn.user_id, CHAT_SEND)  # shared with REST and the user's other sockets
    if wait:
        conn.error(ErrorCode.RATE_LIMITED, _("Too many messages; wait a moment"), req=req,
                   details={"retry_after": math.ceil(wait)}, client_msg_id=cmd.client_msg_id)
        return
    sub = conn.subs.get(cmd.channel)
    # A subscribed chat was authorized at subscribe time (the same staleness as live delivery).
    known = sub is not None and sub.channel.is_chat
    if cmd.mentions or cmd.attachments or cmd.reply_to is not None or cmd.ack:
        # Rarer, and each needs more than an insert (a notification per person mentioned or asked to confirm,
        # files to attach, the quoted message checked and read): the one-message path (it checks mutes and slow
        # mode in its transaction), not the group commit.
        result = await chat.send_message(conn.ctx, conn.principal, cmd.channel, cmd.text, cmd.client_msg_id,
                                         known_member=known, sender=conn.sender_name, mentions=cmd.mentions,
                                         attachments=cmd.attachments, reply_to=cmd.reply_to,
                                         ack=chat_acks.ask_of(cmd.ack, cmd.ack_each_parent))
    else:
        result = await conn.gateway.sends.send(conn.principal, cmd.channel, cmd.text, cmd.client_msg_id,
                                               known_member=known, sender=conn.sender_name)
    conn.sender_name = result.message["sender"]
    conn.send(frames.ack(req, result.message, result.duplicate))


@dataclass(frozen=True, slots=True)
class Typing:
    channel: str = wire(channel_name)


@table.command("typing", Typing)
async def typing(conn: Connection, cmd: Typing, req: Req) -> None:
    name = cmd.channel
    sub = conn.subs.get(name)
    if sub is None or sub.channel.kind == "user":
        raise ProtocolError(ErrorCode.NOT_SUBSCRIBED, _("Subscribe to %(channel)s before typing in it", channel=name))
    now = time.monotonic()
    if now - sub.last_typing < conn.limits.typing_interval:
        return  # ephemeral: silently coalesced
    sub.last_typing = now
    if conn.ctx.budgets.take(conn.user_id, TYPING):
        return  # the user's typing budget on this node is spent (many sockets or channels): dropped too
    async with conn.gateway.redis_slots:
        await events.publish(conn.ctx, name, frames.typing(name, conn.user_id), held=False)


def _channel_unless_feed(data: dict[str, Any], name: str) -> str | None:
    return None if data.get("feed") is True else channel_name(data, name)


@dataclass(frozen=True, slots=True)
class Read:
    channel: str | None = wire(_channel_unless_feed)
    feed: bool = wire(flag)
    up_to: int = wire(count(required=True))


@table.command("read", Read)
async def read(conn: Connection, cmd: Read, req: Req) -> None:
    channel = f"user:{conn.user_id}" if cmd.channel is None else cmd.channel
    conn.ctx.budgets.charge(conn.user_id, CHAT_READ)  # 429 -> error rate_limited, shared with REST
    marker = await chat.mark_read(conn.ctx, conn.principal, channel, cmd.up_to)
    conn.send(frames.read_ok(req, marker))


@dataclass(frozen=True, slots=True)
class NewsAck:
    news_id: int = wire(count(required=True))


@table.command("news.ack", NewsAck)
async def news_ack(conn: Connection, cmd: NewsAck, req: Req) -> None:
    """Confirm a news item (services/diary/news_acks.py); the same rules and budget as REST."""
    found = await news_acks.acknowledge(conn.ctx, conn.principal, cmd.news_id, "socket")
    conn.send(frames.news_ack_ok(req, found["news_id"], found["acknowledged_at"].isoformat(), found["duplicate"]))


COMMANDS = table.frozen()


@dataclass(frozen=True, slots=True)
class ChatAck:
    channel: str = wire(channel_name)
    message_id: int = wire(count(required=True))


@table.command("chat.ack", ChatAck)
async def chat_ack(conn: Connection, cmd: ChatAck, req: Req) -> None:
    """Confirm an announcement (services/chat_acks.py); the same rules and budget as REST."""
    found = await chat_acks.acknowledge(conn.ctx, conn.principal, cmd.channel, cmd.message_id, "socket")
    conn.send(frames.chat_ack_ok(req, found["channel"], cmd.message_id, found["acknowledged_at"].isoformat(),
                                 found["duplicate"]))
