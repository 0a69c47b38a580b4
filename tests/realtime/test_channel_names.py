"""A channel has one spelling. A name with a final newline or a non-ASCII digit used to be accepted as a second,
hidden channel of the same chat (its own history, listed nowhere, out of the moderators' sight): it is refused
with 400 `invalid_channel`, over REST and over /ws."""

from __future__ import annotations

from urllib.parse import quote

from sqlalchemy import func, select

from edutrack.db.chat import ChatMessage
from tests.realtime.helpers import connect, make_class_world, recv_until, send, subscribe


def other_spellings(channel: str) -> list[str]:
    # A final newline (what `$` let through), and a number spelled with an Arabic-Indic digit (int() reads it).
    return [channel + "\n", channel + "\u0660"]


async def _stored_anywhere(ctx) -> int:
    async with ctx.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(ChatMessage))).scalar_one())


async def test_rest_refuses_other_spellings_of_a_channel(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    member = world.students[0]
    dm = f"dm:{min(member.id, world.teacher.id)}:{max(member.id, world.teacher.id)}"
    for channel in (world.channel, dm):
        for name in other_spellings(channel):
            path = f"/api/v1/chats/{quote(name, safe=':')}"
            resp = await client.post(f"{path}/messages", json={"text": "тайком"}, headers=member.headers)
            assert resp.status == 400, (name, resp.status)
            assert (await resp.json())["error"]["code"] == "invalid_channel"
            for method, suffix, body in (("GET", "/messages", None), ("GET", "/members", None),
                                         ("POST", "/read", {"up_to": 1})):
                resp = await client.request(method, path + suffix, json=body, headers=member.headers)
                assert resp.status == 400, (name, method, suffix, resp.status)
    assert await _stored_anywhere(ctx) == 0


async def test_the_websocket_refuses_other_spellings_of_a_channel(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    member = world.students[0]
    ws = await connect(client, member)
    for channel in (world.channel, f"user:{member.id}"):
        for name in other_spellings(channel):
            reply = await subscribe(ws, name)
            assert reply["type"] == "error", (name, reply)
            assert reply["code"] == "invalid_channel", (name, reply)
    for name in other_spellings(world.channel):
        await send(ws, {"type": "chat.send", "channel": name, "text": "тайком", "req": "s"})
        reply, _ = await recv_until(ws, lambda f: f.get("req") == "s")
        assert reply["type"] == "error", (name, reply)
        assert reply["code"] == "invalid_channel", (name, reply)
    assert await _stored_anywhere(ctx) == 0
    await ws.close()
