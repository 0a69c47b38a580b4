"""The hub's own Redis connection (edutrack/realtime/subscriber.py), against real redis-server processes: what
REDIS_URL can say (a password, a Unix socket, TLS), bursts read in bulk and in order, a Redis that stops answering."""

from __future__ import annotations

import asyncio
import os
import signal
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
import trustme
from redis.asyncio import Redis

from edutrack.events import redis_channel
from edutrack.realtime.subscriber import SubscriberConnection
from tests.realtime.helpers import collect_messages, connect, gateway_of, make_class_world, subscribe
from tests.support.services import PrivateRedis, free_port, private_redis


async def _messages(conn: SubscriberConnection, count: int, timeout: float = 10.0) -> list[bytes]:
    got: list[bytes] = []
    async with asyncio.timeout(timeout):
        while len(got) < count:
            got.extend(reply[2] for reply in await conn.replies() if reply[0] == b"message")
    return got


async def _confirmed(conn: SubscriberConnection, channel: str) -> None:
    async with asyncio.timeout(5):
        while True:
            for reply in await conn.replies():
                if reply[0] == b"subscribe" and reply[1] == channel.encode():
                    return


async def _round_trip(url: str, **publisher: Any) -> None:
    """Subscribe over `url`, publish with redis-py, receive it; the connection is named in CLIENT LIST."""
    conn = await SubscriberConnection.open(url, client_name="edutrack-hub:test")
    try:
        conn.subscribe("ch")
        await _confirmed(conn, "ch")
        redis = Redis.from_url(url, **publisher)
        try:
            assert await redis.publish("ch", "привет") == 1
            assert await _messages(conn, 1) == ["привет".encode()]
            names = [c["name"] for c in await redis.client_list()]
            assert "edutrack-hub:test" in names
        finally:
            await redis.aclose()
    finally:
        conn.close()


async def test_a_password_in_the_url_is_sent_and_a_wrong_one_refused():
    with private_redis("--requirepass", "s3cret") as server:
        url = f"redis://:s3cret@127.0.0.1:{server.port}/0"
        await _round_trip(url)
        with pytest.raises(ConnectionError, match="refused AUTH"):
            await SubscriberConnection.open(f"redis://:wrong@127.0.0.1:{server.port}/0", client_name="x")
        with pytest.raises(ConnectionError, match="refused CLIENT"):  # no password at all: NOAUTH
            await SubscriberConnection.open(server.url, client_name="x")


async def test_a_unix_socket_url():
    with tempfile.TemporaryDirectory(prefix="edutrack-sock-") as tmp:
        path = Path(tmp) / "redis.sock"
        with private_redis("--unixsocket", str(path), "--unixsocketperm", "700"):
            await _round_trip(f"unix://{path}")


async def test_tls_with_a_trusted_ca_and_refused_without(tmp_path: Path):
    authority = trustme.CA()
    cert = authority.issue_cert("127.0.0.1", "localhost")
    ca_file, cert_file, key_file = tmp_path / "ca.pem", tmp_path / "cert.pem", tmp_path / "key.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    port = free_port()
    server = PrivateRedis(port=port, workdir=tmp_path, args=(
        "--port", "0", "--tls-port", str(port), "--tls-cert-file", str(cert_file), "--tls-key-file", str(key_file),
        "--tls-ca-cert-file", str(ca_file), "--tls-auth-clients", "no"))
    server.start()
    try:
        await _round_trip(f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={ca_file}", ssl_ca_certs=str(ca_file))
        # The system CAs do not know this one: the handshake fails instead of talking to an unverified server.
        with pytest.raises(OSError, match="CERTIFICATE_VERIFY_FAILED"):
            await SubscriberConnection.open(f"rediss://127.0.0.1:{port}/0", client_name="x")
    finally:
        server.stop()


async def test_a_burst_arrives_complete_in_order_and_byte_exact(settings):
    """Far more than one socket read and more than the pause threshold, sizes across hiredis's chunk boundaries,
    read only after all of it was published (the reads are paused meanwhile, then resumed)."""
    conn = await SubscriberConnection.open(settings.redis_url, client_name="edutrack-hub:test")
    channel = f"{settings.namespace}:burst"
    redis = Redis.from_url(settings.redis_url)
    try:
        conn.subscribe(channel)
        await _confirmed(conn, channel)
        sizes = [1, 100, 300, 5, 1000]
        payloads = [f"{i}:".encode() + b"x" * (150_000 if i % 1000 == 999 else sizes[i % len(sizes)])
                    for i in range(30_000)]  # about 13 MB
        async with redis.pipeline(transaction=False) as pipe:
            for payload in payloads:
                pipe.publish(channel, payload)
            await pipe.execute()
        await asyncio.sleep(1.0)  # nobody reads for a second: the replies pile up past the pause threshold (8 MB)
        got = await _messages(conn, len(payloads), timeout=60)
        assert got == payloads
    finally:
        await redis.aclose()
        conn.close()


async def test_a_redis_that_stops_answering_is_noticed():
    with private_redis() as server:
        conn = await SubscriberConnection.open(server.url, client_name="x", health_interval=0.3)
        conn.subscribe("ch")
        await _confirmed(conn, "ch")
        # Quiet but alive: the PING is answered and the connection lives on.
        started = time.monotonic()
        assert [r[0] for r in await conn.replies()] == [b"pong"]
        assert time.monotonic() - started >= 0.25
        assert server.process is not None
        os.kill(server.process.pid, signal.SIGSTOP)  # hung, not closed: the socket stays open
        try:
            started = time.monotonic()
            with pytest.raises(ConnectionError, match="did not answer a PING"):
                await conn.replies()
            assert time.monotonic() - started < 2
        finally:
            os.kill(server.process.pid, signal.SIGCONT)


async def test_garbage_on_redis_does_not_stop_live_delivery(client, ctx, factory, settings):
    """Anyone who can publish on the namespace's channels can send bytes that are not UTF-8, not JSON, or a node
    event with absurd values: the hub drops them and goes on delivering."""
    world = await make_class_world(ctx, factory, students=1)
    reader = await connect(client, world.students[0])
    await subscribe(reader, world.channel)
    ns = settings.namespace
    for channel, payload in ((world.channel, b"\xff\xfe not utf-8"), (world.channel, b"{not json"),
                             ("_nodes", b'{"type": "access.revoked", "user_id": 1, "before": 1' + b"0" * 400 + b"}"),
                             ("_nodes", b'{"type": "access.revoked", "user_id": "x", "before": "y"}'),
                             ("_nodes", b"\xff")):
        await ctx.redis.publish(redis_channel(ns, channel), payload)
    resp = await client.post(f"/api/v1/chats/{world.channel}/messages", headers=world.teacher.headers,
                             json={"text": "всё ещё живо"})
    assert resp.status == 201, await resp.text()
    [message] = await collect_messages(reader, world.channel, 1)
    assert message["text"] == "всё ещё живо"
    assert gateway_of(client).hub.connected.is_set()
    await reader.close()
