"""The contract between features that change state and the realtime gateway that pushes it.

Services write `notifications` rows (and chat messages) inside their transaction and register the events on
their unit of work (edutrack/uow.py), which publishes them only after the commit. Redis pub/sub is only the
fast path: a publish that fails is held and published again once Redis takes writes (edutrack/live_retry.py),
and PostgreSQL has the row, so clients that missed it resume from their last id. The email path of the same
rows: edutrack/digest/scheduler.py -> outbox -> notifier.

Channel names (logical, shared by REST, the websocket protocol and Redis):
  user:{id}      the user's notification feed
  class:{id}     a class chat
  dm:{a}:{b}     private messages between users a < b
Redis channel = f"{namespace}:ev:{logical channel}".

Notification kinds and their payload (every payload has "title", a short Russian line for display/email):
  grade / grade_changed / grade_deleted: grade_id, student_id, student_name, subject, value, work_type, date,
                                         teacher, comment
  homework:   lesson_id, class_id, subject, date, text
  attendance: lesson_id, student_id, student_name, subject, date, status, reason
  news:       news_id, title, summary, urgent? (passes quiet hours); rows written before `ack_request` existed
              may also have ack (true) and be an ack_request's payload
  ack_request: someone asks you to confirm you read it ("ознакомлен"): a news item (news_id, title, summary,
              urgent?, ack: true; services/diary/news_acks.py) or an announcement in a chat room (channel,
              message_id, title, summary, ack: true; services/chat_acks.py)
  reminder:   news_id, title, summary, ack (true): the author reminds those who have not confirmed a news item
              (or channel, message_id, title, ack: an announcement)
  message:    channel, message_id, sender_id, sender, text      (private messages only)
  chat_message: channel, room (its title), message_id, sender_id, sender, text: a message in a chat room you
              belong to (not dm:), written only for members whose channels for it are not empty
              (services/chat_notify.py); reading the room marks them read
  absence_note: note_id, student_id, student_name, from, to, reason, status (pending, accepted, questioned),
              comment (the parent's on a new note, the class teacher's on a decision), files_added (true: a
              parent attached files to the note after writing it)
  lesson_changed: lesson_id, class_id, subject, date, starts_at, ends_at, room, teacher, change (cover,
              cover_removed, cancelled, restored, moved, room), cancelled, note
  final_mark: student_id, subject_id, subject, term_id (null for a year mark), year_id, period, final,
              previous (null when first set)
  moderation: action (mute, unmute, delete, report_dismissed, report_upheld), channel, actor_id, actor, reason,
              message_id, until: a moderator acted on you in a chat, or decided a report of yours
              (services/chat_moderation.py, services/chat_reports.py)
  mention:    channel, message_id, sender_id, sender, text: a chat message named you (`mentions` of its send)
  homework_submitted: submission_id, lesson_id, student_id, student_name, subject, date, late: a student handed
              in homework (to the lesson's teacher and the student's parents; services/diary/handin.py)
  homework_returned: submission_id, lesson_id, student_id, subject, date, comment: the teacher returned it for
              rework (to the student and their parents; a grade goes out as a `grade` notification)
`about_user_id` is the student the event concerns (for parents: which child), null for news/messages.

Journal events (live only, never stored, on user:{id} of each teacher of the class in the subject, the class
teacher and the user who made the change):
  journal    class_id, subject_id, what (grade, attendance, term_mark, lesson), lesson_id (or null): a grade,
             an attendance mark, a term mark or a lesson of this class+subject changed. No values: a page that
             shows the journal re-reads it over REST, with the reader's own rights. One missed while offline is
             not replayed: re-read what is shown after a reconnect.

Control events (never stored, never sent to clients as they are):
  membership.changed on class:{id}  who belongs to the class chat changed (unenrolment, a parent unlinked, a
                                    teacher unassigned, the school's parents setting, the class deleted): every
                                    node re-reads the members and unsubscribes sockets of people who left. The
                                    same on parents:{id} and class-announcements:{id} (published with the
                                    class's), on grade-announcements:{school}:{grade} (any class of that
                                    parallel: edutrack/uow.py reads which after the commit), on staff:{id}
                                    and announcements:{id} (an account's role, school or activity changed)
                                    and on group:{id} (its members changed).
  moderation.changed on a chat      its mutes or slow mode changed: every node drops what it cached of them.
  access.revoked on _nodes          the user's access tokens issued until `before` are refused from now on
                                    (deactivation, a new role or school, a password change, "log out
                                    everywhere"); every node records the cut-off and closes the user's
                                    sockets: 4001 when `relogin` (disabled, logged out everywhere, password
                                    reset), else 4002 (refresh the token, reconnect). With `session`
                                    instead of `before`: only that login session's tokens (logout, reuse of
                                    a rotated refresh token), sockets 4001.
`_nodes` is the one channel every node's hub subscribes at start, whatever its sockets need; clients cannot
subscribe it (no such channel kind).

Presence: while a user has at least one open socket on any node, Redis key
f"{namespace}:presence:user:{id}" exists (refreshed with a TTL by the gateway).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

from redis.exceptions import RedisError

from edutrack.context import AppContext
from edutrack.db.models import Notification
from edutrack.db.notify import LIVE
from edutrack.live_shards import publish_in_order
from edutrack.redis_cluster import as_cluster, is_cluster

log = logging.getLogger(__name__)

NOTIFICATION_KINDS = ("grade", "grade_changed", "grade_deleted", "homework", "attendance", "news", "message",
                      "absence_note", "lesson_changed", "final_mark", "reminder", "moderation", "mention",
                      "homework_submitted", "homework_returned", "ack_request", "chat_message")


def redis_channel(namespace: str, channel: str) -> str:
    return f"{namespace}:ev:{channel}"


def presence_key(namespace: str, user_id: int) -> str:
    return f"{namespace}:presence:user:{user_id}"


def notification_event(row: Notification) -> dict[str, Any]:
    return {
        "type": "notification",
        "channel": f"user:{row.user_id}",
        "id": row.id,
        "kind": row.kind,
        "about_user_id": row.about_user_id,
        "payload": row.payload,
        "created_at": row.created_at.isoformat() if row.created_at else None,
        "read": row.read_at is not None,
    }


async def publish(ctx: AppContext, channel: str, event: dict[str, Any], *, held: bool = True) -> None:
    await publish_many(ctx, [(channel, event)], held=held)


async def publish_many(ctx: AppContext, items: Iterable[tuple[str, dict[str, Any]]], *, held: bool = True) -> None:
    """Publish (channel, event) pairs in this order, in one Redis round trip (on a cluster: one per master, at the
    same time, live_shards.py). Call only after the commit. If Redis does not take them, they are published again
    once it does (`held`, live_retry.py), and meanwhile the newer events of their channels wait behind them (and
    a publish waits for the one before it on its channels while that one still waits for Redis); pass held=False
    for an event that means nothing late (typing, presence): it waits for nothing."""
    batch = [(redis_channel(ctx.settings.namespace, channel), json.dumps(event, ensure_ascii=False, default=str))
             for channel, event in items]
    if not batch:
        return
    if not held:
        await _publish_now(ctx, batch, held=False)
        return
    waiting = ctx.held_publishes
    async with waiting.in_order(batch):
        batch, behind = waiting.split(batch)
        if behind:
            waiting.hold(behind, lambda again: _resend(ctx, again))
        if batch:
            await _publish_now(ctx, batch, held=True)


async def _publish_now(ctx: AppContext, batch: list[tuple[str, str]], *, held: bool) -> None:
    """Publish a batch that waits for nothing; what Redis does not take is held when `held`."""
    waiting = ctx.held_publishes
    try:
        if is_cluster(ctx.redis):
            unsent = [batch[i] for i in sorted(await ctx.publish_lanes.send(as_cluster(ctx.redis), batch))]
        else:
            await _send(ctx, batch)
            unsent = []
            waiting.nudge()  # the one Redis answers again: what it holds need not wait out its pause
    except (RedisError, OSError) as exc:
        log.warning("live publish failed", extra={"count": len(batch), "held": held, "error": str(exc)})
        unsent = batch
    if unsent and held:
        waiting.hold(unsent, lambda again: _resend(ctx, again))


async def _send(ctx: AppContext, batch: list[tuple[str, str]]) -> None:
    """One Redis: the batch in one pipeline, in its order."""
    await publish_in_order(ctx.redis, batch, sharded=False)


async def _resend(ctx: AppContext, batch: list[tuple[str, str]]) -> set[int]:
    """A retry of held events (live_retry.py): the positions not published. On a cluster it tries failed masters
    too: that is how they are found to take writes again."""
    if is_cluster(ctx.redis):
        return await ctx.publish_lanes.send(as_cluster(ctx.redis), batch, probe=True)
    await _send(ctx, batch)
    return set()


JOURNAL_CHANGED = "journal"
JOURNAL_WHATS = ("grade", "attendance", "term_mark", "lesson")


def journal_changed_event(user_id: int, *, class_id: int, subject_id: int, what: str,
                          lesson_id: int | None) -> tuple[str, dict[str, Any]]:
    assert what in JOURNAL_WHATS, what
    channel = f"user:{user_id}"
    return channel, {"type": JOURNAL_CHANGED, "channel": channel, "class_id": class_id, "subject_id": subject_id,
                     "what": what, "lesson_id": lesson_id}


REPORTS_CHANGED = "reports"
REPORTS_WHATS = ("reported", "resolved")


def reports_changed_event(user_id: int, *, chat: str, message_id: int, what: str) -> tuple[str, dict[str, Any]]:
    """On a moderator's feed: a message of a chat they moderate was reported, or its reports were dealt with."""
    assert what in REPORTS_WHATS, what
    channel = f"user:{user_id}"
    return channel, {"type": REPORTS_CHANGED, "channel": channel, "chat": chat, "message_id": message_id,
                     "what": what}


MEMBERSHIP_CHANGED = "membership.changed"


CLASS_ROOMS = ("class", "parents", "class-announcements")  # the channels whose members a class decides


def membership_changed_events(class_ids: Iterable[int]) -> list[tuple[str, dict[str, Any]]]:
    """Tell every node that these classes' rooms (its chat, its parents' room, its announcements) have other
    members now. If it is lost (Redis down), a node re-reads them when its Redis subscription comes back."""
    return channel_membership_events(f"{kind}:{c}" for c in sorted(set(class_ids)) for kind in CLASS_ROOMS)


MODERATION_CHANGED = "moderation.changed"


def grade_board(school_id: int, grade: int) -> str:
    """The announcements channel of a parallel: every class of one grade of a school."""
    return f"grade-announcements:{school_id}:{grade}"


def channel_moderation_events(channels: Iterable[str]) -> list[tuple[str, dict[str, Any]]]:
    """Tell every node that these chats' mutes or slow mode changed: their cached state is dropped."""
    return [(name, {"type": MODERATION_CHANGED, "channel": name}) for name in dict.fromkeys(channels)]


def channel_membership_events(channels: Iterable[str]) -> list[tuple[str, dict[str, Any]]]:
    """The same for named channels (a school's staff room and announcements, a group)."""
    return [(name, {"type": MEMBERSHIP_CHANGED, "channel": name}) for name in dict.fromkeys(channels)]


NODES_CHANNEL = "_nodes"
ACCESS_REVOKED = "access.revoked"


def access_revoked_event(user_id: int, before: float, *, relogin: bool) -> dict[str, Any]:
    """Tell every node to refuse the user's access tokens issued until `before` and to close the user's sockets.
    Published after the commit that wrote users.access_valid_after: a node that misses this reads the column when
    its subscription comes back and at its next poll (services/token_cutoffs.py)."""
    return {"type": ACCESS_REVOKED, "user_id": user_id, "before": before, "relogin": relogin}


def session_ended_event(user_id: int, session_id: str) -> dict[str, Any]:
    """Tell every node to refuse the access tokens of one login session (logout, refresh-token reuse) and to close
    its sockets. Published after the commit that revoked its refresh-token family; a node that misses this reads the
    family's revoked_at at its next poll (services/token_cutoffs.py)."""
    return {"type": ACCESS_REVOKED, "user_id": user_id, "session": session_id, "relogin": True}


def is_live(row: Notification) -> bool:
    """Whether the live channel consumes this row (its recipient's preferences when it was written,
    edutrack/db/notify.py). A row built without its stamp (None) is live, as every row was before."""
    return row.channels is None or bool(row.channels & LIVE)


async def publish_notifications(ctx: AppContext, rows: Iterable[Notification]) -> None:
    """Push committed notification rows to their users' feeds. Call only after the commit."""
    await publish_many(ctx, [(f"user:{row.user_id}", notification_event(row)) for row in rows if is_live(row)])
