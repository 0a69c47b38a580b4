"""Exports against the real services: the journal and the term sheet read back with openpyxl, the report card's
text read back with pypdf, and who may export what, from the attacker's side."""

from __future__ import annotations

import io
import urllib.parse
from datetime import date
from typing import Any

import openpyxl
import pytest
from aiohttp.test_utils import TestClient
from pypdf import PdfReader
from sqlalchemy import select

from edutrack.context import AppContext
from edutrack.db.models import Profile, User
from tests.support.diary import auth
from tests.support.factories import Factory
from tests.support.school import BuiltSchool, add_lessons, build_school

DAYS = [date(2026, 9, 7), date(2026, 9, 14), date(2026, 9, 21)]


@pytest.fixture
async def graded(client: TestClient, ctx: AppContext) -> tuple[BuiltSchool, list[int]]:
    """Class 0, Математика: three lessons; the first student 5 and 4 on the first and third lessons and 5 on a day
    without a lesson, absent from the second lesson (illness), late for the third; the second student absent
    without a reason; the first student's term mark confirmed."""
    school = await build_school(ctx, classes=2, students_per_class=2, parents_per_student=1)
    cls, maths = school.classes[0], school.subject_ids["Математика"]
    lessons = await add_lessons(ctx, school, cls.id, maths, DAYS)
    teacher = auth(ctx, school.teacher_of(cls.id, maths))
    resp = await client.patch(f"/api/v1/lessons/{lessons[0]}", headers=teacher,
                              json={"topic": '=HYPERLINK("http://example.test")'})
    assert resp.status == 200, await resp.text()
    first, second = cls.student_ids
    for lesson, value in ((lessons[0], 5), (lessons[2], 4)):
        resp = await client.post("/api/v1/grades", headers=teacher, json={
            "student_id": first, "lesson_id": lesson, "work_type_id": school.work_type_ids["Ответ на уроке"],
            "value": value})
        assert resp.status == 201, await resp.text()
    for lesson, marks in ((lessons[1], [{"student_id": first, "status": "absent", "reason": "illness"},
                                        {"student_id": second, "status": "absent"}]),
                          (lessons[2], [{"student_id": first, "status": "late"},
                                        {"student_id": second, "status": "present"}])):
        resp = await client.put(f"/api/v1/lessons/{lesson}/attendance", headers=teacher, json={"marks": marks})
        assert resp.status == 200, await resp.text()
    # A grade on a day without a lesson of the subject (a test written on another day): a column of its own.
    resp = await client.post("/api/v1/grades", headers=teacher, json={
        "student_id": first, "subject_id": maths, "date": "2026-09-28", "value": 5,
        "work_type_id": school.work_type_ids["Ответ на уроке"]})
    assert resp.status == 201, await resp.text()
    resp = await client.put("/api/v1/attestations", headers=teacher, json={
        "student_id": first, "subject_id": maths, "term_id": school.term_ids[0]})
    assert resp.status == 200, await resp.text()
    return school, lessons


async def name_of(ctx: AppContext, user_id: int) -> str:
    """"Фамилия Имя", as lists show a person."""
    async with ctx.reads() as session:
        profile = (await session.execute(select(Profile).where(Profile.user_id == user_id))).scalar_one()
    return f"{profile.last_name} {profile.first_name}"


def filename_of(resp: Any) -> str:
    disposition = resp.headers["Content-Disposition"]
    return urllib.parse.unquote(disposition.split("filename*=UTF-8''", 1)[1])


async def test_the_class_journal_reads_back_with_the_right_cells(client: TestClient, ctx: AppContext,
                                                                 graded: tuple[BuiltSchool, list[int]]) -> None:
    school, _lessons = graded
    cls, maths = school.classes[0], school.subject_ids["Математика"]
    resp = await client.get(f"/api/v1/classes/{cls.id}/journal.xlsx?subject_id={maths}&term_id={school.term_ids[0]}",
                            headers=auth(ctx, school.admin))
    assert resp.status == 200
    assert resp.content_type.endswith("spreadsheetml.sheet")
    assert filename_of(resp) == "Журнал 5А Математика 1 четверть.xlsx"
    book = openpyxl.load_workbook(io.BytesIO(await resp.read()))
    rows = [[c.value for c in row] for row in book["Журнал"].iter_rows()]
    assert rows[1] == ["№", "Ученик", "07.09", "14.09", "21.09", "28.09", "Средний взвешенный балл", "Пропуски",
                       "Оценка за период"]
    first, second = cls.student_ids
    by_name = {r[1]: r for r in rows[2:]}
    mine = by_name[await name_of(ctx, first)]
    assert mine[2:] == ["5", "н", "оп 4", "5", 4.67, 1, 5]
    theirs = by_name[await name_of(ctx, second)]
    assert theirs[2:] == [None, "н", None, None, None, 1, None]
    topics = list(book["Темы и задания"].iter_rows(values_only=True))
    assert topics[0] == ("Дата", "Тема", "Домашнее задание", "Изменение урока")
    assert len(topics) == 4
    assert topics[1][1:] == ("=HYPERLINK(\"http://example.test\")", None, None)  # text, not a formula Excel would run
    assert book["Темы и задания"]["B2"].data_type == "s"


async def test_cancelled_and_moved_lessons_are_marked_in_the_journal_and_its_workbook(
        client: TestClient, ctx: AppContext, graded: tuple[BuiltSchool, list[int]]) -> None:
    school, _lessons = graded
    cls, maths = school.classes[0], school.subject_ids["Математика"]
    later = await add_lessons(ctx, school, cls.id, maths, [date(2026, 10, 5), date(2026, 10, 12)])
    admin = auth(ctx, school.admin)
    resp = await client.put(f"/api/v1/lessons/{later[0]}/cancellation", headers=admin, json={"note": "Карантин"})
    assert resp.status == 200, await resp.text()
    # The last one moves from 12.10 09:00 UTC (12:00 in Moscow) to 14.10.
    resp = await client.patch(f"/api/v1/lessons/{later[1]}", headers=admin, json={
        "starts_at": "2026-10-14T09:00:00+00:00", "ends_at": "2026-10-14T09:45:00+00:00"})
    assert resp.status == 200, await resp.text()
    resp = await client.get(f"/api/v1/journal?class_id={cls.id}&subject_id={maths}&term_id={school.term_ids[0]}",
                            headers=auth(ctx, school.teacher_of(cls.id, maths)))
    assert resp.status == 200
    shown = {lesson["id"]: lesson for lesson in (await resp.json())["lessons"]}
    assert (shown[later[0]]["cancelled"], shown[later[0]]["change_note"]) == (True, "Карантин")
    assert (shown[later[1]]["cancelled"], shown[later[1]]["moved_from"]) == (False, "2026-10-12T09:00:00+00:00")
    resp = await client.get(f"/api/v1/classes/{cls.id}/journal.xlsx?subject_id={maths}&term_id={school.term_ids[0]}",
                            headers=admin)
    book = openpyxl.load_workbook(io.BytesIO(await resp.read()))
    header = [c.value for c in next(book["Журнал"].iter_rows(min_row=2, max_row=2))]
    assert header[2:8] == ["07.09", "14.09", "21.09", "28.09", "05.10 отменён", "14.10 перенесён с 12.10"]
    topics = list(book["Темы и задания"].iter_rows(values_only=True))
    assert [row[3] for row in topics[-2:]] == ["Отменён: Карантин", "Перенесён с 12.10.2026 12:00"]


async def test_the_term_sheet_reads_back(client: TestClient, ctx: AppContext,
                                         graded: tuple[BuiltSchool, list[int]]) -> None:
    school, _lessons = graded
    cls = school.classes[0]
    resp = await client.get(f"/api/v1/classes/{cls.id}/term-sheet.xlsx?term_id={school.term_ids[0]}",
                            headers=auth(ctx, school.admin))
    assert resp.status == 200
    assert filename_of(resp) == "Ведомость 5А 1 четверть.xlsx"
    rows = list(openpyxl.load_workbook(io.BytesIO(await resp.read())).active.iter_rows(values_only=True))
    subjects = [v for v in rows[1][2:] if v]
    assert subjects == ["История", "Математика", "Русский язык"]
    maths = 2 + 3 * subjects.index("Математика")
    first = await name_of(ctx, cls.student_ids[0])
    row = next(r for r in rows[3:] if r[1] == first)
    assert row[maths:maths + 3] == (4.67, 5, 5)


async def test_the_last_term_s_sheet_has_the_confirmed_year_marks(
        client: TestClient, ctx: AppContext, graded: tuple[BuiltSchool, list[int]]) -> None:
    school, _lessons = graded
    cls, maths = school.classes[0], school.subject_ids["Математика"]
    first, second = cls.student_ids
    resp = await client.put("/api/v1/year-marks", headers=auth(ctx, school.teacher_of(cls.id, maths)),
                            json={"student_id": first, "subject_id": maths, "year_id": school.year_id})
    assert resp.status == 200, await resp.text()
    sheets = {}
    for term_id in (school.term_ids[0], school.term_ids[-1]):
        resp = await client.get(f"/api/v1/classes/{cls.id}/term-sheet.xlsx?term_id={term_id}",
                                headers=auth(ctx, school.admin))
        sheets[term_id] = list(openpyxl.load_workbook(io.BytesIO(await resp.read())).active.iter_rows(values_only=True))
    assert "Годовая оценка" not in sheets[school.term_ids[0]][2]  # a term before the last: no year column
    last = sheets[school.term_ids[-1]]
    assert last[2][2:6] == ("Средний балл", "Предложено", "Итог", "Годовая оценка")
    subjects = [v for v in last[1][2:] if v]
    column = 2 + 4 * subjects.index("Математика") + 3
    by_name = {row[1]: row for row in last[3:]}
    assert by_name[await name_of(ctx, first)][column] == 5  # the mean of its one term mark, confirmed
    assert by_name[await name_of(ctx, second)][column] is None  # nothing confirmed: blank


async def test_the_report_card_is_a_pdf_with_the_name_and_marks_in_cyrillic(
        client: TestClient, ctx: AppContext, factory: Factory, graded: tuple[BuiltSchool, list[int]]) -> None:
    school, _lessons = graded
    first = school.user(school.classes[0].student_ids[0])
    resp = await client.get(f"/api/v1/students/{first.id}/report-card.pdf?term_id={school.term_ids[0]}",
                            headers=auth(ctx, school.parents(first.id)[0]))
    assert resp.status == 200
    assert resp.content_type == "application/pdf"
    name = await name_of(ctx, first.id)
    assert filename_of(resp) == f"Табель {name} 1 четверть.pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(await resp.read())).pages)
    assert "Табель успеваемости" in text
    assert f"Ученик: {name}" in text
    assert "Годовая оценка" in " ".join(text.split())
    assert "Математика 4,67 5 — 1 0" in " ".join(text.split()), text  # no year mark confirmed yet
    # The teacher confirms the year mark (the mean of the one term mark): the report card prints it.
    maths = school.subject_ids["Математика"]
    resp = await client.put("/api/v1/year-marks", headers=auth(ctx, school.teacher_of(school.classes[0].id, maths)),
                            json={"student_id": first.id, "subject_id": maths, "year_id": school.year_id})
    assert resp.status == 200, await resp.text()
    resp = await client.get(f"/api/v1/students/{first.id}/report-card.pdf?term_id={school.term_ids[0]}",
                            headers=auth(ctx, school.parents(first.id)[0]))
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(await resp.read())).pages)
    assert "Математика 4,67 5 5 1 0" in " ".join(text.split()), text
    assert "Пропущено уроков: 1, из них без уважительной причины: 0" in text


async def _get(client: TestClient, path: str, user: User | None, ctx: AppContext) -> int:
    resp = await client.get(path, headers=auth(ctx, user) if user else {})
    return resp.status


async def test_who_may_export_what(client: TestClient, ctx: AppContext, factory: Factory,
                                   graded: tuple[BuiltSchool, list[int]]) -> None:
    school, _lessons = graded
    other = await build_school(ctx, classes=1, students_per_class=1)
    cls, maths, history = school.classes[0], school.subject_ids["Математика"], school.subject_ids["История"]
    term = school.term_ids[0]
    journal = f"/api/v1/classes/{cls.id}/journal.xlsx?subject_id={maths}&term_id={term}"
    sheet = f"/api/v1/classes/{cls.id}/term-sheet.xlsx?term_id={term}"
    first, second = cls.student_ids
    card = f"/api/v1/students/{first}/report-card.pdf?term_id={term}"
    maths_teacher = school.teacher_of(cls.id, maths)
    history_teacher = school.teacher_of(cls.id, history)
    other_class_teacher = school.teacher_of(school.classes[1].id, maths)
    parent_of_other = school.parents(second)[0]
    expected = [
        (journal, None, 401), (sheet, None, 401), (card, None, 401),
        (journal, other.admin, 404), (sheet, other.admin, 404), (card, other.admin, 404),
        (journal, school.user(first), 403), (sheet, school.user(first), 403),
        (journal, school.parents(first)[0], 403),
        (card, school.user(second), 404), (card, parent_of_other, 404), (card, other_class_teacher, 404),
        (journal, history_teacher, 404), (journal, other_class_teacher, 404), (sheet, other_class_teacher, 404),
        (journal, maths_teacher, 200), (sheet, maths_teacher, 200), (card, maths_teacher, 200),
        (journal, school.user(cls.class_teacher_id or 0), 200),
        (card, school.user(first), 200), (card, school.admin, 200),
    ]
    found = [(path.split("?")[0].rsplit("/", 1)[1], getattr(user, "role", None), await _get(client, path, user, ctx))
             for path, user, _status in expected]
    assert found == [(p.split("?")[0].rsplit("/", 1)[1], getattr(u, "role", None), s) for p, u, s in expected]


async def test_a_teacher_s_report_card_holds_only_their_subjects(client: TestClient, ctx: AppContext,
                                                                  graded: tuple[BuiltSchool, list[int]]) -> None:
    school, _lessons = graded
    cls = school.classes[0]
    first = cls.student_ids[0]
    history_teacher = school.teacher_of(cls.id, school.subject_ids["История"])
    resp = await client.get(f"/api/v1/students/{first}/report-card.pdf?term_id={school.term_ids[0]}",
                            headers=auth(ctx, history_teacher))
    assert resp.status == 200
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(await resp.read())).pages)
    assert "Математика" not in text
