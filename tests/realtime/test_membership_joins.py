"""Joining a class chat works the moment an administrator lets someone in (enrolled, linked as a parent, moved
from another class), although every node reuses a class's member list for a few seconds."""

from __future__ import annotations

from sqlalchemy import insert

from edutrack.db.diary import SchoolClass
from tests.realtime.helpers import connect, make_class_world, recv_until, subscribe


async def test_an_enrolled_student_and_a_linked_parent_join_at_once(client, make_client, ctx, factory):
    world = await make_class_world(ctx, factory, students=1)
    node_b = await make_client()
    admin = await factory.actor("admin", school_id=world.school_id)
    newcomer = world.outsider
    new_parent = await factory.actor("parent", school_id=world.school_id)
    # The teacher reads the chat on node B, so B keeps the class's member list (and gets its events).
    ws_teacher = await connect(node_b, world.teacher)
    assert (await subscribe(ws_teacher, world.channel))["type"] == "subscribed"
    ws_student = await connect(node_b, newcomer)
    ws_parent = await connect(node_b, new_parent)
    # Refused now, and the node keeps the member list it just read.
    assert (await subscribe(ws_student, world.channel))["code"] == "not_a_member"
    assert (await subscribe(ws_parent, world.channel))["code"] == "not_a_member"

    resp = await client.post(f"/api/v1/classes/{world.class_id}/students", headers=admin.headers,
                             json={"student_ids": [newcomer.id]})
    assert resp.status == 200, await resp.text()
    resp = await client.post("/api/v1/parent-links", headers=admin.headers,
                             json={"parent_id": new_parent.id, "child_id": newcomer.id})
    assert resp.status == 201, await resp.text()
    assert (await subscribe(ws_student, world.channel))["type"] == "subscribed"
    assert (await subscribe(ws_parent, world.channel))["type"] == "subscribed"
    for ws in (ws_student, ws_parent, ws_teacher):
        await ws.close()


async def test_a_moved_student_leaves_one_chat_and_joins_the_other(client, ctx, factory):
    world = await make_class_world(ctx, factory, students=1)
    admin = await factory.actor("admin", school_id=world.school_id)
    async with ctx.sessions.begin() as session:
        other_class = (await session.execute(insert(SchoolClass).returning(SchoolClass.id), [
            {"school_id": world.school_id, "name": "7В", "grade_level": 7,
             "class_teacher_id": world.teacher.id}])).scalar_one()
    student = world.students[0]
    # The class teacher reads the other class's chat on this node, which so keeps that class's member list.
    ws_teacher = await connect(client, world.teacher)
    assert (await subscribe(ws_teacher, f"class:{other_class}"))["type"] == "subscribed"
    ws = await connect(client, student)
    assert (await subscribe(ws, world.channel))["type"] == "subscribed"
    assert (await subscribe(ws, f"class:{other_class}"))["code"] == "not_a_member"

    resp = await client.post(f"/api/v1/students/{student.id}/transfer", headers=admin.headers,
                             json={"from_class_id": world.class_id, "to_class_id": other_class})
    assert resp.status == 200, await resp.text()
    left, _ = await recv_until(ws, lambda f: f.get("type") == "unsubscribed" and f.get("channel") == world.channel)
    assert left["reason"] == "not_a_member"
    assert (await subscribe(ws, f"class:{other_class}"))["type"] == "subscribed"
    await ws.close()
    await ws_teacher.close()
