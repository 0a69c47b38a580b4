"""A RabbitMQ connection that the API keeps for readiness and later publishers.

Connecting never blocks start-up: if RabbitMQ is down the link keeps retrying in the background
and `connection` stays None until it is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import aio_pika
from aio_pika.abc import AbstractRobustConnection

log = logging.getLogger(__name__)


class AmqpLink:
    def __init__(self, url: str, name: str = "edutrack") -> None:
        self._url = url
        self._name = name
        self.connection: AbstractRobustConnection | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self, first_attempt_timeout: float = 3.0) -> None:
        self._task = asyncio.create_task(self._connect_forever(), name="amqp-connect")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._task), first_attempt_timeout)

    async def _connect_forever(self) -> None:
        delay = 0.5
        while True:
            try:
                self.connection = await aio_pika.connect_robust(
                    self._url, timeout=5, client_properties={"connection_name": self._name}
                )
                log.info("connected to RabbitMQ")
                return
            except (OSError, aio_pika.exceptions.AMQPError, TimeoutError) as exc:
                log.warning("RabbitMQ unavailable, retrying", extra={"error": str(exc), "retry_in": delay})
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    async def ping(self, timeout: float = 2.0) -> float:
        """Round-trip a channel open/close; returns latency in ms or raises."""
        if self.connection is None or self.connection.is_closed:
            raise ConnectionError("not connected to RabbitMQ")
        started = time.perf_counter()
        channel = await asyncio.wait_for(self.connection.channel(), timeout)
        await asyncio.wait_for(channel.close(), timeout)
        return (time.perf_counter() - started) * 1000

    async def close(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.connection is not None:
            await self.connection.close()
            self.connection = None
