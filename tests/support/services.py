"""Make sure the real services the tests talk to are running, and start private ones when a test
must stop or restart a server without disturbing anything else on the machine."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

# The commands that start each service on this kind of machine (see the README's "Testing" section).
START_COMMANDS = {
    "postgres": "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql | head -n1) main start",
    "redis": "redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save '' --appendonly no "
    "--dir /var/lib/redis --logfile /var/log/redis/ci.log",
    "rabbitmq": "rabbitmq-server -detached",
}
PORTS = {"postgres": 5432, "redis": 6379, "rabbitmq": 5672}


def port_open(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=timeout):
        return True
    return False


def ensure_service(name: str, wait: float = 60.0) -> None:
    port = PORTS[name]
    if port_open(port):
        return
    subprocess.run(START_COMMANDS[name], shell=True, check=False, capture_output=True)  # noqa: S602
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if port_open(port):
            if name == "rabbitmq":
                time.sleep(2)  # the port opens before the broker accepts AMQP handshakes
            return
        time.sleep(0.5)
    raise RuntimeError(f"{name} is not reachable on 127.0.0.1:{port} and could not be started")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PrivateRedis:
    """A redis-server of the test's own, so a test can stop and restart it."""

    port: int
    workdir: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not port_open(self.port):
            if time.monotonic() > deadline:
                raise RuntimeError("private redis-server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


@contextlib.contextmanager
def private_redis() -> Iterator[PrivateRedis]:
    with tempfile.TemporaryDirectory(prefix="edutrack-redis-") as tmp:
        server = PrivateRedis(port=free_port(), workdir=Path(tmp))
        server.start()
        try:
            yield server
        finally:
            server.stop()


class TcpProxy:
    """A loopback TCP proxy in front of a real service. `cut()` drops every connection and refuses new
    ones, as a stopped server would; `restore()` lets traffic through again. Used to take RabbitMQ (or
    anything shared) "down" for one test without stopping the machine's server."""

    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.accepting = True

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port or 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def _handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        if not self.accepting:
            client_writer.close()
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.close()
            return
        self._writers |= {client_writer, upstream_writer}
        try:
            await asyncio.gather(self._pipe(client_reader, upstream_writer),
                                 self._pipe(upstream_reader, client_writer))
        finally:
            self._writers -= {client_writer, upstream_writer}

    def cut(self) -> None:
        self.accepting = False
        for writer in list(self._writers):
            with contextlib.suppress(Exception):
                writer.transport.abort()
        self._writers.clear()

    def restore(self) -> None:
        self.accepting = True

    async def close(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


@contextlib.asynccontextmanager
async def tcp_proxy(target_port: int) -> AsyncIterator[TcpProxy]:
    proxy = TcpProxy(target_port)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.close()


def running_as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0
