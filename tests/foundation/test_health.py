"""Liveness and readiness against the real services, and with each one unreachable."""

from __future__ import annotations

import time

from sqlalchemy.engine import make_url

from tests.support.services import free_port


async def test_liveness(client):
    resp = await client.get("/health")
    assert resp.status == 200
    assert await resp.json() == {"status": "ok"}


async def test_ready_with_everything_up(client):
    resp = await client.get("/health/ready")
    body = await resp.json()
    assert resp.status == 200, body
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"postgres", "redis", "rabbitmq"}
    for name, check in body["checks"].items():
        assert check["status"] == "ok", (name, check)
        assert check["error"] is None
        assert isinstance(check["latency_ms"], float | int)
        assert check["latency_ms"] >= 0


async def test_ready_503_when_postgres_is_unreachable(make_client, settings):
    closed = free_port()
    url = make_url(settings.database_url).set(port=closed).render_as_string(hide_password=False)
    assert url != settings.database_url
    client = await make_client(database_url=url)
    started = time.monotonic()
    resp = await client.get("/health/ready")
    assert time.monotonic() - started < 5
    body = await resp.json()
    assert resp.status == 503, body
    assert body["status"] == "down"
    assert body["checks"]["postgres"]["status"] == "down"
    assert body["checks"]["postgres"]["error"]
    assert body["checks"]["redis"]["status"] == "ok"
    # Liveness does no I/O, so it still answers.
    assert (await client.get("/health")).status == 200


async def test_ready_degraded_when_redis_is_unreachable(make_client):
    client = await make_client(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    resp = await client.get("/health/ready")
    body = await resp.json()
    assert resp.status == 200, body
    assert body["status"] == "degraded"
    assert body["checks"]["redis"]["status"] == "down"
    assert body["checks"]["postgres"]["status"] == "ok"


async def test_ready_degraded_when_rabbitmq_is_unreachable(make_client):
    started = time.monotonic()
    client = await make_client(rabbitmq_url=f"amqp://guest:guest@127.0.0.1:{free_port()}/")
    # Start-up does not wait for RabbitMQ for long.
    assert time.monotonic() - started < 8
    resp = await client.get("/health/ready")
    body = await resp.json()
    assert resp.status == 200, body
    assert body["status"] == "degraded"
    assert body["checks"]["rabbitmq"]["status"] == "down"
