"""Make sure the real services the tests talk to are running, and start private ones when a test
must stop or restart a server without disturbing anything else on the machine."""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import secrets
import shutil
import signal
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
    args: tuple[str, ...] = ()  # more redis-server options (requirepass, a Unix socket, TLS)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir), *self.args],
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
def private_redis(*args: str) -> Iterator[PrivateRedis]:
    with tempfile.TemporaryDirectory(prefix="edutrack-redis-") as tmp:
        server = PrivateRedis(port=free_port(), workdir=Path(tmp), args=args)
        server.start()
        try:
            yield server
        finally:
            server.stop()


# rabbitmq-env's default distribution ports of rabbitmqctl itself; a private node's own ports stay clear.
RABBITMQ_CTL_DIST_PORTS = range(35672, 35683)
RABBITMQ_START_LIMIT = 30.0


def _free_port_outside(excluded: range) -> int:
    while (port := free_port()) in excluded:
        pass
    return port


def _rabbitmq_command(name: str) -> str:
    """As root: Debian's wrapper (/usr/sbin), which runs the command as the `rabbitmq` user, so node and
    rabbitmqctl share that user's ~/.erlang.cookie (the machine's broker uses the same). Otherwise the real
    script, run as the current user with the current user's ~/.erlang.cookie."""
    if running_as_root():
        return shutil.which(name) or f"/usr/sbin/{name}"
    return f"/usr/lib/rabbitmq/bin/{name}"


@dataclass
class PrivateRabbitMQ:
    """A RabbitMQ node of the test's own: its own node name, AMQP and distribution ports, config, plugin
    list, data (mnesia) and log directories. A test can stop and start this broker for real while the
    machine's shared broker (port 5672) goes on serving everything else. Data survives `stop()` and
    `start()`: durable queues and persistent messages come back, as after a real broker restart."""

    node: str
    port: int
    dist_port: int
    workdir: Path
    running: bool = False
    # Erlang terms for advanced.config, e.g. "[{rabbit, [{dead_letter_worker_publisher_confirm_timeout, 1000}]}]."
    advanced_config: str = ""

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    @property
    def pid_file(self) -> Path:
        return self.workdir / "mnesia" / f"{self.node}.pid"

    def prepare(self) -> None:
        (self.workdir / "mnesia").mkdir()
        (self.workdir / "log").mkdir()
        (self.workdir / "enabled_plugins").write_text("[].\n")
        # Our own config file: the machine's /etc/rabbitmq/rabbitmq.conf binds 5672.
        (self.workdir / "rabbitmq.conf").write_text(f"listeners.tcp.local = 127.0.0.1:{self.port}\n")
        (self.workdir / "advanced.config").write_text(self.advanced_config or "[].\n")
        if running_as_root():  # the node runs as `rabbitmq` (see _rabbitmq_command)
            self.workdir.chmod(0o755)
            user = pwd.getpwnam("rabbitmq")
            for path in [self.workdir, *self.workdir.rglob("*")]:
                os.chown(path, user.pw_uid, user.pw_gid)

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.workdir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.workdir / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.workdir / "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": str(self.workdir / "rabbitmq.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.workdir / "advanced.config"),
        })
        return env

    async def _run(self, *args: str, timeout: float = 60.0) -> tuple[int, str]:
        process = await asyncio.create_subprocess_exec(
            *args, env=self.env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        try:
            output, _ = await asyncio.wait_for(process.communicate(), timeout)
        except TimeoutError:
            process.kill()
            await process.wait()
            return -1, f"{' '.join(args)}: no answer in {timeout} s"
        return process.returncode or 0, output.decode(errors="replace")

    async def ctl(self, *args: str, timeout: float = 60.0) -> tuple[int, str]:
        return await self._run(_rabbitmq_command("rabbitmqctl"), "-n", self.node, *args, timeout=timeout)

    def log_tail(self, lines: int = 30) -> str:
        log = self.workdir / "log" / f"{self.node}.log"
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else "(no log)"

    async def start(self, limit: float = RABBITMQ_START_LIMIT) -> float:
        """Start the node (on the same data directory as before, if any) and wait until it serves AMQP.
        Returns the seconds it took."""
        loop = asyncio.get_running_loop()
        began = loop.time()
        code, output = await self._run(_rabbitmq_command("rabbitmq-server"), "-detached", timeout=limit)
        if code != 0:
            raise RuntimeError(f"rabbitmq-server -detached failed ({code}): {output}")
        self.running = True
        while True:
            # Fails at once while the node is not registered yet, then waits for the boot to finish.
            code, output = await self.ctl("await_startup", timeout=limit)
            if code == 0 and port_open(self.port):
                return loop.time() - began
            if loop.time() - began > limit:
                raise RuntimeError(f"private RabbitMQ node {self.node} not up within {limit} s: {output}\n"
                                   f"{self.log_tail()}")
            await asyncio.sleep(0.2)

    async def stop(self) -> None:
        """Stop the node and its Erlang VM (a real broker stop: every connection drops, the port closes)."""
        if not self.running:
            return
        pid = self._pid()
        code, _ = await self.ctl("stop", str(self.pid_file), timeout=30)
        if code != 0 and pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)  # the beam.smp this node started (its own pid file)
            for _ in range(100):
                if not _alive(pid):
                    break
                await asyncio.sleep(0.05)
        self.running = False

    def _pid(self) -> int | None:
        with contextlib.suppress(OSError, ValueError):
            return int(self.pid_file.read_text().strip())
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.asynccontextmanager
async def private_rabbitmq(advanced_config: str = "") -> AsyncIterator[PrivateRabbitMQ]:
    """A started private RabbitMQ node; stopped and its directory removed afterwards, even on failure."""
    port = _free_port_outside(RABBITMQ_CTL_DIST_PORTS)
    while (dist_port := _free_port_outside(RABBITMQ_CTL_DIST_PORTS)) == port:
        pass
    workdir = Path(tempfile.mkdtemp(prefix="edutrack-rabbitmq-"))
    broker = PrivateRabbitMQ(node=f"edutrack_{secrets.token_hex(4)}@localhost", port=port, dist_port=dist_port,
                             workdir=workdir, advanced_config=advanced_config)
    try:
        broker.prepare()
        await broker.start()
        yield broker
    finally:
        try:
            await broker.stop()
        finally:
            shutil.rmtree(workdir, ignore_errors=True)


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
