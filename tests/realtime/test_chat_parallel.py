"""Announcements of a parallel (grade-announcements:{school}:{grade}): every class of one grade in a school reads,
staff post (a parent's chat.send is refused), and membership follows the diary live: an unenrolled student and a
class moved to another grade leave it on open sockets."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import update

from edutrack.db.diary import AcademicYear, ClassStudent, ParentChild, SchoolClass
from tests.realtime.helpers import (
    ClassWorld,
    chat_send,
    collect_messages,
    connect,
    make_class_world,
    recv_until,
    send,
    subscribe,
)


async def _sibling_class(ctx: Any, factory: Any, world: ClassWorld, name: str, grade: int) -> dict[str, Any]:
    """Another class of the world's school, with one student and that student's parent."""
    student = await factory.actor("student", school_id=world.school_id)
    parent = await factory.actor("parent", school_id=world.school_id)
    async with ctx.sessions.begin() as session:
        klass = SchoolClass(school_id=world.school_id, name=name, grade_level=grade)
        session.add(klass)
        await session.flush()
        session.add(ClassStudent(class_id=klass.id, student_id=student.id))
        session.add(ParentChild(parent_id=parent.id, child_id=student.id))
        class_id = klass.id
    return {"class_id": class_id, "student": student, "parent": parent}


async def _refused(ws: Any, channel: str) -> str:
    await send(ws, {"type": "subscribe", "channel": channel, "req": "try"})
    frame, _ = await recv_until(ws, lambda f: f.get("req") == "try")
    return str(frame.get("code") or frame["type"])


def _revoked(channel: str):
    return lambda f: f.get("type") == "unsubscribed" and f.get("channel") == channel


async def test_a_parallel_reads_staff_post_and_a_parent_is_refused(client, ctx, factory):
    world = await make_class_world(ctx, factory)  # 7Б
    seventh = await _sibling_class(ctx, factory, world, "7А", 7)
    eighth = await _sibling_class(ctx, factory, world, "8А", 8)
    board = f"grade-announcements:{world.school_id}:7"
    ws_parent = await connect(client, seventh["parent"])
    ws_pupil = await connect(client, world.students[0])
    assert (await subscribe(ws_parent, board))["type"] == "subscribed"
    assert (await subscribe(ws_pupil, board))["type"] == "subscribed"
    ws_other = await connect(client, eighth["student"])
    assert await _refused(ws_other, board) == "not_a_member"

    refused = await chat_send(ws_parent, board, "А можно вопрос?")
    assert refused["code"] == "read_only"
    resp = await client.post(f"/api/v1/chats/{board}/messages", headers=world.parent.headers,
                             json={"text": "А можно вопрос?"})
    assert resp.status == 403
    assert (await resp.json())["error"]["code"] == "read_only"
    resp = await client.post(f"/api/v1/chats/{board}/messages", headers=world.teacher.headers,
                             json={"text": "Седьмые классы: медосмотр во вторник"})
    assert resp.status == 201, await resp.text()
    for ws in (ws_parent, ws_pupil):
        got = await collect_messages(ws, board, 1)
        assert got[0]["text"] == "Седьмые классы: медосмотр во вторник"

    ws_back = await connect(client, seventh["student"])  # resume: what came while away is replayed
    assert (await subscribe(ws_back, board, since=0))["missed"] == 1
    assert (await collect_messages(ws_back, board, 1))[0]["text"] == "Седьмые классы: медосмотр во вторник"
    await ws_back.close()

    resp = await client.get("/api/v1/chats", headers=seventh["parent"].headers)
    titles = {i["channel"]: i["title"] for i in (await resp.json())["items"]}
    assert titles[board] == "Объявления 7-х классов"
    resp = await client.get(f"/api/v1/chats/{board}/messages", headers=eighth["parent"].headers)
    assert resp.status == 403
    for ws in (ws_parent, ws_pupil, ws_other):
        await ws.close()


async def test_a_parallel_follows_enrolments_and_grade_changes_live(client, make_client, ctx, factory):
    world = await make_class_world(ctx, factory)
    seventh = await _sibling_class(ctx, factory, world, "7А", 7)
    admin = await factory.actor("admin", school_id=world.school_id)
    board = f"grade-announcements:{world.school_id}:7"
    node_b = await make_client()
    ws_leaving = await connect(node_b, world.students[1])
    ws_parent = await connect(node_b, seventh["parent"])
    assert (await subscribe(ws_leaving, board))["type"] == "subscribed"
    assert (await subscribe(ws_parent, board))["type"] == "subscribed"

    resp = await client.delete(f"/api/v1/classes/{world.class_id}/students/{world.students[1].id}",
                               headers=admin.headers)
    assert resp.status == 204, await resp.text()
    frame, _ = await recv_until(ws_leaving, _revoked(board))
    assert frame["reason"] == "not_a_member"

    # 7А becomes an eighth grade: its parent leaves the seventh grade's announcements and may join the eighth's.
    resp = await client.patch(f"/api/v1/classes/{seventh['class_id']}", headers=admin.headers,
                              json={"grade_level": 8})
    assert resp.status == 200, await resp.text()
    frame, _ = await recv_until(ws_parent, _revoked(board))
    assert frame["reason"] == "not_a_member"
    assert (await subscribe(ws_parent, f"grade-announcements:{world.school_id}:8"))["type"] == "subscribed"
    for ws in (ws_leaving, ws_parent):
        await ws.close()


async def test_grade_channel_names_have_one_spelling(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    for name in (f"grade-announcements:{world.school_id}:12", f"grade-announcements:{world.school_id}:07",
                 f"grade-announcements:{world.school_id}", f"grade-announcements:{world.school_id}:0"):
        resp = await client.get(f"/api/v1/chats/{name}/messages", headers=world.teacher.headers)
        assert resp.status == 400, name


async def test_a_parallel_is_the_current_years_classes(client, ctx, factory):
    """Last year's 7А stays for its diary, but its pupils (in the eighth grade now) no longer read the seventh
    grade's announcements, nor see them among their chats; this year's classes and classes with no year do."""
    world = await make_class_world(ctx, factory)  # 7Б, no year
    today = date.today()
    last_year = await _sibling_class(ctx, factory, world, "7А", 7)
    this_year = await _sibling_class(ctx, factory, world, "7В", 7)
    async with ctx.sessions.begin() as session:
        old = AcademicYear(school_id=world.school_id, name="прошлый", starts_on=today - timedelta(days=400),
                           ends_on=today - timedelta(days=40))
        current = AcademicYear(school_id=world.school_id, name="этот", starts_on=today - timedelta(days=30),
                               ends_on=today + timedelta(days=300))
        session.add_all([old, current])
        await session.flush()
        await session.execute(update(SchoolClass).where(SchoolClass.id == last_year["class_id"])
                              .values(academic_year_id=old.id))
        await session.execute(update(SchoolClass).where(SchoolClass.id == this_year["class_id"])
                              .values(academic_year_id=current.id))
    board = f"grade-announcements:{world.school_id}:7"
    for reader in (this_year["student"], this_year["parent"], world.students[0]):
        ws = await connect(client, reader)
        assert (await subscribe(ws, board))["type"] == "subscribed"
        await ws.close()
    for former in (last_year["student"], last_year["parent"]):
        ws = await connect(client, former)
        assert await _refused(ws, board) == "not_a_member"
        await ws.close()
        resp = await client.get("/api/v1/chats", headers=former.headers)
        assert board not in {item["channel"] for item in (await resp.json())["items"]}
    resp = await client.get("/api/v1/chats", headers=this_year["student"].headers)
    assert board in {item["channel"] for item in (await resp.json())["items"]}
