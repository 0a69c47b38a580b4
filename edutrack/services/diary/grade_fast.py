"""The common grade writes in one statement on the driver connection: a new grade without a lesson
(`POST /grades`) and a change of a grade's value, mark or comment (`PATCH /grades/{id}`).

The ORM path asks PostgreSQL five to seven times between its checks and COMMIT (BEGIN, the insert or the locked
read and the update, the audit row, the notification rows, COMMIT); under load each round trip waits a turn of a
busy event loop, so the writes were the mixed benchmark's tail. Here the checks are one statement of facts
(grade_target.py's) and the grade, its audit row and its notifications one more (queries/grade_writes.py), which
commits on its own. The results are the ORM path's: the same rows, the same answer, the same after-commit
invalidations and publishes in the same order (tests/diary_grades/test_grade_fast.py compares them).

Anything else returns None and the caller takes the ORM path, which decides and fails exactly as before: a
superuser, a lesson-bound new grade, a change of date or work type, a caller the facts do not clearly allow, no
change at all, a grade changed since it was read, and any error PostgreSQL gives the statement (nothing was
written then: the statement is its own transaction).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any

import asyncpg

from edutrack.db.models import Notification, Role
from edutrack.queries import grade_writes as wq
from edutrack.queries.driver import driver
from edutrack.security.tokens import Principal
from edutrack.services.diary import grade_target
from edutrack.services.diary.grade_rows import invalidate_marks, listed, notification_payload, snapshot
from edutrack.services.diary.notify import journal_changed
from edutrack.uow import UnitOfWork

_EDITABLE = frozenset(("value", "mark", "comment"))
_ROLES = (Role.TEACHER.value, Role.ADMIN.value)
_COLUMNS = ("id", "school_id", "student_id", "class_id", "subject_id", "lesson_id", "work_type_id", "date", "value",
            "mark", "comment", "teacher_id")


@dataclass(frozen=True, slots=True)
class _Grade:
    """The columns of a grade that its audit row, notification and list view show."""

    id: int
    school_id: int
    student_id: int
    class_id: int
    subject_id: int
    lesson_id: int | None
    work_type_id: int
    date: date
    value: int | None
    mark: str | None
    comment: str | None
    teacher_id: int
    created_at: datetime | None = None
    updated_at: datetime | None = None


def _payload_text(grade: _Grade, labels: grade_target.Labels) -> str:
    payload = notification_payload(grade, labels)
    del payload["grade_id"]  # the statement adds the id it gives the grade
    return json.dumps(payload)


async def create(uow: UnitOfWork, who: Principal, data: dict[str, Any],
                 to: grade_target.Target) -> dict[str, Any] | None:
    """A new grade decided from the facts (`to.known`), written in one statement; None to take the ORM path."""
    known = to.known
    if known is None or data.get("lesson_id") is not None:
        return None
    db = await driver(await uow.session.connection())
    if db.is_in_transaction():  # a caller's transaction: its statements would not be alone
        return None
    grade = _Grade(0, to.school_id, to.student_id, to.class_id, to.subject_id, None, data["work_type_id"], to.date,
                   data.get("value"), data.get("mark"), data.get("comment"), who.user_id)
    try:
        rows = await wq.insert_grade_raw(
            db, school_id=grade.school_id, student_id=grade.student_id, class_id=grade.class_id,
            subject_id=grade.subject_id, teacher_id=grade.teacher_id, work_type_id=grade.work_type_id,
            day=grade.date, value=grade.value, mark=grade.mark, comment=grade.comment,
            new=json.dumps(snapshot(grade)), payload=_payload_text(grade, known.labels),
            recipients=[grade.student_id, *known.parents])
    except asyncpg.PostgresError:
        return None
    return await _written(uow, who, grade, rows, known)


async def update(uow: UnitOfWork, who: Principal, grade_id: int, data: dict[str, Any]) -> dict[str, Any] | None:
    """A change of value, mark or comment decided from the facts, written in one statement if the grade is still
    what it was decided from; None to take the ORM path."""
    if who.is_superuser or who.role not in _ROLES or not data or not _EDITABLE.issuperset(data):
        return None
    db = await driver(await uow.session.connection())
    if db.is_in_transaction():
        return None
    was = await wq.edit_target_raw(db, grade_id, who.user_id)
    if was is None or was["school_id"] != who.school_id:
        return None
    known = grade_target.known_for_editor(who, was)
    if known is None:
        return None
    old = _Grade(*(was[name] for name in _COLUMNS))
    changes: dict[str, Any] = {}  # as grades.update_grade decides them
    if "value" in data:
        changes.update(value=data["value"], mark=None)
    if "mark" in data:
        changes.update(mark=data["mark"], value=None)
    if "comment" in data:
        changes["comment"] = data["comment"]
    if not any(getattr(old, k) != v for k, v in changes.items()):
        return None
    now = datetime.now(UTC)
    new = replace(old, **changes, updated_at=now)
    before, after = snapshot(old), snapshot(new)
    try:
        rows = await wq.update_grade_raw(
            db, was, actor_id=who.user_id, value=new.value, mark=new.mark, comment=new.comment,
            updated_at=now, old=json.dumps({k: before[k] for k in before if before[k] != after[k]}),
            new=json.dumps({k: after[k] for k in after if before[k] != after[k]}),
            payload=_payload_text(new, known.labels), recipients=[new.student_id, *known.parents])
    except asyncpg.PostgresError:
        return None
    return await _written(uow, who, new, rows, known) if rows else None


async def _written(uow: UnitOfWork, who: Principal, grade: _Grade, rows: list[asyncpg.Record],
                   known: grade_target.Known) -> dict[str, Any]:
    """What the ORM path registers after its writes, in its order, and the answer."""
    first = rows[0]
    grade = replace(grade, id=first["grade_id"], created_at=first["grade_created_at"],
                    updated_at=first["grade_updated_at"])
    notes = [Notification(id=r["id"], user_id=r["user_id"], kind=r["kind"], about_user_id=r["about_user_id"],
                          payload=r["payload"], created_at=r["created_at"], read_at=r["read_at"],
                          channels=r["channels"]) for r in rows]
    invalidate_marks(uow, grade)
    uow.publish_notifications(notes)
    await journal_changed(uow.session, uow, class_id=grade.class_id, subject_id=grade.subject_id, what="grade",
                          actor_id=who.user_id, lesson_id=grade.lesson_id, keepers=known.keepers)
    return listed(grade, known.labels)
