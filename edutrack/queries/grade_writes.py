"""A grade write in one statement on the driver connection (services/diary/grade_fast.py): the grade, its audit row
and its notification rows, which the ORM path writes in five or six round trips between BEGIN and COMMIT.

One statement is one transaction on its own (data-modifying CTEs), so the three writes commit together or not at
all, as they do in the ORM path's transaction. The columns are the ORM path's: `audit_log.old` of a new grade is
JSON null (SQLAlchemy writes Python None into a JSONB column as 'null'), and each notification's payload is the
caller's with the grade's id added under `grade_id`.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

import asyncpg

from edutrack.queries.grades import EDIT_FACTS

# $1 school, $2 student, $3 actor, $4 old, $5 new, $6 payload without grade_id, $7 recipients in order; `g` is the
# written grade (id, created_at, updated_at). Notification ids are given in the recipients' order, as the ORM's
# multi-row insert gives them.
_AUDIT_AND_FEED = """
, audit AS (
    INSERT INTO audit_log (school_id, entity, entity_id, action, actor_id, old, new)
    SELECT $1, 'grade', g.id, '{action}', $3, $4::jsonb, $5::jsonb FROM g
), feed AS (
    INSERT INTO notifications (user_id, kind, about_user_id, payload)
    SELECT r.user_id, '{kind}', $2, $6::jsonb || jsonb_build_object('grade_id', g.id)
    FROM g, unnest($7::bigint[]) WITH ORDINALITY AS r(user_id, n) ORDER BY r.n
    RETURNING id, user_id, kind, about_user_id, payload, created_at, read_at, channels
)
SELECT g.id AS grade_id, g.created_at AS grade_created_at, g.updated_at AS grade_updated_at, feed.*
FROM g JOIN feed ON true ORDER BY feed.id
"""

_NEW_GRADE = """
WITH g AS (
    INSERT INTO grades (school_id, student_id, class_id, subject_id, teacher_id, lesson_id, work_type_id, date,
                        value, mark, comment)
    VALUES ($1, $2, $8, $9, $3, NULL, $10, $11, $12, $13, $14)
    RETURNING id, created_at, updated_at
)""" + _AUDIT_AND_FEED.format(action="create", kind="grade")  # noqa: S608 (constants, no input)

# Writes only if the row is still exactly what the edit was decided from (every audited column, school, not
# deleted): re-checked on the newest version under READ COMMITTED, so a concurrent change makes it write nothing
# and the caller takes the locking ORM path.
_EDITED_GRADE = """
WITH g AS (
    UPDATE grades SET value = $15, mark = $16, comment = $17, updated_at = $18
    WHERE id = $8 AND deleted_at IS NULL AND school_id = $1 AND student_id = $2 AND class_id = $9
      AND subject_id = $10 AND lesson_id IS NOT DISTINCT FROM $11 AND work_type_id = $12 AND date = $13
      AND teacher_id = $14 AND value IS NOT DISTINCT FROM $19 AND mark IS NOT DISTINCT FROM $20
      AND comment IS NOT DISTINCT FROM $21
    RETURNING id, created_at, updated_at
)""" + _AUDIT_AND_FEED.format(action="update", kind="grade_changed")  # noqa: S608 (constants, no input)


def _feed_args(school_id: int, student_id: int, actor_id: int, old: str, new: str, payload: str,
               recipients: list[int]) -> tuple[Any, ...]:
    return school_id, student_id, actor_id, old, new, payload, recipients


async def insert_grade_raw(db: asyncpg.Connection, *, school_id: int, student_id: int, class_id: int,
                           subject_id: int, teacher_id: int, work_type_id: int, day: date, value: int | None,
                           mark: str | None, comment: str | None, new: str, payload: str,
                           recipients: list[int]) -> list[asyncpg.Record]:
    """A new grade without a lesson (teacher = actor), its audit row (`new`: JSON text) and one notification per
    recipient (`payload`: JSON text without grade_id): one row per notification, ordered by id."""
    return list(await db.fetch(_NEW_GRADE, *_feed_args(school_id, student_id, teacher_id, "null", new, payload,
                                                       recipients),
                               class_id, subject_id, work_type_id, day, value, mark, comment))


async def update_grade_raw(db: asyncpg.Connection, was: Any, *, actor_id: int, value: int | None,
                           mark: str | None, comment: str | None, updated_at: datetime, old: str, new: str,
                           payload: str, recipients: list[int]) -> list[asyncpg.Record]:
    """A grade's value, mark and comment, if the row still is `was` (a record of `edit_target_raw`), with its
    audit row and notifications as `insert_grade_raw`; no rows if it changed meanwhile."""
    return list(await db.fetch(
        _EDITED_GRADE, *_feed_args(was["school_id"], was["student_id"], actor_id, old, new, payload, recipients),
        was["id"], was["class_id"], was["subject_id"], was["lesson_id"], was["work_type_id"], was["date"],
        was["teacher_id"], value, mark, comment, updated_at, was["value"], was["mark"], was["comment"]))


# The grade (not deleted) and `edit_facts_raw` of it, in one statement: the facts' parameters become the grade's
# columns, the editor is $2 (a placeholder the map does not name fails here, at import).
_FACTS_OF_GRADE = {"$1": "g.student_id", "$2": "g.class_id", "$3": "g.subject_id", "$4": "$2",
                   "$5": "g.work_type_id", "$6": "g.lesson_id", "$7": "g.teacher_id"}
_EDIT_TARGET = """
SELECT g.id, g.school_id, g.student_id, g.class_id, g.subject_id, g.lesson_id, g.work_type_id, g.date, g.value,
       g.mark, g.comment, g.teacher_id, f.*
FROM grades g CROSS JOIN LATERAL ({facts}) AS f
WHERE g.id = $1 AND g.deleted_at IS NULL
""".format(facts=re.sub(r"\$\d+", lambda m: _FACTS_OF_GRADE[m.group(0)], EDIT_FACTS))


async def edit_target_raw(db: asyncpg.Connection, grade_id: int, editor_id: int) -> asyncpg.Record | None:
    """A grade not deleted with what an edit of it keeping its work type is decided and announced from (the
    columns of `queries.grades.edit_facts_raw`); None if there is no such grade."""
    return await db.fetchrow(_EDIT_TARGET, grade_id, editor_id)
