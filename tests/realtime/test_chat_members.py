"""GET /api/v1/chats/{channel}/members: who is in a chat, named, for the people allowed to see the chat."""

from __future__ import annotations

from edutrack.services import chat as chat_service
from tests.realtime.helpers import make_class_world


async def _members(client, channel, actor, status=200):
    resp = await client.get(f"/api/v1/chats/{channel}/members", headers=actor.headers)
    body = await resp.json()
    assert resp.status == status, body
    return body


async def test_class_chat_members_are_named_with_their_roles(client, ctx, factory):
    world = await make_class_world(ctx, factory, students=2)
    expected = {(a.id, a.user.role) for a in (world.teacher, *world.students, world.parent)}
    for reader in (world.students[1], world.parent, world.teacher):
        items = (await _members(client, world.channel, reader))["items"]
        assert {(m["id"], m["role"]) for m in items} == expected
        names = {m["id"]: m["name"] for m in items}
        # The factory names people "Тестов <Role><n>" (last name first, as class lists do).
        assert names[world.parent.id].startswith("Тестов Parent"), names
    # Neither the classmate outside the class nor a stranger from another school learns who is in it.
    for outsider in (world.outsider, world.stranger):
        body = await _members(client, world.channel, outsider, 403)
        assert body["error"]["code"] == "not_a_member"


async def test_parents_are_not_members_where_the_school_keeps_them_out(client, ctx, factory):
    world = await make_class_world(ctx, factory, students=1, parents_in_chat=False)
    items = (await _members(client, world.channel, world.teacher))["items"]
    assert {m["id"] for m in items} == {world.teacher.id, world.students[0].id}
    await _members(client, world.channel, world.parent, 403)


async def test_private_chat_members_and_bad_channels(client, ctx, factory):
    world = await make_class_world(ctx, factory, students=1)
    student, teacher = world.students[0], world.teacher
    dm = chat_service.dm_channel(student.id, teacher.id)
    items = (await _members(client, dm, student))["items"]
    assert {(m["id"], m["role"]) for m in items} == {(student.id, "student"), (teacher.id, "teacher")}
    await _members(client, dm, world.outsider, 403)
    body = await _members(client, f"user:{student.id}", student, 400)
    assert body["error"]["code"] == "invalid_channel"
    await _members(client, "nonsense", student, 400)
