"""`load-demo` builds a school that is alive on the day it runs, seen through the REST endpoints the web client
uses; a second run changes nothing; a later run adds the days since, exactly as a first run on that day would."""

from __future__ import annotations

import asyncio
import io
import re
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import text

from edutrack.context import AppContext
from edutrack.demo import DEMO_PASSWORD, DemoError, DemoResult, bulk, load_demo, print_logins
from edutrack.demo.calendar import school_today, school_year, start_year_of
from edutrack.settings import Settings
from tests.support.environment import TEST_JWT_SECRET, truncate_all

MSK = "Europe/Moscow"
# Each table's content by its natural keys (emails, names, times), never by ids: (day of the row or NULL, text).
CHANNEL = ("CASE WHEN {c} LIKE 'class:%' THEN (SELECT 'class:' || name FROM classes "
           "WHERE id = split_part({c}, ':', 2)::bigint) ELSE (SELECT 'dm:' || a.email || ':' || b.email "
           "FROM users a, users b WHERE a.id = split_part({c}, ':', 2)::bigint "
           "AND b.id = split_part({c}, ':', 3)::bigint) END")
CONTENT = {
    "users": "SELECT NULL::date, concat_ws(';', u.email, u.role, u.is_active, p.first_name, p.middle_name, "
             "p.last_name, p.birthday) FROM users u JOIN profiles p ON p.user_id = u.id",
    "classes": "SELECT NULL::date, concat_ws(';', c.name, c.grade_level, t.email, y.name) FROM classes c "
               "LEFT JOIN users t ON t.id = c.class_teacher_id LEFT JOIN academic_years y ON y.id = c.academic_year_id",
    "class_students": "SELECT NULL::date, c.name || ';' || u.email FROM class_students x "
                      "JOIN classes c ON c.id = x.class_id JOIN users u ON u.id = x.student_id",
    "parent_children": "SELECT NULL::date, p.email || ';' || c.email FROM parent_children x "
                       "JOIN users p ON p.id = x.parent_id JOIN users c ON c.id = x.child_id",
    "teaching_assignments": "SELECT NULL::date, concat_ws(';', c.name, s.name, u.email) FROM teaching_assignments x "
                            "JOIN classes c ON c.id = x.class_id JOIN subjects s ON s.id = x.subject_id "
                            "JOIN users u ON u.id = x.teacher_id",
    "terms": "SELECT NULL::date, concat_ws(';', y.name, y.starts_on, y.ends_on, t.name, t.starts_on, t.ends_on) "
             "FROM terms t JOIN academic_years y ON y.id = t.academic_year_id",
    "lessons": f"SELECT (l.starts_at AT TIME ZONE '{MSK}')::date, concat_ws(';', c.name, s.name, u.email, l.room, "
               "l.starts_at, l.ends_at, l.topic, l.homework) FROM lessons l JOIN classes c ON c.id = l.class_id "
               "JOIN subjects s ON s.id = l.subject_id JOIN users u ON u.id = l.teacher_id",
    "attendance": f"SELECT (l.starts_at AT TIME ZONE '{MSK}')::date, concat_ws(';', c.name, l.starts_at, st.email, "
                  "a.status, a.reason, a.note, m.email, a.updated_at) FROM attendance a "
                  "JOIN lessons l ON l.id = a.lesson_id JOIN classes c ON c.id = l.class_id "
                  "JOIN users st ON st.id = a.student_id JOIN users m ON m.id = a.marked_by",
    "grades": "SELECT g.date, concat_ws(';', st.email, c.name, s.name, t.email, l.starts_at, w.name, g.date, g.value, "
              "g.mark, g.comment, g.created_at) FROM grades g JOIN users st ON st.id = g.student_id "
              "JOIN classes c ON c.id = g.class_id JOIN subjects s ON s.id = g.subject_id "
              "JOIN users t ON t.id = g.teacher_id JOIN work_types w ON w.id = g.work_type_id "
              "LEFT JOIN lessons l ON l.id = g.lesson_id",
    "attestations": f"SELECT (a.confirmed_at AT TIME ZONE '{MSK}')::date, concat_ws(';', st.email, s.name, y.name, "
                    "t.name, a.proposed, a.final, a.is_override, a.average, a.comment, u.email, a.confirmed_at) "
                    "FROM attestations a JOIN users st ON st.id = a.student_id JOIN subjects s ON s.id = a.subject_id "
                    "JOIN terms t ON t.id = a.term_id JOIN academic_years y ON y.id = t.academic_year_id "
                    "JOIN users u ON u.id = a.confirmed_by",
    "news": f"SELECT (n.published_at AT TIME ZONE '{MSK}')::date, concat_ws(';', n.title, n.body, n.audience, "
            "c.name, n.role, n.status, n.published_at, u.email) FROM news n JOIN users u ON u.id = n.author_id "
            "LEFT JOIN classes c ON c.id = n.class_id",
    "chat_messages": f"SELECT (m.created_at AT TIME ZONE '{MSK}')::date, concat_ws(';', "
                     f"{CHANNEL.format(c='m.channel')}, m.id, u.email, m.text, m.created_at) FROM chat_messages m "
                     "JOIN users u ON u.id = m.sender_id",
    "chat_channels": f"SELECT NULL::date, concat_ws(';', {CHANNEL.format(c='x.name')}, x.last_message_id, "
                     "x.created_at, x.last_message_at) FROM chat_channels x",
    "chat_read_markers": f"SELECT NULL::date, concat_ws(';', u.email, {CHANNEL.format(c='x.channel')}, "
                         "x.last_read_id) FROM chat_read_markers x JOIN users u ON u.id = x.user_id",
}
DATED = ("attendance", "grades", "attestations", "news", "chat_messages")


async def content(ctx: AppContext, upto: date | None = None, after: date | None = None) -> dict[str, tuple[int, str]]:
    """(rows, md5 of the sorted rows) per table; `upto`/`after` keep only rows of dated tables on/before/after."""
    out = {}
    async with ctx.sessions.begin() as session:
        for table, query in CONTENT.items():
            where = []
            if upto is not None and table in DATED:
                where.append(f"day <= '{upto}'")
            if after is not None:
                where.append(f"day > '{after}'")
            found = (await session.execute(text(
                f"SELECT count(*), coalesce(md5(string_agg(line, '|' ORDER BY line)), '') "
                f"FROM ({query}) AS t(day, line) {'WHERE ' + ' AND '.join(where) if where else ''}"))).one()
            out[table] = (int(found[0]), str(found[1]))
    return out


async def row_counts(ctx: AppContext) -> dict[str, int]:
    async with ctx.sessions.begin() as session:
        tables = (await session.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                                             "AND tablename <> 'alembic_version'"))).scalars()
        return {t: (await session.execute(text(f'SELECT count(*) FROM "{t}"'))).scalar_one() for t in sorted(tables)}


async def login(client: TestClient, email: str) -> dict[str, Any]:
    resp = await client.post("/api/v1/auth/login", json={"email": email, "password": DEMO_PASSWORD})
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    return {"headers": {"Authorization": f"Bearer {body['access_token']}"}, "user": body["user"]}


async def get(client: TestClient, who: dict[str, Any], path: str) -> Any:
    resp = await client.get(path, headers=who["headers"])
    assert resp.status == 200, (path, await resp.text())
    return await resp.json()


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def last_school_day(day: date) -> date | None:
    """The latest school day on or before `day` (the one a diary opened on a holiday points back to)."""
    return max(school_year(start_year_of(day)).school_days(last=day), default=None)


async def check_alive(client: TestClient, result: DemoResult, day: date) -> None:
    """What the web client shows on `day`: the parent's diary (the same REST calls the diary page makes), the
    teacher's lessons, the term sheet."""
    parent = await login(client, result.logins["parent"])
    teacher = await login(client, result.logins["teacher"])
    school_id = parent["user"]["school_id"]
    links = (await get(client, parent, f"/api/v1/parent-links?parent_id={parent['user']['id']}&limit=50"))["items"]
    assert len(links) == 2, links  # the printed parent has two children
    terms = await get(client, parent, f"/api/v1/schools/{school_id}/terms")
    current = [t for t in terms if t["starts_on"] <= day.isoformat() <= t["ends_on"]]
    year = school_year(start_year_of(day))
    assert [t["name"] for t in terms if t["starts_on"] >= year.starts_on.isoformat()][:4] == [
        "1 четверть", "2 четверть", "3 четверть", "4 четверть"]
    # The diary opens on the current week; in a week of holidays, or in summer, the one of the last school day
    # (the web client's job) is the week with lessons.
    school_day = last_school_day(day)
    if school_day is None:  # 1 September on a weekend: the year begins on Monday, its lessons are all ahead
        await check_first_week(client, parent, links, year.quarters[0].starts_on)
        return
    week = monday(day) if any(year.school_days(monday(day), monday(day) + timedelta(days=6))) else monday(school_day)
    days = len(list(year.school_days(week, week + timedelta(days=6))))
    classes = set()
    for link in links:
        child = link["child_id"]
        schedule = await get(client, parent, f"/api/v1/schedule/me?from={week}&to={week + timedelta(days=6)}"
                                             f"&child_id={child}")
        assert len(schedule["items"]) >= 5 * days > 0, (day, len(schedule["items"]))
        assert all(x["topic"] and "тема урока" not in x["topic"] for x in schedule["items"])
        assert sum(bool(x["homework"]) for x in schedule["items"]) >= len(schedule["items"]) // 3
        classes.add(schedule["items"][0]["class_name"])
        query = f"?term_id={current[0]['id']}" if current else ""
        grades = (await get(client, parent, f"/api/v1/students/{child}/grades{query}"))["grades"]
        week_before = (school_day - timedelta(days=7)).isoformat()
        recent = [g for g in grades if week_before < g["date"] <= school_day.isoformat()]
        assert recent, (day, child)  # grades of the last days on the first screen
        assert max(g["date"] for g in grades) <= day.isoformat()
    assert len(classes) == 2  # in two different classes
    lessons = await get(client, teacher, f"/api/v1/schedule/me?from={school_day}&to={school_day}")
    assert lessons["items"], f"the teacher has no lessons on {school_day}"
    if year.is_school_day(day):
        assert current
        assert lessons["items"][0]["starts_at"][:10] in (day.isoformat(), (day - timedelta(1)).isoformat())
    class_id = lessons["items"][0]["class_id"]
    for term in terms:
        if term["starts_on"] > day.isoformat() or term["starts_on"] < year.starts_on.isoformat():
            continue
        sheet = await get(client, teacher, f"/api/v1/classes/{class_id}/term-sheet?term_id={term['id']}")
        cells = [cell for row in sheet["students"] for cell in row["cells"] if cell["marks_count"]]
        assert cells, (term["name"], day)
        if term["ends_on"] <= day.isoformat():  # a past term: marks confirmed by the teachers
            assert all(c["final"] for c in cells)
            assert sum(c["final"] == "na" for c in cells) <= len(cells) / 50
        elif (day - date.fromisoformat(term["starts_on"])).days >= 21:  # a term in progress for three weeks
            assert sum(c["proposed"] != "na" for c in cells) >= len(cells) // 2
        else:  # its first days: averages, few proposals yet
            assert any(c["average"] is not None for c in cells)


async def check_first_week(client: TestClient, parent: dict[str, Any], links: list[dict[str, Any]],
                           first: date) -> None:
    for link in links:
        schedule = await get(client, parent, f"/api/v1/schedule/me?from={first}&to={first + timedelta(days=6)}"
                                             f"&child_id={link['child_id']}")
        assert len(schedule["items"]) >= 25
        assert all(x["topic"] for x in schedule["items"])
        assert not (await get(client, parent, f"/api/v1/students/{link['child_id']}/grades"))["grades"]


@pytest.mark.parametrize("day", [date(2026, 9, 1), date(2026, 12, 5), date(2027, 1, 20), date(2027, 4, 15),
                                 date(2027, 7, 10), date(2026, 10, 29), date(2029, 9, 1)],
                         ids=["1-sep", "5-dec", "20-jan", "15-apr", "summer-10-jul", "autumn-break",
                              "saturday-1-sep"])
async def test_the_demo_is_alive_on(client: TestClient, ctx: AppContext, day: date) -> None:
    result = await load_demo(ctx, small=True, today=day, progress_stream=io.StringIO())
    assert result.created
    assert result.through == day
    await check_alive(client, result, day)


async def test_the_demo_is_alive_today(client: TestClient, ctx: AppContext) -> None:
    result = await load_demo(ctx, small=True, progress_stream=io.StringIO())
    assert result.through == school_today()
    await check_alive(client, result, school_today())


async def test_in_summer_the_year_just_ended_is_complete(client: TestClient, ctx: AppContext) -> None:
    await load_demo(ctx, small=True, today=date(2027, 7, 10), progress_stream=io.StringIO())
    async with ctx.sessions.begin() as session:
        years = (await session.execute(text("SELECT name FROM academic_years"))).scalars().all()
        last_grade = (await session.execute(text("SELECT max(date) FROM grades"))).scalar()
        unconfirmed = (await session.execute(text(
            "SELECT count(*) FROM terms t WHERE NOT EXISTS (SELECT 1 FROM attestations a WHERE a.term_id = t.id)"
        ))).scalar()
        ahead = (await session.execute(text("SELECT count(*) FROM lessons WHERE starts_at > '2027-06-01'"))).scalar()
    assert years == ["2026/2027"]
    assert last_grade == date(2027, 5, 26)
    assert unconfirmed == 0
    assert ahead == 0


async def test_a_second_run_on_the_same_day_changes_nothing(ctx: AppContext) -> None:
    day = date(2026, 11, 20)
    first = await load_demo(ctx, small=True, today=day, progress_stream=io.StringIO())
    before, counts = await content(ctx), await row_counts(ctx)
    again = await load_demo(ctx, small=True, today=day, progress_stream=io.StringIO())
    assert not again.created
    assert not again.changed
    assert again.school_id == first.school_id
    assert again.logins == first.logins
    assert await content(ctx) == before
    assert await row_counts(ctx) == counts
    # An earlier day is already covered too.
    earlier = await load_demo(ctx, small=True, today=day - timedelta(days=30), progress_stream=io.StringIO())
    assert not earlier.changed
    assert await row_counts(ctx) == counts
    out = io.StringIO()
    print_logins(again, out)
    assert "nothing changed" in out.getvalue()
    assert first.logins["parent"] in out.getvalue()


async def test_a_run_ten_days_later_adds_those_days_as_a_first_run_would(ctx: AppContext, settings: Settings) -> None:
    day, later = date(2026, 12, 20), date(2026, 12, 30)  # the 2nd quarter ends between them: its marks come too
    await load_demo(ctx, small=True, today=day, progress_stream=io.StringIO())
    before, counts = await content(ctx), await row_counts(ctx)
    result = await load_demo(ctx, small=True, today=later, progress_stream=io.StringIO())
    assert result.changed
    assert result.previous == day
    assert result.through == later
    after = await content(ctx)
    # Nothing of what existed changed ...
    for table in ("users", "classes", "class_students", "parent_children", "teaching_assignments", "terms", "lessons"):
        assert after[table] == before[table], table
    upto = await content(ctx, upto=day)
    for table in DATED:
        assert upto[table] == before[table], table
    # ... the days in between were added: marks, grades, term marks of the quarter that ended, news, messages ...
    added = await content(ctx, after=day)
    for table in ("attendance", "grades", "attestations", "news"):
        assert added[table][0] > 0, table
        assert after[table][0] == before[table][0] + added[table][0], table
    # ... and nothing else: no notification, no email, one more "filled up to" row in the audit log.
    grown = {t: n - counts[t] for t, n in (await row_counts(ctx)).items() if n != counts[t]}
    assert (set(grown) <= {"attendance", "grades", "attestations", "news", "chat_messages", "chat_channels",
                          "chat_read_markers", "audit_log"})
    assert grown["audit_log"] == 1
    # A first run on the later day builds exactly the same school.
    await truncate_all(settings.database_url)
    await load_demo(ctx, small=True, today=later, progress_stream=io.StringIO())
    assert await content(ctx) == after


async def test_a_new_school_year_opens_for_the_same_classes(client: TestClient, ctx: AppContext) -> None:
    await load_demo(ctx, small=True, today=date(2027, 5, 20), progress_stream=io.StringIO())
    result = await load_demo(ctx, small=True, today=date(2027, 9, 3), progress_stream=io.StringIO())
    async with ctx.sessions.begin() as session:
        years = (await session.execute(text(
            "SELECT y.name, count(c.id) FROM academic_years y LEFT JOIN classes c ON c.academic_year_id = y.id "
            "GROUP BY y.name ORDER BY y.name"))).all()
        last_of_old = (await session.execute(text("SELECT max(date) FROM grades WHERE date < '2027-06-01'"))).scalar()
        q4 = (await session.execute(text("SELECT count(*) FROM attestations a JOIN terms t ON t.id = a.term_id "
                                         "WHERE t.name = '4 четверть'"))).scalar()
    assert [tuple(r) for r in years] == [("2026/2027", 0), ("2027/2028", 2)]
    assert last_of_old == date(2027, 5, 26)
    assert q4 > 0  # the old year was finished first
    await check_alive(client, result, date(2027, 9, 3))


async def test_without_the_right_to_skip_triggers_the_same_school_is_built(
        ctx: AppContext, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    day = date(2026, 11, 10)
    await load_demo(ctx, small=True, today=day, progress_stream=io.StringIO())
    fast = await content(ctx)
    await truncate_all(settings.database_url)

    async def not_allowed(session: object) -> bool:
        return False

    # A role that is not a superuser may not set session_replication_role: every foreign key is checked per row.
    monkeypatch.setattr(bulk, "may_skip_triggers", not_allowed)
    await load_demo(ctx, small=True, today=day, progress_stream=io.StringIO())
    assert await content(ctx) == fast


async def test_marks_put_ahead_in_the_web_client_are_kept(client: TestClient, ctx: AppContext) -> None:
    day = date(2027, 3, 10)
    result = await load_demo(ctx, small=True, today=day, progress_stream=io.StringIO())
    teacher = await login(client, result.logins["teacher"])
    lessons = await get(client, teacher, f"/api/v1/schedule/me?from={day + timedelta(days=1)}&to={day + timedelta(1)}")
    lesson = lessons["items"][0]
    roster = await get(client, teacher, f"/api/v1/classes/{lesson['class_id']}/students")
    student = roster[0]["id"]
    resp = await client.put(f"/api/v1/lessons/{lesson['id']}/attendance", headers=teacher["headers"], json={
        "marks": [{"student_id": student, "status": "absent", "reason": "excused", "note": "Олимпиада"}]})
    assert resp.status == 200, await resp.text()
    await load_demo(ctx, small=True, today=day + timedelta(days=3), progress_stream=io.StringIO())
    async with ctx.sessions.begin() as session:
        marks = (await session.execute(text(
            "SELECT status, note FROM attendance WHERE lesson_id = :l AND student_id = :s"),
            {"l": lesson["id"], "s": student})).all()
        others = (await session.execute(text("SELECT count(*) FROM attendance WHERE lesson_id = :l"),
                                        {"l": lesson["id"]})).scalar()
    assert [tuple(m) for m in marks] == [("absent", "Олимпиада")]
    assert others == len(roster)


async def test_a_student_of_another_school_in_a_demo_class_is_left_alone(ctx: AppContext) -> None:
    day = date(2026, 10, 1)
    await load_demo(ctx, small=True, today=day, progress_stream=io.StringIO())
    async with ctx.sessions.begin() as session:
        other = (await session.execute(text(
            "INSERT INTO schools (name) VALUES ('Гимназия № 2') RETURNING id"))).scalar()
        guest = (await session.execute(text(
            "INSERT INTO users (email, password_hash, role, school_id) "
            "VALUES ('guest@example.org', 'x', 'student', :s) RETURNING id"), {"s": other})).scalar()
        await session.execute(text(
            "INSERT INTO profiles (user_id, first_name, last_name) VALUES (:u, 'Гость', 'Гостев')"), {"u": guest})
        await session.execute(text("INSERT INTO class_students (class_id, student_id) "
                                   "SELECT id, :u FROM classes WHERE name = '5А'"), {"u": guest})
    result = await load_demo(ctx, small=True, today=day + timedelta(days=7), progress_stream=io.StringIO())
    async with ctx.sessions.begin() as session:
        touched = (await session.execute(text(
            "SELECT (SELECT count(*) FROM attendance WHERE student_id = :u) + "
            "(SELECT count(*) FROM grades WHERE student_id = :u)"), {"u": guest})).scalar()
    assert result.changed
    assert result.counts["grades"] > 0
    assert touched == 0


async def test_people_are_named_as_russians_are(ctx: AppContext) -> None:
    await load_demo(ctx, small=True, today=date(2026, 10, 1), progress_stream=io.StringIO())
    async with ctx.sessions.begin() as session:
        people = (await session.execute(text(
            "SELECT u.role, p.first_name, p.middle_name, p.last_name FROM users u "
            "JOIN profiles p ON p.user_id = u.id"))).all()
        leads = (await session.execute(text(
            "SELECT c.name, c.class_teacher_id, EXISTS (SELECT 1 FROM teaching_assignments t "
            "WHERE t.class_id = c.id AND t.teacher_id = c.class_teacher_id) FROM classes c"))).all()
    for role, first, middle, last in people:
        assert first, role
        assert middle, role
        assert last, role
        assert re.fullmatch(r"[А-ЯЁ][а-яё]+(вич|вна|ич|чна)", middle), middle
        if middle.endswith(("вна", "чна")) and last[-2:] in ("ов", "ев", "ёв", "ин"):
            pytest.fail(f"a woman with a man's surname: {first} {middle} {last}")
        if not middle.endswith(("вна", "чна")) and last.endswith(("ова", "ева", "ина", "ская")):
            pytest.fail(f"a man with a woman's surname: {first} {middle} {last}")
    assert len({lead for _, lead, _ in leads}) == len(leads)
    assert all(teaches for *_, teaches in leads)


async def test_a_school_built_by_an_older_loader_is_refused(ctx: AppContext) -> None:
    async with ctx.sessions.begin() as session:
        await session.execute(text("INSERT INTO schools (name) VALUES ('Демо-школа (малая)')"))
    with pytest.raises(DemoError, match="not built by this version"):
        await load_demo(ctx, small=True, today=date(2026, 10, 1), progress_stream=io.StringIO())


async def test_the_full_school_builds_and_reruns(client: TestClient, ctx: AppContext) -> None:
    progress = io.StringIO()
    result = await load_demo(ctx, today=date(2027, 5, 26), progress_stream=progress)
    print(f"\nfull demo school up to 26 May (the largest build): {result.seconds:.1f}s {result.counts}",
          file=sys.stderr)
    assert "100%" in progress.getvalue()
    async with ctx.sessions.begin() as session:
        sizes = (await session.execute(text(
            "SELECT c.name, count(*) FROM classes c JOIN class_students s ON s.class_id = c.id GROUP BY 1"))).all()
        two_classes = (await session.execute(text(
            "SELECT count(*) FROM (SELECT pc.parent_id FROM parent_children pc JOIN class_students s "
            "ON s.student_id = pc.child_id GROUP BY 1 HAVING count(DISTINCT s.class_id) = 2) x"))).scalar()
        weekly = (await session.execute(text(
            "SELECT min(n), max(n) FROM (SELECT class_id, count(*) n FROM lessons "
            "WHERE starts_at >= '2026-10-05' AND starts_at < '2026-10-10' GROUP BY 1) x"))).one()
    assert len(sizes) == 12
    assert all(n == 25 for _, n in sizes)
    assert two_classes >= 20
    assert weekly[0] >= 29
    assert weekly[1] <= 33
    counts = await row_counts(ctx)
    again = await load_demo(ctx, today=date(2027, 5, 26), progress_stream=io.StringIO())
    assert not again.changed
    assert await row_counts(ctx) == counts
    await check_alive(client, result, date(2027, 5, 26))


async def test_load_demo_command_takes_a_day(settings: Settings, tmp_path: Path) -> None:
    env = {"DATABASE_URL": settings.database_url, "JWT_SECRET": TEST_JWT_SECRET, "NAMESPACE": settings.namespace,
           "LOG_LEVEL": "WARNING", "PATH": "/usr/bin:/bin"}

    async def run(*args: str) -> tuple[int, str, str]:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "edutrack", "--env-file", str(tmp_path / "none.env"), "load-demo", "--small", *args,
            env=env, cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), 120)
        return proc.returncode or 0, out.decode(), err.decode()

    code, _, err = await run("--today", "5 декабря")
    assert code == 2
    assert "YYYY-MM-DD" in err
    code, out, err = await run("--today", "2026-12-05")
    assert code == 0, err[-2000:]
    assert "Demo school created" in out, err[-2000:]
    code, out, _ = await run("--today", "2026-12-15")
    assert code == 0
    assert "updated from 2026-12-05 to 2026-12-15" in out
    assert "grades:" in out
    code, out, _ = await run("--today", "2026-12-15")
    assert code == 0
    assert "nothing changed" in out
    assert re.search(r"^\s+parent\s+parent1@\S+$", out, re.MULTILINE)
