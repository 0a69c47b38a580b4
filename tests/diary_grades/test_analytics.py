"""Performance analytics through HTTP: student averages, trend and attendance rate; class success/quality
rates and students at risk; visibility; statement count independent of rows."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import insert, update

from edutrack.context import AppContext
from edutrack.db.diary import Attendance, Grade, School
from tests.support.factories import Factory
from tests.support.school import BuiltSchool, add_lessons, build_school

HW, TEST = "Домашняя работа", "Контрольная работа"


async def grades(ctx: AppContext, school: BuiltSchool, student: int, subject: int,
                 items: list[tuple[int, str, date]], class_index: int = 0) -> None:
    cls = school.classes[class_index]
    async with ctx.sessions.begin() as session:
        await session.execute(insert(Grade), [
            {"school_id": school.id, "student_id": student, "class_id": cls.id, "subject_id": subject,
             "teacher_id": cls.teacher_by_subject[subject], "work_type_id": school.work_type_ids[wt],
             "date": day, "value": v} for v, wt, day in items])


async def attendance(ctx: AppContext, school: BuiltSchool, lessons: list[int], student: int,
                     statuses: list[tuple[str, str | None]]) -> None:
    async with ctx.sessions.begin() as session:
        await session.execute(insert(Attendance), [
            {"school_id": school.id, "lesson_id": lesson, "student_id": student, "status": status,
             "reason": reason, "marked_by": school.admin.id}
            for lesson, (status, reason) in zip(lessons, statuses, strict=True)])


async def test_student_performance(client: TestClient, ctx: AppContext, factory: Factory,
                                   school: BuiltSchool) -> None:
    cls = school.classes[0]
    math, russian = school.subject(0), school.subject(1)
    s1 = cls.student_ids[0]
    # Week of 5 Oct: maths 5 (test, w3) and 3 (hw, w1); week of 12 Oct: maths 4 (hw); russian 2, 3 (hw).
    await grades(ctx, school, s1, math, [(5, TEST, date(2026, 10, 5)), (3, HW, date(2026, 10, 6)),
                                         (4, HW, date(2026, 10, 13))])
    await grades(ctx, school, s1, russian, [(2, HW, date(2026, 10, 14)), (3, HW, date(2026, 10, 15))])
    lessons = await add_lessons(ctx, school, cls.id, math, [date(2026, 10, d) for d in (5, 6, 7, 8)])
    await attendance(ctx, school, lessons, s1, [("present", None), ("late", None), ("absent", "illness"),
                                                ("absent", None)])
    parent = await factory.login(school.parents(s1)[0])
    resp = await client.get(f"/api/v1/students/{s1}/performance?term_id={school.term_ids[0]}",
                            headers=parent.headers)
    assert resp.status == 200, await resp.text()
    data = await resp.json()
    subjects = {s["subject_id"]: s for s in data["subjects"]}
    # maths: (15 + 3 + 4) / 5 = 4.4 weighted, 4.0 plain; russian 2.5 both.
    assert subjects[math]["weighted_average"] == 4.4
    assert subjects[math]["plain_average"] == 4.0
    assert subjects[math]["proposed"] == "4"
    assert subjects[russian]["weighted_average"] == 2.5
    assert subjects[russian]["proposed"] == "na"  # 2 < 3 marks
    assert data["overall_weighted_average"] == round(27 / 7, 2)
    assert [(p["period_start"], p["weighted_average"], p["numeric_count"]) for p in data["trend"]] == [
        ("2026-10-05", 4.5, 2), ("2026-10-12", 3.0, 3)]
    assert data["attendance"] == {"marked": 4, "present": 1, "late": 1, "absent": 2, "unexcused": 1, "rate": 0.5}
    resp = await client.get(f"/api/v1/students/{s1}/performance?term_id={school.term_ids[0]}&unit=month",
                            headers=parent.headers)
    assert [p["period_start"] for p in (await resp.json())["trend"]] == ["2026-10-01"]
    # A subject teacher sees their subject only.
    russian_teacher = await factory.login(school.teacher_of(cls.id, russian))
    resp = await client.get(f"/api/v1/students/{s1}/performance?term_id={school.term_ids[0]}",
                            headers=russian_teacher.headers)
    data = await resp.json()
    assert [s["subject_id"] for s in data["subjects"]] == [russian]
    assert data["attendance"]["marked"] == 0
    other = await factory.login(school.parents(cls.student_ids[1])[0])
    resp = await client.get(f"/api/v1/students/{s1}/performance?term_id={school.term_ids[0]}",
                            headers=other.headers)
    assert resp.status == 404
    for bad in ["", "?term_id=999999", f"?term_id={school.term_ids[0]}&unit=day"]:
        resp = await client.get(f"/api/v1/students/{s1}/performance{bad}", headers=parent.headers)
        assert resp.status == 422, bad


async def test_class_performance_rates_and_risk(client: TestClient, ctx: AppContext, factory: Factory,
                                                count_queries: Any) -> None:
    school = await build_school(ctx, classes=1, students_per_class=4, parents_per_student=0, subjects=(
        "Математика", "Русский язык"), min_marks_for_attestation=2)
    cls = school.classes[0]
    math, russian = school.subject(0), school.subject(1)
    a, b, c, d = cls.student_ids
    day = date(2026, 10, 5)
    await grades(ctx, school, a, math, [(5, HW, day), (5, HW, day)])        # 5
    await grades(ctx, school, a, russian, [(4, HW, day), (5, HW, day)])     # 4.5 -> 5: quality
    await grades(ctx, school, b, math, [(4, HW, day), (3, HW, day)])        # 3.5 -> 4
    await grades(ctx, school, b, russian, [(3, HW, day), (3, HW, day)])     # 3: succeeding, not quality
    await grades(ctx, school, c, math, [(2, HW, day), (2, HW, day)])        # 2: failing, at risk
    await grades(ctx, school, c, russian, [(5, HW, day)])                   # na (1 < 2 marks)
    # d has no grades: not attested; but 2 unexcused absences reach the limit below.
    lessons = await add_lessons(ctx, school, cls.id, math, [day, day + timedelta(days=1)])
    await attendance(ctx, school, lessons, d, [("absent", None), ("absent", "unexcused")])
    await attendance(ctx, school, lessons, a, [("present", None), ("late", None)])
    async with ctx.sessions.begin() as session:
        await session.execute(update(School).where(School.id == school.id).values(at_risk_unexcused_absences=2))
    admin = await factory.login(school.admin)
    url = f"/api/v1/classes/{cls.id}/performance?term_id={school.term_ids[0]}"
    counter = count_queries()
    resp = await client.get(url, headers=admin.headers)
    assert resp.status == 200, await resp.text()
    first_count = counter.count
    data = await resp.json()
    assert data["students"] == 4
    assert data["attested_students"] == 3
    assert data["success_rate"] == round(2 / 3, 4)
    assert data["quality_rate"] == round(1 / 3, 4)
    assert data["attendance_rate"] == 0.5
    subjects = {s["subject_id"]: s for s in data["subjects"]}
    assert subjects[math]["average"] == round((5 + 3.5 + 2) / 3, 2)
    assert subjects[math]["students_graded"] == 3
    assert subjects[math]["results"] == {"5": 1, "4": 1, "3": 0, "2": 1, "1": 0, "na": 1}
    risk = {r["student_id"]: r for r in data["at_risk"]}
    assert set(risk) == {c, d}
    assert risk[c]["reasons"] == ["failing_subjects"]
    assert risk[c]["failing_subjects"] == ["Математика"]
    assert risk[d]["reasons"] == ["unexcused_absences"]
    assert risk[d]["unexcused_absences"] == 2
    # A confirmed term mark replaces the proposal: c's maths overridden to 3 -> no longer failing.
    resp = await client.put("/api/v1/attestations", json={"student_id": c, "subject_id": math,
                                                          "term_id": school.term_ids[0], "final": "3",
                                                          "comment": "пересдача"}, headers=admin.headers)
    assert resp.status == 200
    # Triple the grades: the statement count stays the same.
    for s in (a, b, c):
        await grades(ctx, school, s, math, [(3, HW, day)] * 6)
    counter = count_queries()
    resp = await client.get(url, headers=admin.headers)
    assert counter.count == first_count
    data = await resp.json()
    assert data["success_rate"] == 1.0
    assert {r["student_id"] for r in data["at_risk"]} == {d}
    # Visibility.
    student = await factory.login(school.user(a))
    assert (await client.get(url, headers=student.headers)).status == 403
    other = await build_school(ctx, classes=1, students_per_class=1, parents_per_student=0)
    assert (await client.get(url, headers=(await factory.login(other.admin)).headers)).status == 404
    russian_teacher = await factory.login(school.teacher_of(cls.id, russian))
    resp = await client.get(url, headers=russian_teacher.headers)
    assert [s["subject_id"] for s in (await resp.json())["subjects"]] == [russian]


async def test_low_average_puts_a_student_at_risk_without_failing_marks(client: TestClient, ctx: AppContext,
                                                                        factory: Factory) -> None:
    school = await build_school(ctx, classes=1, students_per_class=2, parents_per_student=0, subjects=(
        "Математика", "Русский язык"), min_marks_for_attestation=2)
    cls = school.classes[0]
    math, russian = school.subject(0), school.subject(1)
    weak, strong = cls.student_ids
    day = date(2026, 10, 5)
    await grades(ctx, school, weak, math, [(4, HW, day), (3, HW, day)])     # 3.5 -> 4
    await grades(ctx, school, weak, russian, [(3, HW, day), (3, HW, day)])  # 3: no failing subject
    await grades(ctx, school, strong, math, [(5, HW, day), (4, HW, day)])
    await grades(ctx, school, strong, russian, [(4, HW, day), (4, HW, day)])
    admin = await factory.login(school.admin)
    url = f"/api/v1/classes/{cls.id}/performance?term_id={school.term_ids[0]}"

    # weak's weighted average over all marks is 13 / 4 = 3.25.
    async with ctx.sessions.begin() as session:
        await session.execute(update(School).where(School.id == school.id).values(at_risk_average=3.25))
    data = await (await client.get(url, headers=admin.headers)).json()
    assert data["at_risk"] == []  # not below the threshold: equal is not "below"

    async with ctx.sessions.begin() as session:
        await session.execute(update(School).where(School.id == school.id).values(at_risk_average=3.5))
    data = await (await client.get(url, headers=admin.headers)).json()
    assert data["success_rate"] == 1.0  # nobody is failing a subject...
    [risk] = data["at_risk"]            # ...but weak is below the school's threshold
    assert risk["student_id"] == weak
    assert risk["reasons"] == ["low_average"]
    assert risk["weighted_average"] == 3.25
    assert risk["failing_subjects"] == []
