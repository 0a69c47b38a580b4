"""One login session ends alone: a logout (or the reuse of a rotated refresh token, which revokes that login's
refresh-token family) refuses that device's access tokens at once on every node and closes its sockets, while
the same user's other devices carry on (services/access.py, the `sid` claim)."""

from __future__ import annotations

import asyncio

import jwt
from sqlalchemy import text

from tests.realtime.helpers import connect, expect_close
from tests.realtime.test_access_revocation import _closed_with, _refused, _works
from tests.support.environment import TEST_JWT_SECRET

LOGOUT = "/api/v1/auth/logout"
REFRESH = "/api/v1/auth/refresh"


async def test_logout_cuts_that_devices_access_tokens_and_sockets_on_every_node(client, make_client, factory):
    node_b = await make_client()
    student = await factory.user("student")
    phone = await factory.login(student)
    laptop = await factory.login(student)
    phone_sockets = [await connect(client, phone), await connect(node_b, phone)]
    laptop_socket = await connect(node_b, laptop)
    # The access token names its login session: the refresh-token family.
    claims = jwt.decode(phone.access_token, TEST_JWT_SECRET, algorithms=["HS256"], options={"verify_aud": False})
    assert claims["sid"]
    assert (claims["sid"] != jwt.decode(laptop.access_token, TEST_JWT_SECRET,
                                                         algorithms=["HS256"])["sid"])

    resp = await client.post(LOGOUT, json={"refresh_token": phone.refresh_token})
    assert resp.status == 204

    for ws in phone_sockets:
        await _closed_with(ws, 4001)
    for node in (client, node_b):
        assert (await _refused(node, phone.access_token))["code"] == "token_revoked"
    # A node that starts afterwards reads the ended session from the database.
    late = await make_client()
    assert (await _refused(late, phone.access_token, timeout=0))["code"] == "token_revoked"
    # The other device is untouched.
    for node in (client, node_b, late):
        await _works(node, laptop.access_token)
    assert not laptop_socket.closed
    await laptop_socket.close()
    await late.close()


async def test_reuse_of_a_rotated_refresh_token_cuts_that_logins_access_tokens(client, make_client, factory):
    node = await make_client(refresh_reuse_grace=0)
    student = await factory.user("student")
    thief_copy = await factory.login(student)
    other = await factory.login(student)
    rotated = await node.post(REFRESH, json={"refresh_token": thief_copy.refresh_token})
    assert rotated.status == 200
    current = await rotated.json()
    ws = await connect(client, token=current["access_token"])
    await asyncio.sleep(0.01)

    # The old refresh token shows up again: the family is revoked, and its live access token with it.
    resp = await node.post(REFRESH, json={"refresh_token": thief_copy.refresh_token})
    assert resp.status == 401
    await _closed_with(ws, 4001)
    for n in (client, node):
        assert (await _refused(n, current["access_token"]))["code"] == "token_revoked"
    await _works(client, other.access_token)


async def test_a_session_end_whose_broadcast_never_came_is_read_by_the_poll(make_client, ctx, factory):
    """The node that logged the device out died between its commit and its announce: the others find the revoked
    family in the database at their next read."""
    node = await make_client(access_cutoff_poll=0.2)
    student = await factory.user("student")
    phone = await factory.login(student)
    laptop = await factory.login(student)
    ws = await connect(node, phone)
    await _works(node, phone.access_token)
    sid = jwt.decode(phone.access_token, TEST_JWT_SECRET, algorithms=["HS256"])["sid"]
    async with ctx.sessions.begin() as session:
        await session.execute(text("UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = :f"), {"f": sid})
    closed, frames = await expect_close(ws)
    assert closed in (4001, 4002), (closed, frames)
    assert frames[-1]["code"] == "token_revoked", (closed, frames)
    assert (await _refused(node, phone.access_token, timeout=2))["code"] == "token_revoked"
    await _works(node, laptop.access_token)
    await node.close()
