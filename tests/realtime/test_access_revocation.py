"""Access tokens cut short: after a deactivation, a new role or school, a password change or "log out everywhere",
the tokens issued before stop working at once on every node (REST and /ws), and the user's open sockets are
closed whatever they subscribed to (services/token_cutoffs.py)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import text

from tests.foundation.helpers import error_of
from tests.realtime.helpers import connect, expect_close, make_class_world, subscribe
from tests.support.factories import Actor
from tests.support.services import private_redis

ME = "/api/v1/profile/me"
REFRESH = "/api/v1/auth/refresh"


async def _refused(node: TestClient, token: str, timeout: float = 5.0) -> dict[str, Any]:
    """The 401 error a node gives `token`; waits while the broadcast may still be on its way to that node."""
    deadline = time.monotonic() + timeout
    while True:
        resp = await node.get(ME, headers={"Authorization": f"Bearer {token}"})
        if resp.status == 401 or time.monotonic() > deadline:
            return await error_of(resp, 401)
        resp.release()
        await asyncio.sleep(0.05)


async def _works(node: TestClient, token: str) -> dict[str, Any]:
    resp = await node.get(ME, headers={"Authorization": f"Bearer {token}"})
    assert resp.status == 200, await resp.text()
    body: dict[str, Any] = await resp.json()
    return body


async def _closed_with(ws: Any, code: int) -> None:
    closed, frames = await expect_close(ws)
    assert closed == code, (closed, frames)
    assert frames, frames
    assert frames[-1]["type"] == "error", frames
    assert frames[-1]["code"] == "token_revoked", frames


async def test_deactivation_cuts_every_token_and_socket_on_every_node(client, make_client, ctx, factory):
    world = await make_class_world(ctx, factory, students=2)
    node_b = await make_client()
    admin = await factory.actor("admin", school_id=world.school_id)
    gone, classmate = world.students
    # Sockets that never subscribed to the user's feed: before, a deactivation could not reach them.
    chat_only = await connect(client, gone)
    assert (await subscribe(chat_only, world.channel))["type"] == "subscribed"
    idle = await connect(node_b, gone)
    bystander = await connect(node_b, classmate)
    await _works(node_b, gone.access_token)

    resp = await client.patch(f"/api/v1/users/{gone.id}", headers=admin.headers, json={"is_active": False})
    assert resp.status == 200, await resp.text()

    await _closed_with(chat_only, 4001)
    await _closed_with(idle, 4001)
    for node in (client, node_b):
        assert (await _refused(node, gone.access_token))["code"] == "token_revoked"
    # A node that starts afterwards reads the cut-off from the database.
    late = await make_client()
    assert (await _refused(late, gone.access_token, timeout=0))["code"] == "token_revoked"
    # Opening a socket with it: 4002 (refresh first), and the refresh is refused (the account is disabled).
    refused = await connect(late, token=gone.access_token, expect_ready=False)
    closed, frames = await expect_close(refused)
    assert closed == 4002, (closed, frames)
    assert frames[-1]["code"] == "token_revoked", (closed, frames)
    error = await error_of(await client.post(REFRESH, json={"refresh_token": gone.refresh_token}), 401)
    assert error["code"] == "invalid_refresh_token"
    # Nobody else is touched.
    await _works(node_b, classmate.access_token)
    await _works(late, admin.access_token)
    assert not bystander.closed
    await bystander.close()
    await late.close()


async def test_a_new_role_asks_for_a_fresh_token_and_the_refresh_carries_it(client, make_client, ctx, factory):
    node_b = await make_client()
    root = await factory.actor("admin", is_superuser=True)
    teacher = await factory.actor("teacher", school_id=(await make_class_world(ctx, factory)).school_id)
    ws = await connect(node_b, teacher)

    # Saying what is already true changes no claim: tokens stay valid (asked of the node that made the change,
    # which would record a cut-off before answering).
    resp = await client.patch(f"/api/v1/users/{teacher.id}", headers=root.headers, json={"role": "teacher"})
    assert resp.status == 200, await resp.text()
    await _works(client, teacher.access_token)

    resp = await client.patch(f"/api/v1/users/{teacher.id}", headers=root.headers, json={"role": "parent"})
    assert resp.status == 200, await resp.text()
    await _closed_with(ws, 4002)
    assert (await _refused(node_b, teacher.access_token))["code"] == "token_revoked"
    resp = await node_b.post(REFRESH, json={"refresh_token": teacher.refresh_token})
    assert resp.status == 200, await resp.text()
    fresh = (await resp.json())["access_token"]
    assert (await _works(node_b, fresh))["role"] == "parent"
    again = await connect(node_b, token=fresh)
    await again.close()


async def test_password_change_signs_other_devices_out_at_once(client, make_client, factory):
    node_b = await make_client()
    actor = await factory.actor("parent", password="old-password-42")
    other = await factory.login(actor.user, "old-password-42")
    other_ws = await connect(node_b, other)

    resp = await client.put("/api/v1/profile/me/password", headers=actor.headers,
                            json={"current_password": "old-password-42", "new_password": "new-password-42"})
    assert resp.status == 200, await resp.text()
    pair = await resp.json()

    await _closed_with(other_ws, 4002)  # it may refresh; its refresh token is revoked, so it must log in
    for token in (other.access_token, actor.access_token):
        assert (await _refused(node_b, token))["code"] == "token_revoked"
    await error_of(await node_b.post(REFRESH, json={"refresh_token": other.refresh_token}), 401)
    # The pair handed back with the change was issued after the cut-off: it works everywhere.
    for node in (client, node_b):
        await _works(node, pair["access_token"])
    mine = await connect(node_b, token=pair["access_token"])
    await mine.close()


async def test_logout_everywhere_closes_sockets_for_a_new_login(client, make_client, factory):
    node_b = await make_client()
    actor = await factory.actor("student")
    sockets = [await connect(client, actor), await connect(node_b, actor)]
    resp = await client.post("/api/v1/auth/logout-all", headers=actor.headers)
    assert resp.status == 204
    for ws in sockets:
        await _closed_with(ws, 4001)
    assert (await _refused(node_b, actor.access_token))["code"] == "token_revoked"
    # Logging in again gives a token issued after the cut-off.
    again: Actor = await factory.login(actor.user)
    await _works(node_b, again.access_token)


async def test_a_cut_off_broadcast_lost_with_redis_is_read_when_it_returns(make_client, ctx, factory):
    world = await make_class_world(ctx, factory, students=1)
    admin = await factory.actor("admin", school_id=world.school_id)
    [gone] = world.students
    with private_redis() as server:
        node_a = await make_client(redis_url=server.url)
        node_b = await make_client(redis_url=server.url)
        ws = await connect(node_b, gone)
        await asyncio.to_thread(server.stop)
        resp = await node_a.patch(f"/api/v1/users/{gone.id}", headers=admin.headers, json={"is_active": False})
        assert resp.status == 200, await resp.text()
        # The node that made the change refuses at once, Redis or not.
        assert (await _refused(node_a, gone.access_token, timeout=0))["code"] == "token_revoked"
        await asyncio.to_thread(server.start)
        # Node B missed the broadcast; when its subscription is back it reads the column and acts on it.
        closed, frames = await expect_close(ws, timeout=15)
        assert closed == 4002, (closed, frames)
        assert frames[-1]["code"] == "token_revoked", (closed, frames)
        assert (await _refused(node_b, gone.access_token, timeout=0))["code"] == "token_revoked"
        await node_a.close()
        await node_b.close()


async def test_a_cut_off_whose_broadcast_never_came_is_read_by_the_poll(make_client, ctx, factory):
    """The node that made the change died between its commit and its announce (or its publish failed) while every
    subscription stayed up: the other nodes find the cut-off by reading the column."""
    node = await make_client(access_cutoff_poll=0.2)
    actor = await factory.actor("student")
    ws = await connect(node, actor)
    await _works(node, actor.access_token)
    async with ctx.sessions.begin() as session:
        await session.execute(text("UPDATE users SET access_valid_after = now() WHERE id = :id"), {"id": actor.id})
    await _closed_with(ws, 4002)
    assert (await _refused(node, actor.access_token, timeout=2))["code"] == "token_revoked"
    await node.close()
