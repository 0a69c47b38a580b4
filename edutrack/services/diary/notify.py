"""Fan a diary event out to the people it concerns: the student and every linked parent.

Rows are written in the caller's transaction; the caller publishes them after commit with
`uow.publish_notifications` (edutrack/uow.py). Their email path: edutrack/digest/scheduler.py (one digest per
offline user) -> outbox -> edutrack/outbox/relay.py -> RabbitMQ -> edutrack/notifier/worker.py -> SMTP.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from edutrack.db.models import Notification
from edutrack.events import NOTIFICATION_KINDS
from edutrack.queries import membership
from edutrack.queries.notifications import insert_notifications


async def notify_students_and_parents(
    session: AsyncSession, kind: str, payloads: Mapping[int, dict[str, Any]]
) -> list[Notification]:
    """`payloads` maps student id -> payload. Each student and each of their parents gets one row
    with `about_user_id` = the student, so a parent of two children can tell them apart."""
    assert kind in NOTIFICATION_KINDS, kind
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
