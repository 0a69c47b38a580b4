"""A school with a class, websocket clients, and frame helpers for the realtime tests."""

from __future__ import annotations

import asyncio
import json
import os
import time
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import ClientWebSocketResponse, WSMsgType
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from edutrack.context import AppContext
from edutrack.db.chat import ChatMessage
from edutrack.db.diary import ClassStudent, ParentChild, School, SchoolClass, Subject, TeachingAssignment
from edutrack.db.models import Notification
from edutrack.realtime import GATEWAY, Gateway
from edutrack.realtime.frames import SERVER_FRAMES
from edutrack.security.tokens import Principal
from edutrack.services import chat as chat_service
from edutrack.settings import Settings
from tests.support.factories import Actor, Factory

PROTOCOLS = ("edutrack.v1",)


@dataclass
class ClassWorld:
    school_id: int
    class_id: int
    teacher: Actor
    students: list[Actor]
    parent: Actor
    outsider: Actor  # a student of the same school, not in the class
    stranger: Actor  # a user of another school
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def channel(self) -> str:
        return f"class:{self.class_id}"


async def make_school(ctx: AppContext, name: str, parents_in_chat: bool = True) -> int:
    async with ctx.sessions.begin() as session:
        school = School(name=name, parents_in_class_chat=parents_in_chat)
        session.add(school)
        await session.flush()
        return school.id


async def make_class_world(ctx: AppContext, factory: Factory, *, students: int = 2,
                           parents_in_chat: bool = True) -> ClassWorld:
    school_id = await make_school(ctx, f"Школа {time.monotonic_ns()}", parents_in_chat)
    other_school = await make_school(ctx, f"Другая школа {time.monotonic_ns()}")
    teacher = await factory.actor("teacher", school_id=school_id)
    pupils = [await factory.actor("student", school_id=school_id) for _ in range(students)]
    parent = await factory.actor("parent", school_id=school_id)
    outsider = await factory.actor("student", school_id=school_id)
    stranger = await factory.actor("student", school_id=other_school)
    async with ctx.sessions.begin() as session:
        klass = SchoolClass(school_id=school_id, name="7Б", grade_level=7)
        subject = Subject(school_id=school_id, name="Алгебра")
        session.add_all([klass, subject])
        await session.flush()
        session.add_all([ClassStudent(class_id=klass.id, student_id=p.id) for p in pupils])
        session.add(ParentChild(parent_id=parent.id, child_id=pupils[0].id))
        session.add(TeachingAssignment(class_id=klass.id, subject_id=subject.id, teacher_id=teacher.id))
        class_id = klass.id
    return ClassWorld(school_id, class_id, teacher, pupils, parent, outsider, stranger)


def gateway_of(client: TestClient) -> Gateway:
    return client.app[GATEWAY]


async def connect(client: TestClient, actor: Actor | None = None, *, token: str | None = None,
                  expect_ready: bool = True, **kwargs: Any) -> ClientWebSocketResponse:
    token = token or (actor.access_token if actor else None)
    protocols = (*PROTOCOLS, f"bearer.{token}") if token else PROTOCOLS
    ws = await client.ws_connect("/ws", protocols=protocols, **kwargs)
    if expect_ready:
        ready = await recv(ws)
        assert ready["type"] == "ready", ready
    return ws


async def recv(ws: ClientWebSocketResponse, timeout: float = 5.0) -> dict[str, Any]:
    msg = await ws.receive(timeout=timeout)
    assert msg.type == WSMsgType.TEXT, (msg.type, msg.data, msg.extra)
    return checked(json.loads(msg.data))


# --- every frame a test receives is checked against its declaration in edutrack/realtime/frames.py -------------


def checked(frame: Any) -> dict[str, Any]:
    """`frame`, after checking it against SERVER_FRAMES: a known type, every required field, no undeclared one,
    each value of its declared type."""
    assert isinstance(frame, dict), frame
    declared = SERVER_FRAMES.get(frame.get("type"))  # type: ignore[arg-type]
    assert declared is not None, f"undeclared server frame type: {frame}"
    problems = frame_problems(frame, declared)
    assert not problems, (problems, str(frame)[:300])
    return frame


def frame_problems(value: dict[str, Any], declared: Any) -> list[str]:
    hints = typing.get_type_hints(declared)
    required, optional = declared.__required_keys__, declared.__optional_keys__
    problems = [f"missing {name!r}" for name in sorted(required - value.keys())]
    problems += [f"undeclared {name!r}" for name in sorted(value.keys() - required - optional)]
    problems += [f"{name!r} is not {hints[name]}: {value[name]!r}" for name in sorted(value.keys() & hints.keys())
                 if not _conforms(value[name], hints[name])]
    return problems


def _conforms(value: Any, hint: Any) -> bool:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return True
    if hint is type(None) or hint is None:
        return value is None
    if origin is typing.Literal:
        return value in args
    if origin in (typing.Union, types.UnionType):
        return any(_conforms(value, arg) for arg in args)
    if origin is list:
        return isinstance(value, list) and all(_conforms(v, args[0]) for v in value)
    if origin is dict:
        return isinstance(value, dict) and all(_conforms(k, args[0]) and _conforms(v, args[1])
                                               for k, v in value.items())
    if typing.is_typeddict(hint):
        return isinstance(value, dict) and not frame_problems(value, hint)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


def principal_of(user: Any) -> Principal:
    """The Principal of a User (or of an Actor's user)."""
    user = getattr(user, "user", user)
    return Principal(user.id, user.role, user.school_id, user.is_superuser)


async def seed_messages(ctx: AppContext, sender: Any, channel: str, texts: list[str]) -> None:
    """Store messages through the service, as a REST send does, without spending the sender's send budget."""
    for text in texts:
        await chat_service.send_message(ctx, principal_of(sender), channel, text, None)


def message_event(channel: str, message_id: int, text: str, sender_id: int = 1) -> dict[str, Any]:
    """A chat.message as the services publish it, for tests that publish straight to Redis."""
    return chat_service.message_event(chat_service.message_dict(
        channel=channel, id=message_id, sender_id=sender_id, sender="Тест", text=text, client_msg_id=None,
        created_at=None, edited_at=None, deleted=False))


async def recv_until(ws: ClientWebSocketResponse, predicate: Callable[[dict[str, Any]], bool],
                     timeout: float = 5.0) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The first frame matching `predicate`, and every frame before it."""
    deadline = time.monotonic() + timeout
    seen: list[dict[str, Any]] = []
    while True:
        frame = await recv(ws, max(0.01, deadline - time.monotonic()))
        if predicate(frame):
            return frame, seen
        seen.append(frame)


async def expect_close(ws: ClientWebSocketResponse, timeout: float = 5.0) -> tuple[int | None, list[dict[str, Any]]]:
    """Read until the server closes; the close code and the frames before it."""
    frames: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while True:
        msg = await ws.receive(timeout=max(0.01, deadline - time.monotonic()))
        if msg.type == WSMsgType.TEXT:
            frames.append(checked(json.loads(msg.data)))
            continue
        if msg.type == WSMsgType.CLOSE:
            # The code the server sent: ws.close_code becomes 1006 when the server drops the connection before
            # the client's reply to its close frame is written.
            return msg.data, frames
        if msg.type in (WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
            return ws.close_code, frames


async def send(ws: ClientWebSocketResponse, frame: dict[str, Any]) -> None:
    await ws.send_str(json.dumps(frame))


async def subscribe(ws: ClientWebSocketResponse, channel: str, since: int | None = None) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "subscribe", "channel": channel, "req": f"sub-{channel}"}
    if since is not None:
        frame["since"] = since
    await send(ws, frame)
    reply, _ = await recv_until(ws, lambda f: f.get("req") == f"sub-{channel}")
    return reply


async def chat_send(ws: ClientWebSocketResponse, channel: str, text: str, client_msg_id: str | None = None,
                    req: str | None = None) -> dict[str, Any]:
    req = req or f"send-{time.monotonic_ns()}"
    frame: dict[str, Any] = {"type": "chat.send", "channel": channel, "text": text, "req": req}
    if client_msg_id is not None:
        frame["client_msg_id"] = client_msg_id
    await send(ws, frame)
    reply, _ = await recv_until(ws, lambda f: f.get("req") == req)
    return reply


async def collect_messages(ws: ClientWebSocketResponse, channel: str, count: int,
                           timeout: float = 10.0) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(got) < count:
        frame = await recv(ws, max(0.01, deadline - time.monotonic()))
        if frame.get("type") == "chat.message" and frame.get("channel") == channel:
            got.append(frame)
    return got


async def stored_messages(ctx: AppContext, channel: str) -> int:
    async with ctx.sessions() as session:
        return int((await session.execute(
            select(func.count()).select_from(ChatMessage).where(ChatMessage.channel == channel))).scalar_one())


async def notifications_of(ctx: AppContext, user_id: int) -> list[Notification]:
    async with ctx.sessions() as session:
        rows = await session.execute(select(Notification).where(Notification.user_id == user_id)
                                     .order_by(Notification.id))
        return list(rows.scalars())


async def eventually(check: Callable[[], bool], timeout: float = 5.0, interval: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(interval)


# --- a real `edutrack api` process ----------------------------------------------------------------------------


def node_env(settings: Settings) -> dict[str, str]:
    """The environment of an `edutrack api` process on the test's database, Redis and RabbitMQ namespaces."""
    return {**os.environ, "DATABASE_URL": settings.database_url, "JWT_SECRET": settings.jwt_secret,
            "NAMESPACE": settings.namespace, "ENVIRONMENT": "test", "REDIS_URL": settings.redis_url,
            "RABBITMQ_URL": settings.rabbitmq_url, "LOG_LEVEL": "WARNING", "DEV_MAIL_CATCHER": "false",
            "ARGON2_TIME_COST": "1", "ARGON2_MEMORY_COST": "8", "ARGON2_PARALLELISM": "1"}


async def wait_until_up(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(f"http://127.0.0.1:{port}/health") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("edutrack api did not start")
