"""Term marks through HTTP: proposal, confirmation, override with its audit row, the class term sheet."""

from __future__ import annotations

from datetime import date
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import insert, update

from edutrack import cache
from edutrack.context import AppContext
from edutrack.db.diary import Grade, School
from tests.support.factories import Factory
from tests.support.school import BuiltSchool, build_school


async def add_grades(ctx: AppContext, school: BuiltSchool, class_index: int, student: int, subject: int,
                     marks: list[tuple[int | None, str]]) -> None:
    """Insert grades directly (fast setup); `marks` are (value or None for "na", work type name)."""
    cls = school.classes[class_index]
    rows = [{"school_id": school.id, "student_id": student, "class_id": cls.id, "subject_id": subject,
             "teacher_id": cls.teacher_by_subject[subject], "work_type_id": school.work_type_ids[wt],
             "date": date(2026, 10, (i % 28) + 1), "value": v, "mark": None if v else "na"}
            for i, (v, wt) in enumerate(marks)]
    async with ctx.sessions.begin() as session:
        await session.execute(insert(Grade), rows)


HW, TEST, ORAL = "Домашняя работа", "Контрольная работа", "Ответ на уроке"


async def test_proposal_confirm_and_override(client: TestClient, ctx: AppContext, factory: Factory,
                                             school: BuiltSchool) -> None:
    cls = school.classes[0]
    math = school.subject(0)
    s1 = cls.student_ids[0]
    term = school.term_ids[0]
    # 5 (weight 1), 4 (weight 1), 4 (weight 3), н/а -> (5+4+12)/5 = 4.2 -> 4
    await add_grades(ctx, school, 0, s1, math, [(5, HW), (4, HW), (4, TEST), (None, ORAL)])
    teacher = await factory.login(school.teacher_of(cls.id, math))
    q = f"student_id={s1}&subject_id={math}&term_id={term}"
    resp = await client.get(f"/api/v1/attestations/proposal?{q}", headers=teacher.headers)
    assert resp.status == 200, await resp.text()
    data = await resp.json()
    assert data["average"] == 4.2
    assert data["proposed"] == "4"
    assert data["numeric_count"] == 3
    assert data["marks_count"] == 4
    assert data["attestation"] is None
    key = {"student_id": s1, "subject_id": math, "term_id": term}
    resp = await client.put("/api/v1/attestations", json=key, headers=teacher.headers)
    assert resp.status == 200, await resp.text()
    confirmed = await resp.json()
    assert confirmed["final"] == "4"
    assert not confirmed["is_override"]
    assert confirmed["confirmed_by"] == teacher.id
    # An override needs a reason.
    resp = await client.put("/api/v1/attestations", json={**key, "final": "5"}, headers=teacher.headers)
    assert resp.status == 422
    assert "comment" in (await resp.json())["error"]["details"]
    resp = await client.put("/api/v1/attestations", json={**key, "final": "5", "comment": "Олимпиада"},
                            headers=teacher.headers)
    assert resp.status == 200
    over = await resp.json()
    assert over["final"] == "5"
    assert over["proposed"] == "4"
    assert over["is_override"]
    assert over["id"] == confirmed["id"]
    admin = await factory.login(school.admin)
    resp = await client.get(f"/api/v1/audit?entity=attestation&entity_id={over['id']}", headers=admin.headers)
    items = (await resp.json())["items"]
    assert [i["action"] for i in items] == ["confirm", "override"]
    assert items[1]["old"]["final"] == "4"
    assert items[1]["new"]["final"] == "5"
    assert items[1]["new"]["comment"] == "Олимпиада"
    assert items[1]["actor_id"] == teacher.id
    # The student and a parent read the result; another student cannot.
    for reader in (school.user(s1), school.parents(s1)[1]):
        actor = await factory.login(reader)
        resp = await client.get(f"/api/v1/attestations/proposal?{q}", headers=actor.headers)
        assert (await resp.json())["attestation"]["final"] == "5"
    other = await factory.login(school.user(cls.student_ids[1]))
    resp = await client.get(f"/api/v1/attestations/proposal?{q}", headers=other.headers)
    assert resp.status == 404
    # Only the subject's teacher (or an admin) sets it.
    russian_teacher = await factory.login(school.teacher_of(cls.id, school.subject(1)))
    resp = await client.put("/api/v1/attestations", json=key, headers=russian_teacher.headers)
    assert resp.status == 403
    student = await factory.login(school.user(s1))
    resp = await client.put("/api/v1/attestations", json=key, headers=student.headers)
    assert resp.status == 403
    for bad in [{**key, "final": "6"}, {**key, "term_id": 10**9}, {**key, "subject_id": 10**9},
                {**key, "class_id": school.classes[1].id}, {"student_id": s1}]:
        resp = await client.put("/api/v1/attestations", json=bad, headers=teacher.headers)
        assert resp.status == 422, (bad, resp.status)
    resp = await client.put("/api/v1/attestations", json={**key, "student_id": 10**9}, headers=teacher.headers)
    assert resp.status == 404


async def test_not_attested_below_minimum_and_school_threshold(client: TestClient, ctx: AppContext,
                                                               factory: Factory) -> None:
    school = await build_school(ctx, classes=1, students_per_class=2, parents_per_student=0,
                                min_marks_for_attestation=3, rounding_threshold=0.6)
    cls = school.classes[0]
    math = school.subject(0)
    s1, s2 = cls.student_ids
    await add_grades(ctx, school, 0, s1, math, [(5, HW), (4, HW), (None, ORAL), (None, ORAL)])
    await add_grades(ctx, school, 0, s2, math, [(5, HW), (4, HW), (4, HW), (5, HW)])  # 4.5 -> 4 at threshold 0.6
    admin = await factory.login(school.admin)

    async def proposal(student: int) -> Any:
        resp = await client.get(f"/api/v1/attestations/proposal?student_id={student}&subject_id={math}"
                                f"&term_id={school.term_ids[0]}", headers=admin.headers)
        return await resp.json()

    assert (await proposal(s1))["proposed"] == "na"
    assert (await proposal(s2))["proposed"] == "4"
    assert (await proposal(s2))["average"] == 4.5
    async with ctx.sessions.begin() as session:
        await session.execute(update(School).where(School.id == school.id).values(rounding_threshold=0.5))
    assert (await proposal(s2))["proposed"] == "5"
    # Other terms do not count.
    resp = await client.get(f"/api/v1/attestations/proposal?student_id={s2}&subject_id={math}"
                            f"&term_id={school.term_ids[1]}", headers=admin.headers)
    assert (await resp.json())["numeric_count"] == 0


async def test_term_sheet_and_its_query_count(client: TestClient, ctx: AppContext, factory: Factory,
                                              count_queries: Any) -> None:
    school = await build_school(ctx, classes=2, students_per_class=6, parents_per_student=1)
    cls = school.classes[0]
    math, russian, history = school.subject(0), school.subject(1), school.subject(2)
    admin = await factory.login(school.admin)
    url = f"/api/v1/classes/{cls.id}/term-sheet?term_id={school.term_ids[0]}"
    counts = []
    for round_ in range(2):
        # Round 0: grades for 2 students; round 1: 3x the rows for every student.
        students = cls.student_ids[:2] if round_ == 0 else cls.student_ids
        for s in students:
            await add_grades(ctx, school, 0, s, math, [(5, HW), (4, TEST), (3, HW)] * (1 + 2 * round_))
            await add_grades(ctx, school, 0, s, russian, [(2, TEST), (3, HW), (None, ORAL)] * (1 + 2 * round_))
        # add_grades writes behind the services' back: drop the cached sheet to measure the PostgreSQL path.
        await cache.invalidate(ctx, cache.class_marks_bucket(cls.id))
        counter = count_queries()
        resp = await client.get(url, headers=admin.headers)
        assert resp.status == 200, await resp.text()
        counts.append(counter.count)
    assert counts[0] == counts[1], counts
    sheet = await resp.json()
    # Subjects in name order: История, Математика, Русский язык.
    assert [s["id"] for s in sheet["subjects"]] == [history, math, russian]
    assert sorted(r["student_id"] for r in sheet["students"]) == sorted(cls.student_ids)
    row = next(r for r in sheet["students"] if r["student_id"] == cls.student_ids[0])
    cells = {c["subject_id"]: c for c in row["cells"]}
    # maths: 5,4,3 per round with weights 1,3,1 -> (5+12+3)/5 = 4.0; russian: (6+3)/4 = 2.25 -> 2
    assert cells[math]["average"] == 4.0
    assert cells[math]["proposed"] == "4"
    assert cells[russian]["average"] == 2.25
    assert cells[russian]["proposed"] == "2"
    assert cells[history]["proposed"] == "na"
    assert cells[history]["average"] is None
    assert cells[math]["final"] is None
    # A subject teacher sees their subject only; the class teacher sees all; others 404/403.
    russian_teacher = await factory.login(school.teacher_of(cls.id, russian))
    resp = await client.get(url, headers=russian_teacher.headers)
    assert [s["id"] for s in (await resp.json())["subjects"]] == [russian]
    lead = await factory.login(school.user(cls.class_teacher_id or 0))
    resp = await client.get(url, headers=lead.headers)
    assert len((await resp.json())["subjects"]) == 3
    teacher_elsewhere = await factory.login(school.teacher_of(school.classes[1].id, math))
    assert (await client.get(url, headers=teacher_elsewhere.headers)).status == 404
    student = await factory.login(school.user(cls.student_ids[0]))
    assert (await client.get(url, headers=student.headers)).status == 403
    other = await build_school(ctx, classes=1, students_per_class=1, parents_per_student=0)
    other_admin = await factory.login(other.admin)
    assert (await client.get(url, headers=other_admin.headers)).status == 404
    superuser = await factory.actor("admin", is_superuser=True)
    assert (await client.get(url, headers=superuser.headers)).status == 200
    for bad in ["", "?term_id=abc", f"?term_id={other.term_ids[0]}"]:
        resp = await client.get(f"/api/v1/classes/{cls.id}/term-sheet{bad}", headers=admin.headers)
        assert resp.status == 422, bad
    assert (await client.get("/api/v1/classes/999999/term-sheet?term_id=1", headers=admin.headers)).status == 404
    # A confirmed mark shows up in the sheet.
    resp = await client.put("/api/v1/attestations", json={"student_id": cls.student_ids[0], "subject_id": math,
                                                          "term_id": school.term_ids[0]}, headers=admin.headers)
    assert resp.status == 200
    resp = await client.get(url, headers=admin.headers)
    row = next(r for r in (await resp.json())["students"] if r["student_id"] == cls.student_ids[0])
    assert next(c for c in row["cells"] if c["subject_id"] == math)["final"] == "4"
