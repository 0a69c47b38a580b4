"""Fan a diary event out to the people it concerns: the student and every linked parent; and tell the teachers
who keep a journal that it changed.

Rows are written in the caller's transaction; the caller publishes them after commit with
`uow.publish_notifications` (edutrack/uow.py). Their email path: edutrack/digest/scheduler.py (one digest per
offline user) -> outbox -> edutrack/outbox/relay.py -> RabbitMQ -> edutrack/notifier/worker.py -> SMTP.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from edutrack.db.models import Notification
from edutrack.events import NOTIFICATION_KINDS, journal_changed_event
from edutrack.queries import journal as journal_q
from edutrack.queries import membership
from edutrack.queries.notifications import insert_notifications
from edutrack.uow import AfterCommit


async def notify_students_and_parents(
    session: AsyncSession, kind: str, payloads: Mapping[int, dict[str, Any]],
    parents: Mapping[int, list[int]] | None = None,
) -> list[Notification]:
    """`payloads` maps student id -> payload. Each student and each of their parents gets one row
    with `about_user_id` = the student, so a parent of two children can tell them apart. `parents`: the
    students' active parents (`membership.parents_of`) when the caller already read them."""
    assert kind in NOTIFICATION_KINDS, kind
    if parents is None:
        parents = await membership.parents_of(session, payloads.keys())
    rows: list[dict[str, Any]] = []
    for student_id, payload in payloads.items():
        for recipient in (student_id, *parents.get(student_id, ())):
            rows.append({"user_id": recipient, "kind": kind, "about_user_id": student_id, "payload": payload})
    return await insert_notifications(session, rows)


async def notify_users(session: AsyncSession, kind: str, user_ids: Iterable[int],
                       payload: dict[str, Any]) -> list[Notification]:
    """The same event for many users (news): one row each, about nobody in particular."""
    assert kind in NOTIFICATION_KINDS, kind
    rows = [{"user_id": uid, "kind": kind, "about_user_id": None, "payload": payload} for uid in sorted(set(user_ids))]
    return await insert_notifications(session, rows)


async def journal_changed(session: AsyncSession, after: AfterCommit, *, class_id: int, subject_id: int, what: str,
                          actor_id: int, lesson_id: int | None = None, keepers: set[int] | None = None) -> None:
    """After the commit, tell the teachers of the class in the subject, the class teacher, and the actor's own
    other tabs that this journal changed (events.JOURNAL_CHANGED on their feeds): open pages re-read it.
    `keepers`: `journal_q.journal_keepers` when the caller already read them."""
    if keepers is None:
        keepers = await journal_q.journal_keepers(session, class_id, subject_id)
    keepers = keepers | {actor_id}
    after.publish_many(journal_changed_event(user_id, class_id=class_id, subject_id=subject_id, what=what,
                                             lesson_id=lesson_id) for user_id in sorted(keepers))
