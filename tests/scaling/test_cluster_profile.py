"""The configuration files of the `cluster` profile, run for real: the repository's haproxy.cfg in front of two
API nodes (websockets through it, one conversation across the nodes, AMQP through it), and its pgbouncer.ini
in front of the test PostgreSQL. tests/foundation/test_deploy_files.py checks that docker-compose.yml wires
them to the right services."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import aio_pika
import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url

from edutrack.context import AppContext
from edutrack.resources import open_context
from edutrack.settings import Settings
from tests.realtime.helpers import PROTOCOLS, chat_send, collect_messages, gateway_of, make_class_world, recv, subscribe
from tests.support.environment import AppFactory
from tests.support.factories import Actor, Factory
from tests.support.services import free_port, port_open, private_pgbouncer

ROOT = Path(__file__).resolve().parents[2]
HAPROXY_CFG = ROOT / "deploy/haproxy/haproxy.cfg"


def test_haproxy_accepts_the_configuration() -> None:
    result = subprocess.run(["haproxy", "-c", "-f", str(HAPROXY_CFG)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr


class Balancer:
    def __init__(self, http_port: int, amqp_port: int, process: subprocess.Popen[bytes]) -> None:
        self.http_port = http_port
        self.amqp_port = amqp_port
        self.process = process


def _local(config: str, http_port: int, amqp_port: int, api_ports: list[int]) -> str:
    """The repository's configuration with this machine's addresses: the same frontends, backends, checks and
    routing; servers and binds on loopback ports instead of Docker service names, and fewer connections than
    this machine's file descriptor limit allows raising to."""
    config = "".join(line + "\n" for line in config.splitlines() if not line.lstrip().startswith("#"))
    config = re.sub(r"maxconn \d+", "maxconn 2000", config)
    config = config.replace("bind :8080", f"bind 127.0.0.1:{http_port}")
    config = config.replace("bind :5672", f"bind 127.0.0.1:{amqp_port}")
    for i, port in enumerate(api_ports, start=1):
        config = config.replace(f"cluster-api-{i}:8000", f"127.0.0.1:{port}")
    config = re.sub(r"rabbitmq-\d:5672", "127.0.0.1:5672", config)
    assert "cluster-api-" not in config
    assert ":8080" not in config
    return config


@pytest.fixture
def balancer(client: TestClient, node_b: TestClient) -> Iterator[Balancer]:
    http_port, amqp_port = free_port(), free_port()
    config = _local(HAPROXY_CFG.read_text(), http_port, amqp_port, [client.port, node_b.port])
    workdir = Path(tempfile.mkdtemp(prefix="edutrack-haproxy-"))
    (workdir / "haproxy.cfg").write_text(config)
    process = subprocess.Popen(["haproxy", "-db", "-f", str(workdir / "haproxy.cfg")], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not (port_open(http_port) and port_open(amqp_port)):
            assert process.poll() is None, "haproxy did not start"
            assert time.monotonic() < deadline, "haproxy did not start"
            time.sleep(0.05)
        yield Balancer(http_port, amqp_port, process)
    finally:
        process.terminate()
        process.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
async def node_b(make_client: AppFactory) -> TestClient:
    return await make_client()


async def _socket(session: aiohttp.ClientSession, lb: Balancer, actor: Actor) -> aiohttp.ClientWebSocketResponse:
    ws = await session.ws_connect(f"http://127.0.0.1:{lb.http_port}/ws",
                                  protocols=(*PROTOCOLS, f"bearer.{actor.access_token}"))
    assert (await recv(ws))["type"] == "ready"
    return ws


async def test_websockets_through_the_balancer_spread_over_the_nodes_and_share_one_conversation(
    client: TestClient, node_b: TestClient, ctx: AppContext, factory: Factory, balancer: Balancer,
) -> None:
    world = await make_class_world(ctx, factory)
    async with aiohttp.ClientSession() as session:
        for _ in range(4):  # REST and pages through the balancer, to either node
            async with session.get(f"http://127.0.0.1:{balancer.http_port}/health") as resp:
                assert resp.status == 200
        sender = await _socket(session, balancer, world.students[0])
        receiver = await _socket(session, balancer, world.parent)
        # leastconn: the second socket goes to the node without one.
        assert len(gateway_of(client).connections) == len(gateway_of(node_b).connections) == 1
        assert (await subscribe(receiver, world.channel))["type"] == "subscribed"
        ack = await chat_send(sender, world.channel, "Через балансировщик", client_msg_id="lb-1")
        assert ack["type"] == "ack"
        assert ack["id"] == 1
        [message] = await collect_messages(receiver, world.channel, 1)
        assert message["text"] == "Через балансировщик"
        assert message["sender_id"] == world.students[0].id
        await sender.close()
        await receiver.close()


async def test_amqp_goes_through_the_balancer(balancer: Balancer) -> None:
    connection = await aio_pika.connect(f"amqp://guest:guest@127.0.0.1:{balancer.amqp_port}/", timeout=5)
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue("", exclusive=True)
        await channel.default_exchange.publish(aio_pika.Message(b"through haproxy"), queue.name)
        message = await queue.get(timeout=5)
        assert message is not None
        assert message.body == b"through haproxy"
        await message.ack()
    finally:
        await connection.close()


async def test_the_repository_pgbouncer_ini_pools_transactions(settings: Settings) -> None:
    database = str(make_url(settings.database_url).database)
    template = (ROOT / "deploy/pgbouncer/pgbouncer.ini").read_text()
    with private_pgbouncer(template=template, rename={"edutrack": database}) as bouncer:
        config = {row["key"]: row["value"] for row in bouncer.show("CONFIG")}
        assert config["pool_mode"] == "transaction"
        # The compose file's URL names the database `edutrack`: PgBouncer's entry for the real one.
        through = settings.replace(database_url=bouncer.url("edutrack"), database_pool_mode="transaction")
        async with open_context(through, role="pgbouncer-ini", connect_amqp=False) as ctx:
            async with ctx.reads() as session:
                assert (await session.execute(text("SELECT current_database()"))).scalar_one() == database
            async with ctx.sessions.begin() as session:
                await session.execute(text("SELECT count(*) FROM users"))
        served = [row for row in bouncer.show("POOLS") if row["database"] == "edutrack"]
        assert served
        assert served[0]["pool_mode"] == "transaction"
