"""Attendance through HTTP: bulk marks, later reasons, notifications, reads, authorization, bad input."""

from __future__ import annotations

from datetime import date
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from edutrack.context import AppContext
from edutrack.db.models import Notification
from tests.support.factories import Factory
from tests.support.school import BuiltSchool, add_lessons, build_school

D1, D2 = date(2026, 10, 5), date(2026, 10, 6)


async def attendance_notes(ctx: AppContext) -> list[Notification]:
    async with ctx.sessions.begin() as session:
        rows = await session.execute(select(Notification).where(Notification.kind == "attendance")
                                     .order_by(Notification.id))
        return list(rows.scalars())


async def test_bulk_marks_reasons_and_notifications(client: TestClient, ctx: AppContext, factory: Factory,
                                                    school: BuiltSchool) -> None:
    cls = school.classes[0]
    math = school.subject(0)
    l1, l2 = await add_lessons(ctx, school, cls.id, math, [D1, D2])
    s1, s2, s3 = cls.student_ids
    teacher = await factory.login(school.teacher_of(cls.id, math))
    marks = [{"student_id": s1, "status": "present"}, {"student_id": s2, "status": "absent"},
             {"student_id": s3, "status": "late", "note": "10 минут"}]
    resp = await client.put(f"/api/v1/lessons/{l1}/attendance", json={"marks": marks}, headers=teacher.headers)
    assert resp.status == 200, await resp.text()
    items = (await resp.json())["items"]
    assert [(i["student_id"], i["status"], i["reason"]) for i in items] == [
        (s1, "present", None), (s2, "absent", None), (s3, "late", None)]
    notes = await attendance_notes(ctx)
    # s2 (absent) and s3 (late), each with two parents: 6 rows, one per recipient.
    assert len(notes) == 6
    by_student: dict[int, set[int]] = {}
    for n in notes:
        by_student.setdefault(n.about_user_id or 0, set()).add(n.user_id)
    assert by_student == {s2: {s2, *school.parents_of[s2]}, s3: {s3, *school.parents_of[s3]}}
    p = next(n.payload for n in notes if n.about_user_id == s2)
    assert p["status"] == "absent"
    assert p["lesson_id"] == l1
    assert p["date"] == D1.isoformat()
    assert p["subject"] == "Математика"
    assert p["student_name"]
    assert p["title"]
    # Re-sending the same marks notifies nobody; the reason added later does.
    resp = await client.put(f"/api/v1/lessons/{l1}/attendance", json={"marks": marks}, headers=teacher.headers)
    assert resp.status == 200
    assert len(await attendance_notes(ctx)) == 6
    absent_id = items[1]["id"]
    resp = await client.patch(f"/api/v1/attendance/{absent_id}", json={"reason": "illness"},
                              headers=teacher.headers)
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["reason"] == "illness"
    notes = await attendance_notes(ctx)
    assert len(notes) == 9
    assert notes[-1].payload["reason"] == "illness"
    # Back to present clears the reason.
    resp = await client.patch(f"/api/v1/attendance/{absent_id}", json={"status": "present"},
                              headers=teacher.headers)
    assert (await resp.json())["reason"] is None
    await client.put(f"/api/v1/lessons/{l2}/attendance", json={"marks": [
        {"student_id": s1, "status": "absent", "reason": "unexcused"}]}, headers=teacher.headers)

    # Reads: teacher sees the lesson; the student the own mark only; a parent the child's.
    resp = await client.get(f"/api/v1/lessons/{l1}/attendance", headers=teacher.headers)
    assert len((await resp.json())["marks"]) == 3
    student = await factory.login(school.user(s3))
    resp = await client.get(f"/api/v1/lessons/{l1}/attendance", headers=student.headers)
    assert [m["student_id"] for m in (await resp.json())["marks"]] == [s3]
    parent = await factory.login(school.parents(s2)[0])
    resp = await client.get(f"/api/v1/lessons/{l1}/attendance", headers=parent.headers)
    assert [m["student_id"] for m in (await resp.json())["marks"]] == [s2]
    resp = await client.get(f"/api/v1/students/{s1}/attendance", headers=teacher.headers)
    data = await resp.json()
    assert [m["status"] for m in data["marks"]] == ["present", "absent"]
    assert data["summary"] == {"marked": 2, "present": 1, "late": 0, "absent": 1, "unexcused": 1, "rate": 0.5}
    resp = await client.get(f"/api/v1/students/{s1}/attendance?from={D2}&to={D2}", headers=teacher.headers)
    assert [m["lesson_id"] for m in (await resp.json())["marks"]] == [l2]


async def test_attendance_authorization_and_bad_input(client: TestClient, ctx: AppContext, factory: Factory,
                                                      school: BuiltSchool) -> None:
    cls = school.classes[0]
    math = school.subject(0)
    lesson, = await add_lessons(ctx, school, cls.id, math, [D1])
    s1 = cls.student_ids[0]
    teacher = await factory.login(school.teacher_of(cls.id, math))
    ok = {"marks": [{"student_id": s1, "status": "absent", "reason": "excused"}]}
    other = await build_school(ctx, classes=1, students_per_class=1, parents_per_student=0)
    forbidden = [
        (await factory.login(school.teacher_of(cls.id, school.subject(1))), 403),  # another subject
        (await factory.login(school.user(s1)), 403),
        (await factory.login(school.parents(s1)[0]), 403),
        (await factory.login(other.teacher_of(other.classes[0].id, other.subject(0))), 404),
        (await factory.login(other.admin), 404),
    ]
    for actor, status in forbidden:
        resp = await client.put(f"/api/v1/lessons/{lesson}/attendance", json=ok, headers=actor.headers)
        assert resp.status == status, (actor.user.role, resp.status)
    admin = await factory.login(school.admin)
    resp = await client.put(f"/api/v1/lessons/{lesson}/attendance", json=ok, headers=admin.headers)
    assert resp.status == 200
    mark_id = (await resp.json())["items"][0]["id"]
    bad: list[dict[str, Any]] = [
        {"marks": []},
        {"marks": [{"student_id": s1, "status": "sleeping"}]},
        {"marks": [{"student_id": s1, "status": "present", "reason": "illness"}]},
        {"marks": [{"student_id": s1, "status": "absent", "reason": "lazy"}]},
        {"marks": [{"student_id": s1, "status": "absent"}, {"student_id": s1, "status": "late"}]},
        {"marks": [{"student_id": school.classes[1].student_ids[0], "status": "absent"}]},
        {"marks": [{"student_id": 10**9, "status": "absent"}]},
        {"marks": "x"},
    ]
    for data in bad:
        resp = await client.put(f"/api/v1/lessons/{lesson}/attendance", json=data, headers=teacher.headers)
        assert resp.status == 422, (data, resp.status, await resp.text())
    resp = await client.put("/api/v1/lessons/999999/attendance", json=ok, headers=teacher.headers)
    assert resp.status == 404
    for patch in [{}, {"status": "late", "reason": "illness"}, {"reason": "nope"}]:
        resp = await client.patch(f"/api/v1/attendance/{mark_id}", json=patch, headers=teacher.headers)
        assert resp.status == 422, patch
    resp = await client.patch(f"/api/v1/attendance/{mark_id}", json={"status": "late"},
                              headers=(await factory.login(school.user(s1))).headers)
    assert resp.status == 403
    resp = await client.patch("/api/v1/attendance/999999", json={"status": "late"}, headers=teacher.headers)
    assert resp.status == 404
    # Reading: another school's staff and another class's parents get 404.
    other_parent = await factory.login(school.parents(school.classes[1].student_ids[0])[0])
    for actor in (other_parent, await factory.login(other.admin)):
        assert (await client.get(f"/api/v1/lessons/{lesson}/attendance", headers=actor.headers)).status == 404
        assert (await client.get(f"/api/v1/students/{s1}/attendance", headers=actor.headers)).status == 404
    resp = await client.get(f"/api/v1/students/{s1}/attendance?from=2026-10-10&to=2026-10-01",
                            headers=teacher.headers)
    assert resp.status == 422


async def test_a_students_attendance_names_the_gender_its_words_agree_with(
    client: TestClient, factory: Factory, school: BuiltSchool,
) -> None:
    """The diary words a student's marks as verbs ("опоздал" / "опоздала"): the answer says which form."""
    s1 = school.classes[0].student_ids[0]
    student = await factory.login(school.user(s1))
    resp = await client.get(f"/api/v1/students/{s1}/attendance", headers=student.headers)
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["student_gender"] == "male"  # "Школьников": a boy, by the surname
    admin = await factory.login(school.admin)
    resp = await client.put(f"/api/v1/users/{s1}/gender", headers=admin.headers, json={"gender": "female"})
    assert resp.status == 200, await resp.text()
    resp = await client.get(f"/api/v1/students/{s1}/attendance", headers=student.headers)
    assert (await resp.json())["student_gender"] == "female"
