"""Final marks: term and year marks read by the student and parents, notified when set or changed; the year mark
proposed by the school's rule; confirming it; who may read and write."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from edutrack.context import AppContext
from edutrack.db.models import Notification
from tests.support.factories import Actor, Factory
from tests.support.school import BuiltSchool, build_school


async def finals_told(ctx: AppContext, user_id: int) -> list[dict[str, Any]]:
    async with ctx.sessions.begin() as session:
        rows = await session.execute(select(Notification.payload).where(
            Notification.kind == "final_mark", Notification.user_id == user_id).order_by(Notification.id))
        return list(rows.scalars())


async def term_mark(client: TestClient, teacher: Actor, school: BuiltSchool, student: int, subject: int, term: int,
                    final: str) -> None:
    resp = await client.put("/api/v1/attestations", headers=teacher.headers, json={
        "student_id": student, "subject_id": subject, "term_id": term, "final": final, "comment": "Итог"})
    assert resp.status == 200, await resp.text()


async def test_term_and_year_marks_read_and_notified(client: TestClient, ctx: AppContext, factory: Factory,
                                                     school: BuiltSchool) -> None:
    cls = school.classes[0]
    math = school.subject(0)
    child = cls.student_ids[0]
    teacher = await factory.login(school.teacher_of(cls.id, math))
    t1, t2 = school.term_ids
    await term_mark(client, teacher, school, child, math, t1, "4")
    await term_mark(client, teacher, school, child, math, t1, "5")
    await term_mark(client, teacher, school, child, math, t1, "5")  # unchanged: nobody told
    await term_mark(client, teacher, school, child, math, t2, "3")
    parent = school.parents(child)[0]
    told = await finals_told(ctx, parent.id)
    assert [(p["term_id"], p["final"], p["previous"]) for p in told] == [(t1, "4", None), (t1, "5", "4"),
                                                                         (t2, "3", None)]
    assert told[1]["title"] == "Математика, 1 четверть: итоговая оценка изменена с 4 на 5"
    assert len(await finals_told(ctx, child)) == 3

    reader = await factory.login(parent)
    resp = await client.get(f"/api/v1/students/{child}/final-marks", headers=reader.headers)
    assert resp.status == 200, await resp.text()
    data = await resp.json()
    assert data["year_name"] == "2026/2027"
    row = next(s for s in data["subjects"] if s["subject_id"] == math)
    assert [(t["term_id"], t["final"]) for t in row["terms"]] == [(t1, "5"), (t2, "3")]
    assert row["year"]["proposed"] == "4"  # mean of 5 and 3
    assert row["year"]["final"] is None

    admin = await factory.login(school.admin)
    resp = await client.patch(f"/api/v1/schools/{school.id}", json={"year_mark_rule": "last_term"},
                              headers=admin.headers)
    assert resp.status == 200, await resp.text()
    student = await factory.login(school.user(child))
    resp = await client.get(f"/api/v1/students/{child}/final-marks", headers=student.headers)
    row = next(s for s in (await resp.json())["subjects"] if s["subject_id"] == math)
    assert row["year"]["proposed"] == "3"

    key = {"student_id": child, "subject_id": math, "year_id": school.year_id}
    resp = await client.put("/api/v1/year-marks", json={**key, "final": "4"}, headers=teacher.headers)
    assert resp.status == 422  # an override needs a reason
    resp = await client.put("/api/v1/year-marks", json=key, headers=teacher.headers)
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["final"] == "3"
    year_note = (await finals_told(ctx, parent.id))[-1]
    assert (year_note["term_id"], year_note["final"]) == (None, "3")
    assert year_note["title"] == "Математика, 2026/2027 учебный год: итоговая оценка 3"
    resp = await client.get(f"/api/v1/students/{child}/final-marks", headers=reader.headers)
    row = next(s for s in (await resp.json())["subjects"] if s["subject_id"] == math)
    assert row["year"]["final"] == "3"


async def test_who_may_read_and_set_final_marks(client: TestClient, ctx: AppContext, factory: Factory,
                                                school: BuiltSchool) -> None:
    cls, other_cls = school.classes
    math, history = school.subject(0), school.subject(2)
    child = cls.student_ids[0]
    url = f"/api/v1/students/{child}/final-marks"
    outsiders = [school.parents(other_cls.student_ids[0])[0], school.user(other_cls.student_ids[0]),
                 school.teacher_of(other_cls.id, math)]
    other_school = await build_school(ctx, classes=1, students_per_class=1, parents_per_student=1)
    outsiders.append(other_school.admin)
    for user in outsiders:
        actor = await factory.login(user)
        resp = await client.get(url, headers=actor.headers)
        assert resp.status == 404
    history_teacher = await factory.login(school.teacher_of(cls.id, history))
    resp = await client.get(url, headers=history_teacher.headers)
    assert [s["subject_id"] for s in (await resp.json())["subjects"]] == [history]
    class_teacher = await factory.login(school.user(cls.class_teacher_id or 0))
    resp = await client.get(url, headers=class_teacher.headers)
    assert len((await resp.json())["subjects"]) == 3
    resp = await client.get(f"{url}?year_id={other_school.year_id}", headers=class_teacher.headers)
    assert resp.status == 422
    key = {"student_id": child, "subject_id": math, "year_id": school.year_id}
    resp = await client.put("/api/v1/year-marks", json=key, headers=history_teacher.headers)
    assert resp.status == 403
    parent = await factory.login(school.parents(child)[0])
    resp = await client.put("/api/v1/year-marks", json=key, headers=parent.headers)
    assert resp.status == 403
    foreign = await factory.login(other_school.admin)
    resp = await client.put("/api/v1/year-marks", json=key, headers=foreign.headers)
    assert resp.status == 404
    assert await finals_told(ctx, child) == []


async def test_setting_year_marks_is_rate_limited(client: TestClient, ctx: AppContext, factory: Factory,
                                                  school: BuiltSchool) -> None:
    cls = school.classes[0]
    math = school.subject(0)
    teacher = await factory.login(school.teacher_of(cls.id, math))
    for _ in range(1200):
        await ctx.limiter.hit(f"year-mark:{teacher.user.id}", 3600)
    resp = await client.put("/api/v1/year-marks", headers=teacher.headers, json={
        "student_id": cls.student_ids[0], "subject_id": math, "year_id": school.year_id})
    assert resp.status == 429


async def test_a_class_year_marks_sheet_for_the_teacher(client: TestClient, ctx: AppContext, factory: Factory,
                                                        school: BuiltSchool) -> None:
    cls, other_cls = school.classes
    math, history = school.subject(0), school.subject(2)
    first, second, third = cls.student_ids
    teacher = await factory.login(school.teacher_of(cls.id, math))
    t1, t2 = school.term_ids
    await term_mark(client, teacher, school, first, math, t1, "5")
    await term_mark(client, teacher, school, first, math, t2, "4")
    await term_mark(client, teacher, school, second, math, t1, "3")
    resp = await client.put("/api/v1/year-marks", headers=teacher.headers, json={
        "student_id": second, "subject_id": math, "year_id": school.year_id, "final": "4", "comment": "Олимпиада"})
    assert resp.status == 200, await resp.text()
    url = f"/api/v1/classes/{cls.id}/year-marks?subject_id={math}"
    resp = await client.get(url, headers=teacher.headers)
    assert resp.status == 200, await resp.text()
    data = await resp.json()
    assert (data["year_id"], data["year_mark_rule"], data["can_edit"]) == (school.year_id, "mean", True)
    assert [t["id"] for t in data["terms"]] == [t1, t2]
    rows = {r["id"]: r for r in data["students"]}
    assert set(rows) == {first, second, third}
    assert [(t["term_id"], t["final"]) for t in rows[first]["terms"]] == [(t1, "5"), (t2, "4")]
    assert (rows[first]["proposed"], rows[first]["final"]) == ("5", None)  # 4.5 rounds up at 0.5
    assert (rows[second]["proposed"], rows[second]["final"], rows[second]["is_override"],
            rows[second]["comment"]) == ("3", "4", True, "Олимпиада")
    assert (rows[third]["terms"], rows[third]["proposed"]) == ([], "na")
    # The class teacher reads every subject of the class without confirming; others are kept out.
    class_teacher = await factory.login(school.user(cls.class_teacher_id or 0))
    resp = await client.get(url, headers=class_teacher.headers)
    assert resp.status == 200
    assert (await resp.json())["can_edit"] is (cls.class_teacher_id == cls.teacher_by_subject[math])
    for user, status in ((school.teacher_of(other_cls.id, history), 404), (school.parents(first)[0], 403)):
        resp = await client.get(url, headers=(await factory.login(user)).headers)
        assert resp.status == status, user.email
    other_school = await build_school(ctx, classes=1, students_per_class=1, parents_per_student=1)
    resp = await client.get(url, headers=(await factory.login(other_school.admin)).headers)
    assert resp.status == 404
    resp = await client.get(f"{url}&year_id={other_school.year_id}", headers=teacher.headers)
    assert resp.status == 422
