"""A new grade and a change of value, mark or comment are written in one statement on the driver connection
(`grade_fast`): the same rows, the same answer and the same live events, in the same order, as the ORM path; and
everything else is left to the ORM path."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from functools import partial
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import text

from edutrack.context import AppContext
from edutrack.db.models import User
from edutrack.events import redis_channel
from edutrack.queries import grade_writes as wq
from edutrack.queries.driver import driver
from edutrack.security.tokens import Principal
from edutrack.serialize import dumps_bytes
from edutrack.services.diary import grade_fast, grade_target, grades
from edutrack.uow import unit_of_work
from tests.support.diary import auth, body_of, count_sql
from tests.support.school import BuiltSchool

D = date(2026, 10, 5)
_VARYING = re.compile(r'"(id|grade_id|created_at|updated_at)":( ?)("[^"]*"|\d+)')


def _who(user: User) -> Principal:
    return Principal(user_id=user.id, role=user.role, school_id=user.school_id, is_superuser=user.is_superuser)


def _same_bytes(text_: str | bytes) -> str:
    """Ids and timestamps blanked, everything else (and the order of keys) kept."""
    return _VARYING.sub(r'"\1":\g<2>0', text_ if isinstance(text_, str) else text_.decode())


async def _orm_add(ctx: AppContext, who: Principal, data: dict[str, Any]) -> dict[str, Any]:
    """A new grade through the ORM path (as the homework hand-in gives one, in its own transaction)."""
    async with unit_of_work(ctx) as uow:
        return (await grades.add_grade(uow, who, data))[0]


def _of_grades(statements: list[str]) -> list[str]:
    """The statements a grade write sends through SQLAlchemy (background tasks' own are left out)."""
    return [s for s in statements if any(t in s for t in ("grades", "audit_log", "notifications", "BEGIN"))]


def _told(published: list[tuple[str, str]]) -> int:
    """How many notifications were published, checking they come first and the journal's keepers after."""
    kinds = [json.loads(data)["type"] for _channel, data in published]
    told = kinds.count("notification")
    assert kinds == ["notification"] * told + ["journal"] * (len(kinds) - told), kinds
    assert len(kinds) > told, kinds
    return told


async def _written(ctx: AppContext, grade_id: int) -> dict[str, Any]:
    """Every row a grade write leaves: the grade, its audit rows, its notifications (ids and times left out)."""
    async with ctx.engine.connect() as conn:
        grade = (await conn.execute(text(
            "SELECT school_id, student_id, class_id, subject_id, teacher_id, lesson_id, work_type_id, date, value, "
            "mark, comment, deleted_at, created_at <= updated_at FROM grades WHERE id = :id"), {"id": grade_id})).one()
        audit = (await conn.execute(text(
            "SELECT school_id, entity, action, actor_id, old IS NULL, old::text, new::text FROM audit_log "
            "WHERE entity = 'grade' AND entity_id = :id ORDER BY id"), {"id": grade_id})).all()
        feed = (await conn.execute(text(
            "SELECT user_id, kind, about_user_id, (payload - 'grade_id')::text, channels, "
            "read_at, emailed_at, pushed_at FROM notifications WHERE (payload->>'grade_id')::bigint = :id "
            "ORDER BY id"), {"id": grade_id})).all()
    return {"grade": tuple(grade), "audit": [tuple(r) for r in audit], "feed": [tuple(r) for r in feed]}


async def _events(ctx: AppContext, write: Callable[[], Awaitable[Any]]) -> tuple[Any, list[tuple[str, str]]]:
    """What `write` returns and every live event it published, in order."""
    pubsub = ctx.redis.pubsub()
    await pubsub.psubscribe(redis_channel(ctx.settings.namespace, "user:*"))
    seen: list[tuple[str, str]] = []
    try:
        async with asyncio.timeout(5):
            while (await pubsub.get_message(timeout=1) or {}).get("type") != "psubscribe":
                pass
        result = await write()
        async with asyncio.timeout(10):  # until nothing more comes for half a second
            while (msg := await pubsub.get_message(timeout=0.5)) is not None:
                seen.append((msg["channel"].decode(), _same_bytes(msg["data"])))
    finally:
        await pubsub.aclose()
    return result, seen


async def test_a_new_grade_is_the_orm_paths(client: TestClient, ctx: AppContext, school: BuiltSchool) -> None:
    c0, math = school.classes[0], school.subject(0)
    student = c0.student_ids[0]
    await body_of(await client.patch(f"/api/v1/users/{school.parents(student)[1].id}", headers=auth(ctx, school.admin),
                                     json={"is_active": False}), 200)  # only active parents are told
    for user in (school.teacher_of(c0.id, math), school.admin):
        who = _who(user)
        for extra in ({"value": 4}, {"mark": "na", "comment": "Без «ошибок»"}):
            data = {"student_id": student, "class_id": c0.id, "subject_id": math, "date": D,
                    "work_type_id": school.work_type_ids["Контрольная работа"], **extra}
            with count_sql(ctx) as statements:
                fast, fast_events = await _events(ctx, partial(grades.create_grade, ctx, who, dict(data)))
            assert _of_grades(statements) == [], statements  # both statements on the driver connection, no ORM
            with count_sql(ctx) as statements:
                full, full_events = await _events(ctx, partial(_orm_add, ctx, who, dict(data)))
            assert _of_grades(statements), "the ORM path"
            assert _same_bytes(dumps_bytes(fast)) == _same_bytes(dumps_bytes(full))
            assert fast_events == full_events
            assert _told(fast_events) == 2, fast_events
            fast_rows, full_rows = await _written(ctx, fast["id"]), await _written(ctx, full["id"])
            assert fast_rows == full_rows
            assert len(fast_rows["feed"]) == 2  # (found by their payload's grade_id)
            assert fast_rows["audit"][0][4:6] == (False, "null"), fast_rows["audit"]  # JSON null, as the ORM writes
    # The next read of the student's grades sees them: the write dropped the cached list.
    listed = await body_of(await client.get(f"/api/v1/students/{student}/grades",
                                            headers=auth(ctx, school.users[student])), 200)
    assert len(listed["grades"]) == 8


async def test_a_change_is_the_orm_paths(client: TestClient, ctx: AppContext, school: BuiltSchool) -> None:
    c0, math = school.classes[0], school.subject(0)
    student, teacher = c0.student_ids[1], school.teacher_of(c0.id, math)
    ids = [(await body_of(await client.post("/api/v1/grades", headers=auth(ctx, teacher), json={
        "student_id": student, "class_id": c0.id, "subject_id": math, "date": D.isoformat(), "value": 3,
        "comment": "старая", "work_type_id": school.work_type_ids["Контрольная работа"]}), 201))["id"]
        for _ in range(2)]
    for user, change in ((teacher, {"value": 5}), (school.admin, {"mark": "exempt"}), (teacher, {"value": 4}),
                         (teacher, {"comment": "новая"}), (school.admin, {"value": 2, "comment": None})):
        who = _who(user)
        with count_sql(ctx) as statements:
            fast, fast_events = await _events(ctx, partial(grades.update_grade, ctx, who, ids[0], dict(change)))
        assert _of_grades(statements) == [], (change, statements)
        # The ORM path for the same change: a `date` that changes nothing makes the fast path decline.
        with count_sql(ctx) as statements:
            full, full_events = await _events(ctx, partial(grades.update_grade, ctx, who, ids[1],
                                                           {**change, "date": D}))
        assert _of_grades(statements), "the ORM path"
        assert _same_bytes(dumps_bytes(fast)) == _same_bytes(dumps_bytes(full)), change
        assert fast_events == full_events, change
        assert _told(fast_events) == 3, change
        assert await _written(ctx, ids[0]) == await _written(ctx, ids[1]), change
    # No change at all: the ORM path answers (nothing written, nothing published).
    unchanged, published = await _events(ctx, lambda: grades.update_grade(ctx, _who(teacher), ids[0],
                                                                           {"value": 2}))
    assert (unchanged["value"], published) == (2, [])


async def test_everything_else_is_left_to_the_orm_path(client: TestClient, ctx: AppContext,
                                                       school: BuiltSchool) -> None:
    c0, c1, math = school.classes[0], school.classes[1], school.subject(0)
    student, teacher = c0.student_ids[2], _who(school.teacher_of(c0.id, math))
    data = {"student_id": student, "class_id": c0.id, "subject_id": math, "date": D, "value": 3,
            "work_type_id": school.work_type_ids["Контрольная работа"]}
    grade = await grades.create_grade(ctx, teacher, dict(data))
    superuser = Principal(user_id=school.admin.id, role="admin", school_id=None, is_superuser=True)
    student_user = _who(school.users[student])
    for who, change in ((superuser, {"value": 4}), (student_user, {"value": 4}),
                        (_who(school.teacher_of(c1.id, math)), {"value": 4}),  # not their class
                        (teacher, {"value": 4, "date": D}), (teacher, {"work_type_id": data["work_type_id"]}),
                        (teacher, {}), (teacher, {"value": 3})):  # the last: no change
        async with unit_of_work(ctx) as uow:
            assert await grade_fast.update(uow, who, grade["id"], change) is None, (who, change)
            assert len(uow) == 0
    async with unit_of_work(ctx) as uow:
        assert await grade_fast.update(uow, teacher, 2**62, {"value": 4}) is None  # no such grade
    # A grade changed since the edit was read: the statement writes nothing (the ORM path then locks and decides).
    async with ctx.engine.connect() as conn:
        db = await driver(conn)
        was = await wq.edit_target_raw(db, grade["id"], teacher.user_id)
        assert was is not None
        await db.execute("UPDATE grades SET comment = 'meanwhile' WHERE id = $1", grade["id"])
        assert await wq.update_grade_raw(db, was, actor_id=teacher.user_id, value=5, mark=None, comment=None,
                                         updated_at=datetime.now(UTC), old="{}", new="{}", payload="{}",
                                         recipients=[student]) == []
    assert (await _written(ctx, grade["id"]))["grade"][8:11] == (3, None, "meanwhile")
    # A new grade the facts do not decide (a lesson), or one PostgreSQL refuses: nothing written, the ORM path's.
    to = grade_target.Target(student, c0.id, math, D, school.id, None)
    async with unit_of_work(ctx) as uow:
        assert await grade_fast.create(uow, teacher, dict(data), to) is None
    async with unit_of_work(ctx) as uow:
        to = await grade_target.target(uow.session, teacher, dict(data))
        assert await grade_fast.create(uow, teacher, {**data, "lesson_id": 1}, to) is None
        assert await grade_fast.create(uow, teacher, {**data, "comment": "x" * 501}, to) is None
        assert len(uow) == 0
    async with ctx.engine.connect() as conn:
        count = (await conn.execute(text("SELECT count(*) FROM grades WHERE student_id = :s"), {"s": student}))
        assert count.scalar() == 1
