"""A 20 MB file uploaded through one API process and downloaded through another, with flat memory on both:
the bytes go through PostgreSQL in chunks, never whole through either process."""

from __future__ import annotations

import hashlib
import os

import aiohttp
import pytest

from tests.files.helpers import PDF_BYTES
from tests.realtime.helpers import make_class_world, node_env
from tests.support.nodes import api_node

SIZE = 20 * 1024 * 1024
FLAT_KIB = 8 * 1024  # far below the file's 20 MiB


def _pdf(size: int) -> bytes:
    return PDF_BYTES + os.urandom(size - len(PDF_BYTES))


async def _upload(http: aiohttp.ClientSession, url: str, token: str, data: bytes, name: str) -> dict[str, object]:
    async def chunks():  # streamed, as a browser sends a large file
        for i in range(0, len(data), 256 * 1024):
            yield data[i:i + 256 * 1024]

    async with http.post(f"{url}/api/v1/files?name={name}", data=chunks(),
                         headers={"Authorization": f"Bearer {token}"}) as resp:
        body = await resp.json()
        assert resp.status == 201, body
        return body


async def _download(http: aiohttp.ClientSession, url: str, token: str, file_id: object) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    async with http.get(f"{url}/api/v1/files/{file_id}", headers={"Authorization": f"Bearer {token}"}) as resp:
        assert resp.status == 200
        async for data in resp.content.iter_chunked(256 * 1024):
            digest.update(data)
            size += len(data)
    return digest.hexdigest(), size


@pytest.mark.timeout(180)
async def test_20_mb_up_through_one_node_and_down_through_another_with_flat_memory(settings, ctx, factory):
    world = await make_class_world(ctx, factory)
    token = world.students[0].access_token
    data = _pdf(SIZE)
    env = node_env(settings)
    async with api_node(env) as node_a, api_node(env) as node_b, aiohttp.ClientSession() as http:
        # Warm-up: the code paths, the connection pools, the allocator's first arenas.
        small = await _upload(http, node_a.url, token, _pdf(2 * 1024 * 1024), "warmup.pdf")
        await _download(http, node_b.url, token, small["id"])

        async with node_a.peak_rss() as up:
            stored = await _upload(http, node_a.url, token, data, "big.pdf")
        async with node_b.peak_rss() as down:
            digest, size = await _download(http, node_b.url, token, stored["id"])

        assert size == SIZE
        assert digest == hashlib.sha256(data).hexdigest()
        assert up[1] - up[0] < FLAT_KIB, f"upload node RSS {up[0]} -> peak {up[1]} KiB"
        assert down[1] - down[0] < FLAT_KIB, f"download node RSS {down[0]} -> peak {down[1]} KiB"
        # The other node cannot be talked into serving it to someone outside the class.
        async with http.get(f"{node_b.url}/api/v1/files/{stored['id']}",
                            headers={"Authorization": f"Bearer {world.outsider.access_token}"}) as resp:
            assert resp.status == 404
