"""One budget per user for chat writes, shared by their REST requests and all of their sockets on the node, and a
cap on the sockets one user holds on a node. Before, REST sends, edits, deletes and read markers had no limit at
all (40 posts in 0.4 s, all 201, around the socket's per-connection limit), and one user could open any number
of sockets."""

from __future__ import annotations

import asyncio

from edutrack.keys import CTX
from edutrack.ratelimit import BUDGETS, CHAT_READ, CHAT_SEND, TYPING, Budget, UserBudgets
from edutrack.realtime.protocol import CloseCode
from tests.realtime.helpers import (
    chat_send,
    connect,
    expect_close,
    make_class_world,
    recv,
    recv_until,
    send,
    stored_messages,
    subscribe,
)
from tests.support.factories import Factory

SENDS = BUDGETS[CHAT_SEND].burst


async def test_rest_sends_and_every_socket_of_the_user_share_one_budget(client, ctx, factory):
    # The same burst, refilled too slowly to matter: on a loaded machine the two connects after the burst took
    # longer than one refill (0.2 s), and the socket's send was allowed. What is shared is the budget, not its rate.
    ctx.budgets = UserBudgets({**BUDGETS, CHAT_SEND: Budget(0.001, SENDS)})
    world = await make_class_world(ctx, factory)
    path = f"/api/v1/chats/{world.channel}/messages"
    statuses = []
    for i in range(SENDS + 5):
        resp = await client.post(path, json={"text": f"залп {i}"}, headers=world.teacher.headers)
        statuses.append(resp.status)
        if resp.status == 429:
            body = await resp.json()
            assert body["error"]["code"] == "rate_limited"
            assert int(resp.headers["Retry-After"]) >= 1
            assert body["error"]["details"]["retry_after"] >= 1
    assert statuses[:SENDS] == [201] * SENDS, statuses
    assert 429 in statuses[SENDS:], statuses
    stored = await stored_messages(ctx, world.channel)
    # ... and the same budget over any of the user's sockets: nothing more is stored
    sockets = [await connect(client, world.teacher) for _ in range(2)]
    for ws in sockets:
        reply = await chat_send(ws, world.channel, "и сюда", client_msg_id="later-1")
        assert reply["type"] == "error", reply
        assert reply["code"] == "rate_limited", reply
        assert reply["client_msg_id"] == "later-1"
        assert reply["details"]["retry_after"] >= 1
    assert await stored_messages(ctx, world.channel) == stored
    # Edits and deletes draw on it too; another user's budget is their own.
    resp = await client.delete(f"{path}/1", headers=world.teacher.headers)
    assert resp.status == 429
    resp = await client.post(path, json={"text": "я сам по себе"}, headers=world.students[0].headers)
    assert resp.status == 201
    for ws in sockets:
        await ws.close()


async def test_read_markers_share_one_budget_over_rest_and_sockets(client, ctx, factory):
    # The same burst, refilled too slowly to matter: a loaded machine may take longer than one refill (0.2 s)
    # between the last REST call and the socket's read, and the budget is what is shared, not its rate.
    ctx.budgets = UserBudgets({**BUDGETS, CHAT_READ: Budget(0.001, BUDGETS[CHAT_READ].burst)})
    world = await make_class_world(ctx, factory)
    reader = world.students[0]
    reads = BUDGETS[CHAT_READ].burst
    await client.post(f"/api/v1/chats/{world.channel}/messages", json={"text": "прочти"},
                      headers=world.teacher.headers)
    statuses = []
    for i in range(reads + 5):
        path = f"/api/v1/chats/{world.channel}/read" if i % 2 else "/api/v1/notifications/read"
        statuses.append((await client.post(path, json={"up_to": 1}, headers=reader.headers)).status)
    assert statuses[:reads] == [200] * reads, statuses
    assert 429 in statuses[reads:], statuses
    ws = await connect(client, reader)
    await send(ws, {"type": "read", "channel": world.channel, "up_to": 1, "req": "r"})
    reply, _ = await recv_until(ws, lambda f: f.get("req") == "r")
    assert reply["type"] == "error", reply
    assert reply["code"] == "rate_limited", reply
    await ws.close()


async def test_typing_over_many_sockets_is_held_to_the_users_budget(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    typist, observer_user = world.students
    observer = await connect(client, observer_user)
    await subscribe(observer, world.channel)
    budget = BUDGETS[TYPING]
    sockets = [await connect(client, typist) for _ in range(budget.burst + 6)]
    for ws in sockets:
        await subscribe(ws, world.channel)
    started = asyncio.get_running_loop().time()
    for ws in sockets:  # each socket's first typing in the channel: the per-socket interval lets all through
        await send(ws, {"type": "typing", "channel": world.channel})
    await send(observer, {"type": "ping", "req": "after"})
    await asyncio.sleep(0.5)
    await send(observer, {"type": "ping", "req": "end"})
    _, seen = await recv_until(observer, lambda f: f.get("req") == "end")
    elapsed = asyncio.get_running_loop().time() - started
    typed = [f for f in seen if f["type"] == "typing" and f["user_id"] == typist.id]
    assert budget.burst <= len(typed) <= budget.burst + int(elapsed * budget.per_second) + 1, len(typed)
    for ws in [*sockets, observer]:
        await ws.close()


async def test_one_user_holds_at_most_the_configured_sockets_on_a_node(make_client):
    node = await make_client(ws_max_sockets_per_user=3)
    node_factory = Factory(node, node.app[CTX])
    user, other = await node_factory.actor("student"), await node_factory.actor("student")
    sockets = [await connect(node, user) for _ in range(3)]
    refused = await connect(node, user, expect_ready=False)
    code, frames = await expect_close(refused)
    assert code == CloseCode.TOO_MANY_SOCKETS == 4029
    assert frames[0]["code"] == "too_many_sockets"
    assert (await connect(node, other)).closed is False  # another user is not affected
    await sockets[0].close()
    for _ in range(50):  # once the node has let go of one, there is room again
        ws = await connect(node, user, expect_ready=False)
        first = await recv(ws)
        if first["type"] == "ready":
            break
        await expect_close(ws)
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("no room after a socket closed")
    await ws.close()
    for ws in sockets[1:]:
        await ws.close()
