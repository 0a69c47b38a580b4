"""Email pipeline fixtures: a scriptable aiosmtpd server inside the test, settings with short delays,
and in-process relay/notifier workers that stop cleanly at the end of the test."""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import aio_pika
import pytest
from aiosmtpd.smtp import SMTP

from edutrack.outbox import topology
from edutrack.settings import Settings


@dataclass
class ScriptedHandler:
    """Answers DATA with the scripted replies in order (then 250), records what it accepted."""

    script: list[str] = field(default_factory=list)
    delay: float = 0.0
    received: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    answered: list[str] = field(default_factory=list)
    started: int = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.started += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        reply = self.script.pop(0) if self.script else "250 OK"
        self.answered.append(reply)
        if reply.startswith("250"):
            raw = envelope.original_content or envelope.content
            self.received.append(email.message_from_bytes(raw, policy=email.policy.default))  # type: ignore[arg-type]
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return reply

    def outbox_ids(self) -> list[int]:
        return [int(m["X-EduTrack-Outbox-Id"]) for m in self.received]


@dataclass
class SmtpServer:
    handler: ScriptedHandler
    port: int
    server: asyncio.Server


@pytest.fixture
async def smtp() -> AsyncIterator[SmtpServer]:
    handler = ScriptedHandler()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(handler, hostname="test-smtp"), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield SmtpServer(handler, port, server)
    finally:
        server.close()
        await server.wait_closed()


QUEUE_TYPES = ("classic", "quorum")
# The fault tests run on both queue types: `pytestmark = BOTH_QUEUE_TYPES` in their module.
BOTH_QUEUE_TYPES = pytest.mark.parametrize("queue_type", QUEUE_TYPES, indirect=True)


@pytest.fixture
def queue_type(request: pytest.FixtureRequest) -> str:
    """RABBITMQ_QUEUE_TYPE of the test: the default unless the module parametrizes it."""
    return str(getattr(request, "param", Settings().rabbitmq_queue_type))


@pytest.fixture
async def mail_settings(settings: Settings, smtp: SmtpServer, queue_type: str) -> AsyncIterator[Settings]:
    tuned = settings.replace(
        smtp_port=smtp.port, smtp_timeout=5.0, email_retry_delays=(0.3, 0.6), email_max_attempts=4,
        relay_poll_interval=0.05, relay_lease=5.0, digest_interval=0.2, digest_delay=600,
        rabbitmq_queue_type=queue_type,
    )
    yield tuned
    await delete_topology(tuned)


async def delete_topology(settings: Settings) -> None:
    connection = await aio_pika.connect("amqp://guest:guest@127.0.0.1:5672/", timeout=5)
    try:
        await topology.delete(await connection.channel(), settings)
    finally:
        await connection.close()


Worker = Callable[[Settings, asyncio.Event], Coroutine[Any, Any, None]]


class Workers:
    """Runs worker roles as tasks of the test's event loop; each has its own stop event."""

    def __init__(self) -> None:
        self.running: list[tuple[asyncio.Event, asyncio.Task[None]]] = []
        # Every settings variant that declared queues (tests change the retry delays, hence queue names).
        self.topologies: dict[tuple[float, ...], Settings] = {}

    def start(self, worker: Worker, settings: Settings) -> tuple[asyncio.Event, asyncio.Task[None]]:
        self.topologies[settings.email_retry_delays] = settings
        stop = asyncio.Event()
        task = asyncio.create_task(worker(settings, stop))
        self.running.append((stop, task))
        return stop, task

    async def stop_all(self) -> None:
        for stop, _ in self.running:
            stop.set()
        for _, task in self.running:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, 15)
        self.running.clear()


@pytest.fixture
async def workers() -> AsyncIterator[Workers]:
    running = Workers()
    try:
        yield running
    finally:
        await running.stop_all()
        for used in running.topologies.values():
            await delete_topology(used)


async def wait_for(predicate: Callable[[], Coroutine[Any, Any, bool]], timeout: float = 20.0,
                   interval: float = 0.05) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(interval)


def worker_env(settings: Settings, **extra: str) -> dict[str, str]:
    """Environment for an `edutrack` subprocess that behaves like `settings`."""
    import os

    env = dict(os.environ)
    env.update({
        "ENVIRONMENT": "test", "DATABASE_URL": settings.database_url, "JWT_SECRET": settings.jwt_secret,
        "NAMESPACE": settings.namespace, "RABBITMQ_URL": settings.rabbitmq_url, "REDIS_URL": settings.redis_url,
        "SMTP_HOST": settings.smtp_host, "SMTP_PORT": str(settings.smtp_port), "DEV_MAIL_CATCHER": "false",
        "EMAIL_RETRY_DELAYS": ",".join(str(d) for d in settings.email_retry_delays),
        "EMAIL_MAX_ATTEMPTS": str(settings.email_max_attempts),
        "NOTIFIER_CONCURRENCY": str(settings.notifier_concurrency),
        "NOTIFIER_PREFETCH": str(settings.notifier_prefetch),
        "RELAY_POLL_INTERVAL": str(settings.relay_poll_interval), "LOG_LEVEL": "WARNING",
        "RABBITMQ_QUEUE_TYPE": settings.rabbitmq_queue_type, "DATABASE_POOL_MODE": settings.database_pool_mode,
    })
    env.update(extra)
    return env
