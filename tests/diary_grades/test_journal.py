"""The teacher's journal over REST: the teaching day, a class+subject's journal, a lesson's sheet, the history of a
journal's grades, a class's parents; each read from the attacker's side too (another teacher's class, a student's
or a parent's token, another school's admin), and the live `journal` event that keeps open pages current."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from edutrack.context import AppContext
from tests.realtime.helpers import connect, recv_until
from tests.support.factories import Actor, Factory
from tests.support.school import BuiltSchool, add_lessons, build_school

TODAY = datetime.now(UTC).date()


async def get(client: TestClient, path: str, actor: Actor, status: int = 200) -> Any:
    resp = await client.get(path, headers=actor.headers)
    body = await resp.json()
    assert resp.status == status, body
    return body


async def post_grade(client: TestClient, actor: Actor, **body: Any) -> dict[str, Any]:
    resp = await client.post("/api/v1/grades", headers=actor.headers, json=body)
    data = await resp.json()
    assert resp.status == 201, data
    return dict(data)


async def current_school(ctx: AppContext) -> BuiltSchool:
    # A year around today, so "today" is inside a term whatever day the suite runs.
    return await build_school(ctx, classes=2, students_per_class=3, parents_per_student=1,
                              year_start=TODAY - timedelta(days=60))


async def test_the_teaching_day_lists_classes_by_grade_level_and_todays_lessons(
        client: TestClient, ctx: AppContext, factory: Factory) -> None:
    school = await current_school(ctx)
    c5a = school.classes[0]
    maths = school.subject_ids["Математика"]
    teacher_user = school.teacher_of(c5a.id, maths)
    admin = await factory.login(school.admin)
    # Two more classes the same teacher teaches: named so that text order (10А < 5А < 6А) would be wrong.
    for name, level in (("10А", 10), ("6А", 6)):
        resp = await client.post("/api/v1/classes", headers=admin.headers, json={
            "name": name, "grade_level": level, "academic_year_id": school.year_id})
        assert resp.status == 201, await resp.text()
        new_id = (await resp.json())["id"]
        resp = await client.post("/api/v1/assignments", headers=admin.headers, json={
            "class_id": new_id, "subject_id": maths, "teacher_id": teacher_user.id})
        assert resp.status == 201, await resp.text()
    [lesson_id] = await add_lessons(ctx, school, c5a.id, maths, [TODAY], hour=9)
    await add_lessons(ctx, school, c5a.id, maths, [TODAY + timedelta(days=1)], hour=9)
    teacher = await factory.login(teacher_user)
    home = await get(client, "/api/v1/journal/home", teacher)
    assert [c["name"] for c in home["classes"]] == ["5А", "6А", "10А"]
    first = home["classes"][0]
    assert first["is_class_teacher"]
    assert first["students"] == 3
    assert first["subjects"] == [{"id": maths, "name": "Математика"}]
    assert [lesson["id"] for lesson in home["lessons"]] == [lesson_id]
    assert home["lessons"][0]["marked"] == 0
    assert home["lessons"][0]["students"] == 3
    # The class teacher of a class where they teach nothing still finds it, as its class teacher.
    russian_teacher = await factory.login(school.teacher_of(c5a.id, school.subject_ids["Русский язык"]))
    theirs = await get(client, "/api/v1/journal/home", russian_teacher)
    assert [(c["name"], c["is_class_teacher"]) for c in theirs["classes"]] == [("5А", False)]
    # Students and parents have no teaching day.
    student = await factory.login(school.student(0, 0))
    await get(client, "/api/v1/journal/home", student, 403)


async def test_an_admin_who_teaches_has_a_teaching_day(client: TestClient, ctx: AppContext, factory: Factory) -> None:
    school = await current_school(ctx)
    admin = await factory.login(school.admin)
    cls = school.classes[1]
    history = school.subject_ids["История"]
    resp = await client.post("/api/v1/assignments", headers=admin.headers, json={
        "class_id": cls.id, "subject_id": history, "teacher_id": school.admin.id})
    assert resp.status == 201, await resp.text()
    home = await get(client, "/api/v1/journal/home", admin)
    assert [(c["name"], [s["name"] for s in c["subjects"]]) for c in home["classes"]] == [("5Б", ["История"])]
    # And keeps the journal of that class like its teacher.
    data = await get(client, f"/api/v1/journal?class_id={cls.id}&subject_id={history}", admin)
    assert data["can_edit"] is True


async def test_a_journal_holds_students_lessons_grades_absences_and_term_marks(
        client: TestClient, ctx: AppContext, factory: Factory) -> None:
    school = await current_school(ctx)
    cls = school.classes[0]
    maths = school.subject_ids["Математика"]
    teacher = await factory.login(school.teacher_of(cls.id, maths))
    days = [TODAY - timedelta(days=d) for d in (3, 2, 1)]
    lessons = await add_lessons(ctx, school, cls.id, maths, days, hour=8)
    kid = cls.student_ids[0]
    test_work = school.work_type_ids["Контрольная работа"]
    for lesson_id, value in zip(lessons, (5, 4, 4), strict=True):
        await post_grade(client, teacher, student_id=kid, lesson_id=lesson_id, work_type_id=test_work, value=value)
    resp = await client.put(f"/api/v1/lessons/{lessons[2]}/attendance", headers=teacher.headers, json={"marks": [
        {"student_id": cls.student_ids[1], "status": "absent", "reason": "illness"},
        {"student_id": cls.student_ids[2], "status": "late"},
        {"student_id": kid, "status": "present"}]})
    assert resp.status == 200, await resp.text()
    term = school.term_ids[0] if school.terms[0][0] <= TODAY <= school.terms[0][1] else school.term_ids[1]
    data = await get(client, f"/api/v1/journal?class_id={cls.id}&subject_id={maths}", teacher)
    assert data["can_edit"]
    assert data["term"]["id"] == term
    assert data["class_name"] == "5А"
    assert data["term"]["from"] <= TODAY.isoformat() <= data["term"]["to"]
    assert [s["id"] for s in data["students"]]
    assert {s["id"] for s in data["students"]} == set(cls.student_ids)
    assert all(s["name"].startswith("Школьников ") for s in data["students"])
    assert [lesson["id"] for lesson in data["lessons"]] == lessons
    assert [g["display"] for g in data["grades"]] == ["5", "4", "4"]
    assert {(a["student_id"], a["status"], a["reason"]) for a in data["attendance"]} == {
        (cls.student_ids[1], "absent", "illness"), (cls.student_ids[2], "late", None)}
    marks = {m["student_id"]: m for m in data["term_marks"]}
    assert marks[kid]["average"] == 4.33
    assert marks[kid]["proposed"] == "4"
    assert marks[kid]["final"] is None
    # Confirmed: the journal shows by whom.
    resp = await client.put("/api/v1/attestations", headers=teacher.headers, json={
        "student_id": kid, "subject_id": maths, "term_id": term, "final": "5", "comment": "Олимпиада"})
    assert resp.status == 200, await resp.text()
    data = await get(client, f"/api/v1/journal?class_id={cls.id}&subject_id={maths}&term_id={term}", teacher)
    mark = next(m for m in data["term_marks"] if m["student_id"] == kid)
    assert (mark["final"], mark["is_override"], mark["comment"]) == ("5", True, "Олимпиада")
    assert mark["confirmed_by"] == teacher.id
    assert mark["confirmed_by_name"] == "Учитель0 Педагогов"


async def test_who_may_open_a_journal(client: TestClient, ctx: AppContext, factory: Factory) -> None:
    school = await current_school(ctx)
    other_school = await current_school(ctx)
    cls, other_cls = school.classes[0], school.classes[1]
    maths, russian = school.subject_ids["Математика"], school.subject_ids["Русский язык"]
    path = f"/api/v1/journal?class_id={cls.id}&subject_id={maths}"
    class_teacher = await factory.login(school.users[cls.class_teacher_id or 0])
    assert (await get(client, path, class_teacher))["can_edit"] is True  # the class teacher teaches maths here
    russian_teacher = await factory.login(school.teacher_of(cls.id, russian))
    assert (await get(client, path, russian_teacher, 404))["error"]["code"] == "not_found"
    other_class_teacher = await factory.login(school.teacher_of(other_cls.id, maths))
    await get(client, path, other_class_teacher, 404)
    for reader in (school.student(0, 0), school.parents(cls.student_ids[0])[0]):
        await get(client, path, await factory.login(reader), 403)
    await get(client, path, await factory.login(other_school.admin), 404)
    await get(client, path, await factory.login(other_school.teachers[0]), 404)
    # A subject of another school is unknown here, even to this school's admin.
    admin = await factory.login(school.admin)
    foreign_subject = other_school.subject_ids["Математика"]
    await get(client, f"/api/v1/journal?class_id={cls.id}&subject_id={foreign_subject}", admin, 404)
    await get(client, f"/api/v1/journal?class_id={cls.id}&subject_id={maths}&term_id={other_school.term_ids[0]}",
              admin, 422)
    assert (await get(client, path, admin))["can_edit"] is True


async def test_the_class_teacher_reads_other_subjects_without_keeping_them(
        client: TestClient, ctx: AppContext, factory: Factory) -> None:
    school = await current_school(ctx)
    cls = school.classes[0]
    russian = school.subject_ids["Русский язык"]
    class_teacher = await factory.login(school.users[cls.class_teacher_id or 0])
    data = await get(client, f"/api/v1/journal?class_id={cls.id}&subject_id={russian}", class_teacher)
    assert data["can_edit"] is False
    [lesson_id] = await add_lessons(ctx, school, cls.id, russian, [TODAY - timedelta(days=1)], hour=8)
    sheet = await get(client, f"/api/v1/journal/lessons/{lesson_id}", class_teacher)
    assert sheet["can_edit"] is False
    assert sheet["lesson"]["subject_name"] == "Русский язык"


async def test_a_lesson_sheet_and_who_may_read_it(client: TestClient, ctx: AppContext, factory: Factory) -> None:
    school = await current_school(ctx)
    other_school = await current_school(ctx)
    cls = school.classes[0]
    maths = school.subject_ids["Математика"]
    [lesson_id] = await add_lessons(ctx, school, cls.id, maths, [TODAY], hour=8)
    teacher = await factory.login(school.teacher_of(cls.id, maths))
    kid = cls.student_ids[0]
    oral = school.work_type_ids["Ответ на уроке"]
    grade = await post_grade(client, teacher, student_id=kid, lesson_id=lesson_id, work_type_id=oral, mark="pass")
    resp = await client.put(f"/api/v1/lessons/{lesson_id}/attendance", headers=teacher.headers, json={
        "marks": [{"student_id": kid, "status": "late"}]})
    assert resp.status == 200
    sheet = await get(client, f"/api/v1/journal/lessons/{lesson_id}", teacher)
    assert sheet["can_edit"]
    assert sheet["lesson"]["class_name"] == "5А"
    assert sheet["term_id"] in school.term_ids
    assert [g["id"] for g in sheet["grades"]] == [grade["id"]]
    assert sheet["grades"][0]["display"] == "зачёт"
    assert [(a["student_id"], a["status"]) for a in sheet["attendance"]] == [(kid, "late")]
    assert len(sheet["students"]) == 3
    path = f"/api/v1/journal/lessons/{lesson_id}"
    await get(client, path, await factory.login(school.teacher_of(school.classes[1].id, maths)), 404)
    await get(client, path, await factory.login(school.student(0, 0)), 403)
    await get(client, path, await factory.login(other_school.admin), 404)
    await get(client, "/api/v1/journal/lessons/999999999", teacher, 404)


async def test_a_journal_shows_who_put_changed_and_deleted_each_grade(
        client: TestClient, ctx: AppContext, factory: Factory) -> None:
    school = await current_school(ctx)
    cls = school.classes[0]
    maths = school.subject_ids["Математика"]
    teacher = await factory.login(school.teacher_of(cls.id, maths))
    admin = await factory.login(school.admin)
    kid = cls.student_ids[0]
    oral, test_work = school.work_type_ids["Ответ на уроке"], school.work_type_ids["Контрольная работа"]
    grade = await post_grade(client, teacher, student_id=kid, subject_id=maths, date=TODAY.isoformat(),
                             work_type_id=oral, value=4)
    resp = await client.patch(f"/api/v1/grades/{grade['id']}", headers=teacher.headers,
                              json={"value": 5, "work_type_id": test_work})
    assert resp.status == 200
    resp = await client.delete(f"/api/v1/grades/{grade['id']}", headers=admin.headers)
    assert resp.status == 204
    path = f"/api/v1/journal/changes?class_id={cls.id}&subject_id={maths}"
    items = (await get(client, path, teacher))["items"]
    assert [i["action"] for i in items] == ["delete", "update", "create"]
    deleted, updated, created = items
    assert created["new"]["display"] == "4"
    assert created["old"] is None
    assert created["actor_id"] == teacher.id
    assert updated["old"] == {"display": "4", "work_type": "Ответ на уроке"}
    assert updated["new"] == {"display": "5", "work_type": "Контрольная работа"}
    assert deleted["actor"] == "Анна Администраторова"
    assert deleted["actor_gender"] == "female"
    assert deleted["student"].startswith("Школьников ")
    assert deleted["new"] is None
    other = await post_grade(client, teacher, student_id=kid, subject_id=maths, date=TODAY.isoformat(),
                             work_type_id=oral, value=3)
    one = (await get(client, f"{path}&grade_id={grade['id']}", teacher))["items"]
    assert [i["action"] for i in one] == ["delete", "update", "create"]
    assert [i["grade_id"] for i in (await get(client, f"{path}&grade_id={other['id']}", teacher))["items"]] == [
        other["id"]]
    # The history of the deleted grade: its teacher reads it, as the admin does.
    history = await get(client, f"/api/v1/grades/{grade['id']}/history", teacher)
    assert [i["action"] for i in history["items"]] == ["create", "update", "delete"]
    await get(client, f"/api/v1/grades/{grade['id']}/history", admin)
    # Nobody outside the journal reads it.
    other_teacher = await factory.login(school.teacher_of(school.classes[1].id, maths))
    for attacker, status in ((other_teacher, 404), (await factory.login(school.student(0, 0)), 403),
                             (await factory.login(school.parents(kid)[0]), 403)):
        await get(client, path, attacker, status)
        await get(client, f"/api/v1/grades/{grade['id']}/history", attacker, status)
    stranger = await factory.login((await current_school(ctx)).admin)
    await get(client, path, stranger, 404)
    await get(client, f"/api/v1/grades/{grade['id']}/history", stranger, 404)
    # The school's whole trail is still the admins' alone.
    await get(client, "/api/v1/audit", teacher, 403)


async def test_the_class_teacher_sees_the_parents_of_the_class(
        client: TestClient, ctx: AppContext, factory: Factory) -> None:
    school = await current_school(ctx)
    cls = school.classes[0]
    class_teacher = await factory.login(school.users[cls.class_teacher_id or 0])
    data = await get(client, f"/api/v1/classes/{cls.id}/parents", class_teacher)
    assert data["class_name"] == "5А"
    assert len(data["parents"]) == 3
    by_child = {p["children"][0]["id"]: p for p in data["parents"]}
    assert set(by_child) == set(cls.student_ids)
    for child_id, parent in by_child.items():
        [expected] = school.parents(child_id)
        assert parent["id"] == expected.id
        assert parent["email"] == expected.email
        assert parent["name"].startswith("Школьников Родитель")
    assert data["students_without_parents"] == []
    path = f"/api/v1/classes/{cls.id}/parents"
    subject_teacher = await factory.login(school.teacher_of(cls.id, school.subject_ids["История"]))
    await get(client, path, subject_teacher, 403)
    await get(client, path, await factory.login(school.users[school.classes[1].class_teacher_id or 0]), 404)
    for reader in (school.student(0, 0), school.parents(cls.student_ids[0])[0]):
        await get(client, path, await factory.login(reader), 403)
    await get(client, path, await factory.login((await current_school(ctx)).admin), 404)
    assert len((await get(client, path, await factory.login(school.admin)))["parents"]) == 3


async def test_a_change_reaches_the_teachers_of_the_journal_live_and_nobody_else(
        client: TestClient, ctx: AppContext, factory: Factory) -> None:
    school = await current_school(ctx)
    cls = school.classes[0]
    maths, russian = school.subject_ids["Математика"], school.subject_ids["Русский язык"]
    [lesson_id] = await add_lessons(ctx, school, cls.id, russian, [TODAY], hour=8)
    russian_teacher = await factory.login(school.teacher_of(cls.id, russian))
    class_teacher = await factory.login(school.users[cls.class_teacher_id or 0])  # teaches maths here
    history_teacher = await factory.login(school.teacher_of(cls.id, school.subject_ids["История"]))
    kid = await factory.login(school.student(0, 0))
    sockets = {who.id: await connect(client, who) for who in (russian_teacher, class_teacher, history_teacher, kid)}
    for who in (russian_teacher, class_teacher, history_teacher, kid):
        await sockets[who.id].send_json({"type": "subscribe", "channel": f"user:{who.id}", "req": "s"})
        await recv_until(sockets[who.id], lambda f: f.get("type") == "subscribed")
    resp = await client.put(f"/api/v1/lessons/{lesson_id}/attendance", headers=russian_teacher.headers, json={
        "marks": [{"student_id": kid.id, "status": "absent"}]})
    assert resp.status == 200
    expected = {"type": "journal", "class_id": cls.id, "subject_id": russian, "what": "attendance",
                "lesson_id": lesson_id}
    for who in (russian_teacher, class_teacher):
        event, _ = await recv_until(sockets[who.id], lambda f: f.get("type") == "journal")
        assert event == {**expected, "channel": f"user:{who.id}"}
    # The student gets the notification and no journal event; the history teacher gets nothing at all.
    note, before = await recv_until(sockets[kid.id], lambda f: f.get("type") == "notification")
    assert note["kind"] == "attendance"
    assert not any(f.get("type") == "journal" for f in before)
    await post_grade(client, class_teacher, student_id=kid.id, subject_id=maths, date=TODAY.isoformat(),
                     work_type_id=school.work_type_ids["Ответ на уроке"], value=5)
    event, _ = await recv_until(sockets[class_teacher.id], lambda f: f.get("type") == "journal")
    assert (event["subject_id"], event["what"]) == (maths, "grade")
    await sockets[history_teacher.id].send_json({"type": "ping", "req": "p"})
    _pong, seen = await recv_until(sockets[history_teacher.id], lambda f: f.get("type") == "pong")
    assert not any(f.get("type") == "journal" for f in seen)
    for ws in sockets.values():
        await ws.close()


async def test_bad_journal_queries_are_422(client: TestClient, ctx: AppContext, factory: Factory) -> None:
    school = await current_school(ctx)
    teacher = await factory.login(school.teachers[0])
    await get(client, "/api/v1/journal?class_id=1", teacher, 422)
    await get(client, "/api/v1/journal?class_id=x&subject_id=1", teacher, 422)
    await get(client, "/api/v1/journal/changes?class_id=1&subject_id=1&limit=0", teacher, 422)
    await get(client, "/api/v1/journal/home?date=someday", teacher, 422)
    await get(client, f"/api/v1/journal/home?date={date(2026, 9, 1).isoformat()}", teacher)
