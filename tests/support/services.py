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
from dataclasses import dataclass, field
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


@dataclass
class PrivatePgBouncer:
    """A pgbouncer of the test's own in front of a PostgreSQL server (the machine's shared one by default):
    every database of that server under its own name, in the given pool mode; or the configuration `template`
    (a pgbouncer.ini of the repository) with its servers pointed at that PostgreSQL and its databases renamed
    by `rename`."""

    port: int
    workdir: Path
    target_host: str = "127.0.0.1"
    target_port: int = 5432
    user: str = "postgres"
    pool_mode: str = "transaction"
    # Small on purpose: many client connections share few server connections, as in production.
    pool_size: int = 8
    template: str = ""
    rename: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    served: int = 0  # transactions to the test database, read when the run's pgbouncer stops

    def url(self, database: str, user: str | None = None) -> str:
        return f"postgresql+asyncpg://{user or self.user}@127.0.0.1:{self.port}/{database}"

    def _default_template(self) -> str:
        return (f"[databases]\n* = host={self.target_host} port={self.target_port}\n[pgbouncer]\n"
                f"pool_mode = {self.pool_mode}\ndefault_pool_size = {self.pool_size}\nmax_client_conn = 1000\n"
                # A client starved of server connections fails after this long instead of hanging a test.
                "query_wait_timeout = 30\n")

    def _server(self, spec: str) -> str:
        parts = dict(item.split("=", 1) for item in spec.split())
        parts.update(host=self.target_host, port=str(self.target_port))
        if "dbname" in parts:
            parts["dbname"] = self.rename.get(parts["dbname"], parts["dbname"])
        return " ".join(f"{k}={v}" for k, v in parts.items())

    def write_config(self) -> Path:
        import configparser

        parser = configparser.ConfigParser(delimiters=("=",), comment_prefixes=(";", "#"), interpolation=None)
        parser.optionxform = str  # type: ignore[assignment,method-assign]  # database names keep their case
        parser.read_string(self.template or self._default_template())
        for name, spec in list(parser["databases"].items()):
            parser["databases"][name] = self._server(spec)
        # Where this test's pgbouncer listens, and how it lets the test in (PostgreSQL here trusts local users).
        parser["pgbouncer"].update({
            "listen_addr": "127.0.0.1", "listen_port": str(self.port), "unix_socket_dir": "",
            "auth_type": "trust", "auth_file": str(self.workdir / "users.txt"), "admin_users": self.user,
            "logfile": str(self.workdir / "pgbouncer.log")})
        (self.workdir / "users.txt").write_text(f'"{self.user}" ""\n')
        config = self.workdir / "pgbouncer.ini"
        with config.open("w") as out:
            parser.write(out)
        if running_as_root():  # pgbouncer refuses to run as root; it runs as postgres (see start)
            user = pwd.getpwnam("postgres")
            for path in [self.workdir, *self.workdir.iterdir()]:
                os.chown(path, user.pw_uid, user.pw_gid)
        return config

    def start(self) -> None:
        binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
        if not os.access(binary, os.X_OK):
            raise RuntimeError("pgbouncer is not installed: apt-get install pgbouncer")
        config = self.write_config()
        command = [binary, "-u", "postgres", str(config)] if running_as_root() else [binary, str(config)]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not port_open(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"pgbouncer did not start: {self.log_tail()}")
            time.sleep(0.05)

    def log_tail(self, lines: int = 20) -> str:
        log = self.workdir / "pgbouncer.log"
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else "(no log)"

    def show(self, what: str) -> list[dict[str, str]]:
        """`SHOW {what}` on pgbouncer's admin console (psql: the console speaks the simple query protocol only)."""
        import csv

        result = subprocess.run(
            ["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user, "-d", "pgbouncer", "--csv",
             "-c", f"SHOW {what}"], capture_output=True, text=True, timeout=10, check=True)
        return list(csv.DictReader(result.stdout.splitlines()))

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
            self.process = None


@contextlib.contextmanager
def private_pgbouncer(**options: object) -> Iterator[PrivatePgBouncer]:
    workdir = Path(tempfile.mkdtemp(prefix="edutrack-pgbouncer-"))
    bouncer = PrivatePgBouncer(port=free_port(), workdir=workdir, **options)  # type: ignore[arg-type]
    try:
        bouncer.start()
        yield bouncer
    finally:
        bouncer.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def _pg_bin(name: str) -> str:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda p: int(p.parts[-3]))
    if not found:
        raise RuntimeError(f"{name} not found under /usr/lib/postgresql (apt-get install postgresql)")
    return str(found[-1])


def _as_postgres(args: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; the data directories belong to the postgres OS user then.
    return ["runuser", "-u", "postgres", "--", *args] if running_as_root() else args


@dataclass
class PostgresNode:
    port: int
    datadir: Path

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def ctl(self, *args: str, timeout: float = 60) -> None:
        subprocess.run(_as_postgres([_pg_bin("pg_ctl"), "-D", str(self.datadir), "-w", "-t", str(int(timeout)),
                                     *args]), check=True, capture_output=True, timeout=timeout + 10)

    def start(self) -> None:
        self.ctl("-l", str(self.datadir / "server.log"), "start")

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            self.ctl("-m", "fast", "stop", timeout=30)

    def log_tail(self, lines: int = 20) -> str:
        log = self.datadir / "server.log"
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else "(no log)"


@dataclass
class StreamingPair:
    primary: PostgresNode
    standby: PostgresNode


@contextlib.contextmanager
def streaming_replica() -> Iterator[StreamingPair]:
    """A private PostgreSQL primary and a hot standby streaming from it (pg_basebackup -R), each on a free port,
    in a temporary directory. (The machine's shared cluster allows no replication connections.)"""
    workdir = Path(tempfile.mkdtemp(prefix="edutrack-replica-"))
    workdir.chmod(0o755)
    primary = PostgresNode(free_port(), workdir / "primary")
    standby = PostgresNode(free_port(), workdir / "standby")
    if running_as_root():
        user = pwd.getpwnam("postgres")
        os.chown(workdir, user.pw_uid, user.pw_gid)
    try:
        subprocess.run(_as_postgres([_pg_bin("initdb"), "-D", str(primary.datadir), "-U", "postgres",
                                     "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C.UTF-8"]),
                       check=True, capture_output=True, timeout=120)
        with (primary.datadir / "postgresql.conf").open("a") as conf:
            conf.write(f"port = {primary.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\n"
                       "wal_level = replica\nmax_wal_senders = 4\nhot_standby = on\n"
                       "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n")
        with (primary.datadir / "pg_hba.conf").open("a") as hba:
            hba.write("host replication postgres 127.0.0.1/32 trust\n")
        primary.start()
        subprocess.run(_as_postgres([_pg_bin("pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port),
                                     "-U", "postgres", "-D", str(standby.datadir), "-R", "-X", "stream",
                                     "--no-sync"]), check=True, capture_output=True, timeout=120)
        with (standby.datadir / "postgresql.conf").open("a") as conf:
            conf.write(f"port = {standby.port}\n")
        (standby.datadir / "server.log").unlink(missing_ok=True)
        standby.start()
        yield StreamingPair(primary, standby)
    finally:
        standby.stop()
        primary.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def _free_cluster_port() -> int:
    """A port whose cluster bus port (port + 10000) is free too."""
    for _ in range(200):
        port = secrets.randbelow(9000) + 21000
        if not port_open(port) and not port_open(port + 10000):
            return port
    raise RuntimeError("no free port pair for a Redis Cluster node")


@dataclass
class PrivateRedisCluster:
    """A Redis Cluster of the test's own: `masters` masters with one replica each (redis-server processes in
    cluster mode, joined by `redis-cli --cluster create`). A test may kill a master (its replica is promoted
    after `node_timeout` ms) or restart a node."""

    workdir: Path
    masters: int = 3
    node_timeout: int = 1000
    ports: list[int] = field(default_factory=list)
    processes: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)
    served: int = 0  # commands processed, read when the run's cluster stops

    @property
    def nodes(self) -> str:
        """The REDIS_CLUSTER_NODES value."""
        return ",".join(f"127.0.0.1:{port}" for port in self.ports)

    def start_node(self, port: int) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        directory = self.workdir / str(port)
        directory.mkdir(exist_ok=True)
        self.processes[port] = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(directory), "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
             "--cluster-node-timeout", str(self.node_timeout), "--cluster-allow-pubsubshard-when-down", "yes"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not port_open(port):
            if time.monotonic() > deadline or self.processes[port].poll() is not None:
                raise RuntimeError("a Redis Cluster node did not start")
            time.sleep(0.05)

    def start(self) -> None:
        while len(self.ports) < self.masters * 2:
            port = _free_cluster_port()
            try:
                self.start_node(port)
            except RuntimeError:  # taken meanwhile by someone else on this shared machine: another pair
                self.processes.pop(port).kill()
                continue
            self.ports.append(port)
        cli = shutil.which("redis-cli") or "/usr/bin/redis-cli"
        subprocess.run([cli, "--cluster", "create", *(f"127.0.0.1:{p}" for p in self.ports),
                        "--cluster-replicas", "1", "--cluster-yes"], check=True, capture_output=True, timeout=60)
        self.wait_ok()
        self.wait_replicated()  # a replica that has not synced yet is never promoted

    def cli(self, port: int, *args: str) -> str:
        cli = shutil.which("redis-cli") or "/usr/bin/redis-cli"
        result = subprocess.run([cli, "-p", str(port), *args], capture_output=True, text=True, timeout=10)
        return result.stdout

    def info(self, port: int) -> dict[str, str]:
        lines = self.cli(port, "INFO", "stats").splitlines()
        return dict(line.split(":", 1) for line in lines if ":" in line)

    def alive(self) -> list[int]:
        return [port for port, process in self.processes.items() if process.poll() is None]

    def wait_ok(self, timeout: float = 30.0) -> None:
        """Until every live node says the cluster is ok and sees `masters` masters alive."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all("cluster_state:ok" in self.cli(p, "CLUSTER", "INFO") and len(self.master_ports(p)) == self.masters
                   for p in self.alive()):
                return
            time.sleep(0.2)
        raise RuntimeError("the private Redis Cluster did not become ok")

    def wait_replicated(self, timeout: float = 30.0) -> None:
        """Until every live replica's link to its master is up (a restarted node has synced), so that a master
        killed next has a replica that may take over."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            infos = [self.cli(p, "INFO", "replication") for p in self.alive()]
            if all("role:master" in i or "master_link_status:up" in i for i in infos):
                return
            time.sleep(0.2)
        raise RuntimeError("a Redis Cluster replica did not sync")

    def master_ports(self, asking: int | None = None) -> list[int]:
        """The ports of the masters that hold slots and are not failed, as a live node sees them."""
        port = asking if asking is not None else self.alive()[0]
        masters = []
        for line in self.cli(port, "CLUSTER", "NODES").splitlines():
            fields = line.split()
            if len(fields) > 8 and "master" in fields[2] and "fail" not in fields[2]:
                masters.append(int(fields[1].split("@")[0].rsplit(":", 1)[1]))
        return sorted(masters)

    def master_of(self, name: str) -> int:
        """The port of the master serving this key or shard channel now."""
        slot = int(self.cli(self.alive()[0], "CLUSTER", "KEYSLOT", name).strip())
        for line in self.cli(self.alive()[0], "CLUSTER", "NODES").splitlines():
            fields = line.split()
            if "master" not in fields[2] or "fail" in fields[2]:
                continue
            for part in fields[8:]:
                low, _, high = part.partition("-")
                if low.isdigit() and int(low) <= slot <= int(high or low):
                    return int(fields[1].split("@")[0].rsplit(":", 1)[1])
        raise RuntimeError(f"no master serves slot {slot}")

    def move_slot(self, name: str, to_port: int) -> int:
        """Migrate the slot of this key or shard channel to the master at `to_port` (the steps `redis-cli --cluster
        reshard` takes for each slot); returns the port of the master it left."""
        slot = self.cli(self.alive()[0], "CLUSTER", "KEYSLOT", name).strip()
        source = self.master_of(name)
        source_id = self.cli(source, "CLUSTER", "MYID").strip()
        target_id = self.cli(to_port, "CLUSTER", "MYID").strip()
        self.cli(to_port, "CLUSTER", "SETSLOT", slot, "IMPORTING", source_id)
        self.cli(source, "CLUSTER", "SETSLOT", slot, "MIGRATING", target_id)
        while keys := self.cli(source, "CLUSTER", "GETKEYSINSLOT", slot, "100").split():
            self.cli(source, "MIGRATE", "127.0.0.1", str(to_port), "", "0", "5000", "KEYS", *keys)
        for port in (to_port, source, *(p for p in self.master_ports() if p not in (to_port, source))):
            self.cli(port, "CLUSTER", "SETSLOT", slot, "NODE", target_id)
        return source

    def kill(self, port: int) -> None:
        """SIGKILL a node: no goodbye to anyone; its replica takes over after the node timeout."""
        process = self.processes.pop(port)
        process.kill()
        process.wait(10)

    def stop(self) -> None:
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(10)
        self.processes.clear()


@contextlib.contextmanager
def private_redis_cluster(masters: int = 3) -> Iterator[PrivateRedisCluster]:
    with tempfile.TemporaryDirectory(prefix="edutrack-redis-cluster-") as tmp:
        cluster = PrivateRedisCluster(workdir=Path(tmp), masters=masters)
        try:
            cluster.start()
            yield cluster
        finally:
            cluster.stop()
