"""The import's dry run finds every planted problem, by sheet, row and column, in Russian; the real run with any
problem writes nothing; uploads are checked by content and size, rate-limited, and only for the school's admins."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
from aiohttp import FormData
from aiohttp.test_utils import TestClient
from sqlalchemy import insert, text

from edutrack.context import AppContext
from edutrack.db.diary import Lesson
from tests.diary_io.conftest import EmptySchool, empty_school
from tests.diary_io.test_import import count, snapshot, upload
from tests.support.diary import auth
from tests.support.factories import Factory
from tests.support.onboarding import OnboardingSchool


def problems_at(report: dict[str, Any], sheet: str, row: int) -> list[dict[str, Any]]:
    return [p for p in report["problems"] if p["sheet"] == sheet and p["row"] == row]


def one(report: dict[str, Any], sheet: str, row: int, column: str) -> str:
    found = [p for p in problems_at(report, sheet, row) if p["column"] == column]
    assert len(found) == 1, (sheet, row, column, [p for p in report["problems"] if p["sheet"] == sheet])
    return str(found[0]["message"])


async def test_the_dry_run_reports_every_planted_problem_by_row_and_column(
        client: TestClient, ctx: AppContext, factory: Factory, school: EmptySchool) -> None:
    other = await empty_school(ctx, factory, name="Другая школа")
    await factory.user("teacher", school_id=other.id, email="taken.pl@example.test")
    files = OnboardingSchool.make(classes=2, students_per_class=3, tag="pl")
    students = files.rows["students"]
    students[0][3] = "ivanov@"  # row 2: a bad address
    students[1][1] = None  # row 3: no first name
    students[2][4] = "12Я"  # row 4: a class nobody has
    students[3][3] = students[4][3]  # row 5: the address of row 6 as well
    files.rows["parents"][0][4] = "nobody.pl@example.test"  # row 2: a child that does not exist
    files.rows["teachers"][7][3] = "taken.pl@example.test"  # row 9: an account of another school
    timetable = files.rows["timetable"]
    timetable[1][2] = "воскресенье-ish"  # row 3: not a day
    timetable[2][4] = "8ч"  # row 4: not a time
    # The other class's first Monday lesson moves into the room of the first row, at the same time.
    clash_row, clash = next((n, r) for n, r in enumerate(timetable, start=2)
                            if r[1] == files.rows["classes"][1][0] and r[2] == timetable[0][2] and r[3] == "08:30")
    clash[7] = timetable[0][7]
    before = await snapshot(ctx)
    report = await upload(client, ctx, school, files.xlsx(), dry_run=True)
    assert report["ok"] is False
    assert "Неверный адрес" in one(report, "Ученики", 2, "Email")
    assert problems_at(report, "Ученики", 2)[0]["cell"] == "D2"
    assert "Ячейка пуста" in one(report, "Ученики", 3, "Имя")
    assert "Класса 12Я" in one(report, "Ученики", 4, "Класс")
    assert "уже есть: лист «Ученики», строка 5" in one(report, "Ученики", 6, "Email")
    assert "nobody.pl@example.test" in one(report, "Родители", 2, "Email детей")
    assert "другой ролью или из другой школы" in one(report, "Учителя", 9, "Email")
    assert "не день недели" in one(report, "Расписание", 3, "День недели")
    assert "не время" in one(report, "Расписание", 4, "Конец")
    message = one(report, "Расписание", clash_row, "Начало")
    assert message == "Кабинет в это время уже занят: строка 2 (Математика, 5А, 08:30–09:15).", message
    # The same file for real: 422 with the same report, and nothing written.
    refused = await upload(client, ctx, school, files.xlsx(), dry_run=False, status=422)
    assert refused["error"]["code"] == "import_invalid"
    assert "ничего не записано" in refused["error"]["message"]
    assert refused["error"]["details"]["problems"] == report["problems"]
    assert await snapshot(ctx) == before


async def test_missing_columns_and_clashes_with_lessons_the_school_keeps(
        client: TestClient, ctx: AppContext, school: EmptySchool) -> None:
    files = OnboardingSchool.make(classes=1, students_per_class=1, subjects=2, tag="db")
    await upload(client, ctx, school, files.xlsx(["subjects", "teachers", "classes", "assignments"]), dry_run=False)
    # A lesson of another class in the room the file wants for its first Monday lesson, next Monday.
    tz = ZoneInfo("Europe/Moscow")
    today = datetime.now(tz).date()
    monday = today + timedelta(days=7 - today.weekday())
    room = files.rows["timetable"][0][7]
    async with ctx.sessions.begin() as session:
        subject = (await session.execute(text("SELECT id FROM subjects ORDER BY id LIMIT 1"))).scalar_one()
        teacher = (await session.execute(text("SELECT teacher_id FROM teaching_assignments LIMIT 1"))).scalar_one()
        cls = (await session.execute(text(
            "INSERT INTO classes (school_id, academic_year_id, name, grade_level) VALUES (:s, :y, '11Б', 11) "
            "RETURNING id"), {"s": school.id, "y": school.year_id})).scalar_one()
        starts = datetime.combine(monday, time(8, 40), tzinfo=tz)
        await session.execute(insert(Lesson), [{
            "school_id": school.id, "class_id": cls, "subject_id": subject, "teacher_id": teacher, "room": room,
            "starts_at": starts.astimezone(UTC), "ends_at": starts + timedelta(minutes=45)}])
    report = await upload(client, ctx, school, files.xlsx(["timetable"]), dry_run=True)
    monday_row = next(n for n, r in enumerate(files.rows["timetable"], start=2)
                      if r[2] == "понедельник" and r[3] == "08:30")
    message = one(report, "Расписание", monday_row, "Начало")
    assert "11Б" in message, message
    assert "Кабинет" in message or "Учитель" in message, message
    # A CSV of students without its class column: one problem on the header row, naming the column.
    data = "Фамилия;Имя;Отчество;Email\r\nИванова;Анна;;anna@example.test\r\n".encode()
    report = await upload(client, ctx, school, data, dry_run=True, kind="students")
    assert [p["message"] for p in report["problems"]] == ["Нет столбца «Класс»."]


async def test_the_template_is_what_the_import_reads(client: TestClient, ctx: AppContext,
                                                     school: EmptySchool) -> None:
    resp = await client.get("/api/v1/imports/template", headers=auth(ctx, school.admin))
    assert resp.status == 200
    assert "filename*=UTF-8''%D0%A8%D0%B0%D0%B1%D0%BB%D0%BE%D0%BD" in resp.headers["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(await resp.read()))
    assert book.sheetnames[0] == "Инструкция"
    students = book["Ученики"]
    assert [c.value for c in students[1]] == ["Фамилия", "Имя", "Отчество", "Электронная почта", "Класс",
                                              "Дата рождения"]
    book["Классы"].append(["5А", None, None])
    students.append(["Иванова", "Анна", None, "anna.t@example.test", "5А", "01.02.2015"])
    out = io.BytesIO()
    book.save(out)
    report = await upload(client, ctx, school, out.getvalue(), dry_run=False)
    assert report["ok"], report
    assert report["summary"]["students"]["created"] == 1, report
    assert report["ignored_sheets"] == ["Инструкция"]
    csv = await client.get("/api/v1/imports/template?format=csv&kind=parents", headers=auth(ctx, school.admin))
    assert (await csv.read()).decode("utf-8-sig").strip() == "Фамилия;Имя;Отчество;Электронная почта;Email детей"


async def test_uploads_are_typed_by_content_and_limited(make_client: Any, ctx: AppContext, factory: Factory,
                                                        school: EmptySchool) -> None:
    client = await make_client(import_max_bytes=4096, import_max_per_hour=8)
    headers = auth(ctx, school.admin)

    async def post(data: Any) -> Any:
        resp = await client.post("/api/v1/imports?dry_run=true", data=data, headers=headers)
        return resp.status, await resp.json()

    status, body = await post(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100)
    assert status == 415
    assert ".xlsx" in body["error"]["message"]
    status, body = await post("Фамилия;Имя\r\n".encode("cp1251"))
    assert status == 415
    assert "UTF-8" in body["error"]["message"]
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("hello.txt", "hi")
    status, body = await post(zipped.getvalue())
    assert status == 415
    assert body["error"]["code"] == "unsupported_file"
    status, body = await post(b"x" * 5000)
    assert status == 413
    form = FormData()
    form.add_field("file", "Предмет\r\nХимия\r\n".encode(), filename="предметы.csv", content_type="text/csv")
    status, body = await post(form)
    assert status == 200
    assert body["summary"]["subjects"]["created"] == 1
    statuses = [(await post("Предмет\r\nХимия\r\n".encode()))[0] for _ in range(4)]
    assert statuses[-1] == 429
    assert 200 in statuses


async def test_only_the_schools_admins_may_import(client: TestClient, ctx: AppContext, factory: Factory,
                                                  school: EmptySchool) -> None:
    other = await empty_school(ctx, factory, name="Чужая школа")
    data = "Предмет\r\nХимия\r\n".encode()
    anonymous = await client.post("/api/v1/imports?dry_run=true", data=data)
    assert anonymous.status == 401
    assert (await client.get("/api/v1/imports/template")).status == 401
    for role in ("teacher", "student", "parent"):
        user = await factory.user(role, school_id=school.id)
        resp = await client.post("/api/v1/imports?dry_run=true", data=data, headers=auth(ctx, user))
        assert resp.status == 403, role
        template = await client.get("/api/v1/imports/template", headers=auth(ctx, user))
        assert template.status == 403, role
    resp = await client.post(f"/api/v1/imports?dry_run=false&school_id={school.id}", data=data,
                             headers=auth(ctx, other.admin))
    assert resp.status == 404
    assert await count(ctx, "SELECT count(*) FROM subjects") == 0
    superuser = await factory.user("admin", is_superuser=True)
    resp = await client.post("/api/v1/imports?dry_run=true", data=data, headers=auth(ctx, superuser))
    assert resp.status == 422
    resp = await client.post(f"/api/v1/imports?dry_run=false&school_id={school.id}", data=data,
                             headers=auth(ctx, superuser))
    assert resp.status == 200
