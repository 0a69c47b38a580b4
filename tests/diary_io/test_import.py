"""The onboarding import against the real services: a school from XLSX and from CSV, a rerun that changes
nothing, a changed file that updates, invitations that work, and the live progress on the admin's socket."""

from __future__ import annotations

import re
from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient
from sqlalchemy import text

from edutrack.context import AppContext
from tests.diary_io.conftest import EmptySchool
from tests.realtime.helpers import connect, recv_until, subscribe
from tests.support.diary import auth
from tests.support.factories import Factory
from tests.support.onboarding import OnboardingSchool

# Every table an import writes; the rerun test compares them whole.
TABLES = ("users", "profiles", "subjects", "classes", "class_students", "parent_children", "teaching_assignments",
          "lessons", "password_reset_tokens", "email_outbox", "audit_log")


async def upload(client: TestClient, ctx: AppContext, school: EmptySchool, data: bytes, *, dry_run: bool,
                 status: int = 200, **params: str) -> Any:
    query = "&".join([f"dry_run={'true' if dry_run else 'false'}", *(f"{k}={v}" for k, v in params.items())])
    resp = await client.post(f"/api/v1/imports?{query}", data=data, headers=auth(ctx, school.admin))
    body = await resp.json()
    assert resp.status == status, body.get("error", {}).get("details", {}).get("problems") or body
    return body


async def snapshot(ctx: AppContext) -> dict[str, list[Any]]:
    dsn = ctx.settings.database_url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    try:
        return {t: [tuple(r) for r in await conn.fetch(f"SELECT * FROM {t} ORDER BY 1, 2")] for t in TABLES}
    finally:
        await conn.close()


async def count(ctx: AppContext, sql: str, *args: Any) -> int:
    dsn = ctx.settings.database_url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval(sql, *args))
    finally:
        await conn.close()


async def test_a_school_from_one_workbook_then_the_same_file_again_changes_nothing(
        client: TestClient, ctx: AppContext, school: EmptySchool) -> None:
    # The size of the demo school: 12 classes of 25, two parents each.
    files = OnboardingSchool.make(classes=12, students_per_class=25, tag="wb")
    before = await snapshot(ctx)
    dry = await upload(client, ctx, school, files.xlsx(), dry_run=True)
    assert dry["ok"]
    assert dry["problems"] == []
    assert dry["format"] == "xlsx"
    assert dry["summary"]["students"]["created"] == 300
    assert dry["summary"]["parents"]["created"] == 600
    assert await snapshot(ctx) == before, "a dry run wrote something"

    done = await upload(client, ctx, school, files.xlsx(), dry_run=False)
    assert done["ok"]
    assert done["invitations"] == 48 + 300 + 600
    assert done["summary"]["lessons"]["created"] > 0
    assert await count(ctx, "SELECT count(*) FROM users WHERE school_id = $1 AND role = 'student'", school.id) == 300
    assert await count(ctx, "SELECT count(*) FROM parent_children") == 600
    assert await count(ctx, "SELECT count(*) FROM class_students") == 300
    assert await count(ctx, "SELECT count(*) FROM email_outbox WHERE kind = 'invitation'") == 948
    assert await count(ctx, "SELECT count(*) FROM lessons WHERE school_id = $1", school.id) == \
        done["summary"]["lessons"]["created"]

    after_first = await snapshot(ctx)
    again = await upload(client, ctx, school, files.xlsx(), dry_run=False)
    assert again["invitations"] == 0
    assert all(c["created"] == c["updated"] == c["deleted"] == 0 for c in again["summary"].values()), again["summary"]
    assert await snapshot(ctx) == after_first, "the second upload of the same file changed the database"


async def test_a_school_from_csv_files_one_kind_each(client: TestClient, ctx: AppContext,
                                                     school: EmptySchool) -> None:
    files = OnboardingSchool.make(classes=12, students_per_class=25, tag="csv")
    # Excel in Russia: ';' and a byte-order mark; a file written elsewhere: ',' and none. Both are read.
    for kind in ("subjects", "teachers", "classes", "students", "parents", "assignments", "timetable"):
        data = files.csv(kind) if kind != "students" else files.csv(kind, delimiter=",", bom=False)
        dry = await upload(client, ctx, school, data, dry_run=True)
        assert dry["ok"], (kind, dry["problems"])
        assert dry["format"] == "csv", (kind, dry["problems"])
        assert dry["sheets"][0]["kind"] == kind, (kind, dry["problems"])
        done = await upload(client, ctx, school, data, dry_run=False)
        assert done["ok"], (kind, done["problems"])
    assert await count(ctx, "SELECT count(*) FROM users WHERE school_id = $1", school.id) == 1 + 48 + 300 + 600
    assert await count(ctx, "SELECT count(*) FROM teaching_assignments") == 48
    assert await count(ctx, "SELECT count(*) FROM lessons WHERE school_id = $1", school.id) > 0
    rerun = await upload(client, ctx, school, files.csv("timetable"), dry_run=False)
    assert rerun["summary"]["lessons"]["created"] == 0
    assert rerun["summary"]["lessons"]["unchanged"] > 0


async def test_a_changed_file_updates_what_changed(client: TestClient, ctx: AppContext, school: EmptySchool) -> None:
    files = OnboardingSchool.make(classes=2, students_per_class=3, tag="ch")
    await upload(client, ctx, school, files.xlsx(), dry_run=False)
    moved = files.rows["students"][0]
    moved[0] = "Новикова"  # married: a new surname
    moved[4] = files.rows["classes"][1][0]  # and moved to the other class
    files.rows["parents"].append(["Новый", "Папа", "", "new.parent.ch@example.test", moved[3]])
    lesson = files.rows["timetable"][0]
    lesson[7] = "999"  # another room
    # A weekly lesson dropped from the timetable: its lessons go, but the one already marked keeps its history.
    dropped = files.rows["timetable"].pop(1)
    assert dropped[2] == "понедельник"
    of_dropped_row = """FROM lessons l JOIN classes c ON c.id = l.class_id JOIN subjects s ON s.id = l.subject_id
                        WHERE c.name = $1 AND s.name = $2 AND to_char(l.starts_at AT TIME ZONE 'Europe/Moscow',
                        'HH24:MI') = $3 AND extract(isodow FROM l.starts_at AT TIME ZONE 'Europe/Moscow') = 1"""
    row_args = (dropped[1], dropped[5], dropped[3])
    marked = await count(ctx, f"SELECT l.id {of_dropped_row} ORDER BY l.starts_at DESC LIMIT 1", *row_args)
    dropped_count = await count(ctx, f"SELECT count(*) {of_dropped_row}", *row_args)
    assert dropped_count > 1
    # And one lesson that stays in the file (its room changes) has attendance too: it is the same lesson, updated.
    staying = await count(ctx, f"SELECT l.id {of_dropped_row} ORDER BY l.starts_at DESC LIMIT 1",
                          lesson[1], lesson[5], lesson[3])
    student = await count(ctx, "SELECT id FROM users WHERE email = $1", files.rows["students"][1][3])
    for lesson_id in (marked, staying):
        teacher = await count(ctx, "SELECT teacher_id FROM lessons WHERE id = $1", lesson_id)
        async with ctx.sessions.begin() as session:
            await session.execute(text("INSERT INTO attendance (school_id, lesson_id, student_id, status, "
                                       "marked_by) VALUES (:s, :l, :st, 'present', :t)"),
                                  {"s": school.id, "l": lesson_id, "st": student, "t": teacher})
    result = await upload(client, ctx, school, files.xlsx(), dry_run=False)
    assert result["summary"]["students"] == {"created": 0, "updated": 1, "unchanged": 5, "deleted": 0}
    assert result["summary"]["parents"]["created"] == 1
    assert result["invitations"] == 1
    assert result["summary"]["lessons"]["updated"] > 0
    assert result["summary"]["lessons"]["created"] == 0
    assert result["summary"]["lessons"]["deleted"] == dropped_count - 1
    assert result["lessons_kept"] == 1
    assert await count(ctx, "SELECT count(*) FROM lessons WHERE id = $1", marked) == 1
    assert await count(ctx, "SELECT count(*) FROM lessons WHERE id = $1 AND room = '999'", staying) == 1
    assert await count(ctx, "SELECT count(*) FROM profiles WHERE last_name = 'Новикова'") == 1
    student_class = await count(ctx, """SELECT c.id FROM class_students cs JOIN classes c ON c.id = cs.class_id
                                        JOIN users u ON u.id = cs.student_id WHERE u.email = $1""", moved[3])
    assert student_class == await count(ctx, "SELECT id FROM classes WHERE name = $1", moved[4])
    assert await count(ctx, "SELECT count(*) FROM class_students cs JOIN users u ON u.id = cs.student_id "
                            "WHERE u.email = $1", moved[3]) == 1
    moved_lessons = await count(ctx, "SELECT count(*) FROM lessons WHERE room = '999'")
    assert moved_lessons == result["summary"]["lessons"]["updated"]


async def test_invitations_wait_in_the_outbox_and_set_a_password(client: TestClient, ctx: AppContext,
                                                                 school: EmptySchool) -> None:
    files = OnboardingSchool.make(classes=1, students_per_class=1, parents_per_student=1, subjects=1, tag="inv",
                                  timetable=False)
    await upload(client, ctx, school, files.xlsx(), dry_run=False)
    dsn = ctx.settings.database_url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    try:
        mails = await conn.fetch("SELECT recipient, subject, body_text, kind, status FROM email_outbox ORDER BY id")
    finally:
        await conn.close()
    assert {m["recipient"] for m in mails} == {"teacher0.inv@example.test", "student0.inv@example.test",
                                               "parent0-0.inv@example.test"}
    assert all(m["kind"] == "invitation" and m["status"] == "pending" for m in mails)
    parent_mail = next(m for m in mails if m["recipient"].startswith("parent"))
    # The same invitation an administrator sends from the people page (services/invitations.py).
    assert parent_mail["subject"] == "Приглашение в EduTrack"
    assert "Школа № 1" in parent_mail["body_text"]
    assert "Здравствуйте, Ольга Сергеевна!" in parent_mail["body_text"]
    token = re.search(r"reset-password\?token=([\w-]+)", parent_mail["body_text"])
    assert token is not None
    # Nobody can sign in before the invitation is used: the shared hash is of a secret nobody kept.
    refused = await client.post("/api/v1/auth/login", json={"email": "parent0-0.inv@example.test",
                                                            "password": "correct-horse-42"})
    assert refused.status == 401
    done = await client.post("/api/v1/password-reset/confirm",
                             json={"token": token[1], "new_password": "Ulitka-na-sklone-7"})
    assert done.status == 204, await done.text()
    login = await client.post("/api/v1/auth/login", json={"email": "parent0-0.inv@example.test",
                                                          "password": "Ulitka-na-sklone-7"})
    assert login.status == 200


async def test_progress_reaches_the_admins_socket_live(client: TestClient, ctx: AppContext, factory: Factory,
                                                       school: EmptySchool) -> None:
    admin = await factory.login(school.admin)
    ws = await connect(client, admin)
    await subscribe(ws, f"user:{admin.id}")
    files = OnboardingSchool.make(classes=2, students_per_class=3, tag="ws")
    result = await upload(client, ctx, school, files.xlsx(), dry_run=False)
    finished, before = await recv_until(ws, lambda f: f.get("type") == "import.progress"
                                        and f.get("phase") == "finished")
    assert finished["import_id"] == result["import_id"]
    assert finished["ok"] is True
    phases = [f["phase"] for f in before if f.get("type") == "import.progress"]
    assert {"reading", "checking", "writing"} <= set(phases), phases
    assert all(f["import_id"] == result["import_id"] for f in before if f.get("type") == "import.progress")
    await ws.close()


async def test_two_lessons_swapping_rooms_are_refused_cleanly(client: TestClient, ctx: AppContext,
                                                              school: EmptySchool) -> None:
    """The known limit: the constraints check each row as it is updated, so two lessons at one time that swap
    their rooms collide halfway. The answer is a 409 and nothing is written, never a 500 or half a timetable."""
    files = OnboardingSchool.make(classes=2, students_per_class=1, subjects=2, tag="sw")
    await upload(client, ctx, school, files.xlsx(), dry_run=False)
    before = await snapshot(ctx)
    first, second = (next(r for r in files.rows["timetable"] if r[1] == name and r[2] == "понедельник"
                          and r[3] == "08:30") for name in (files.rows["classes"][0][0], files.rows["classes"][1][0]))
    first[7], second[7] = second[7], first[7]
    assert (await upload(client, ctx, school, files.xlsx(), dry_run=True))["ok"]
    refused = await upload(client, ctx, school, files.xlsx(), dry_run=False, status=409)
    assert refused["error"]["code"] == "import_conflict"
    assert "ничего не записано" in refused["error"]["message"]
    assert await snapshot(ctx) == before
