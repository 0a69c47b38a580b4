"""The moderators' report inbox: reported messages of every chat one moderates, across chats, and what the
moderator decides about each: dismiss it, delete the message with a reason, or mute its author for a time.

Who sees which reports is `chat_moderation.governs` turned into a list of chats: a class teacher the rooms of the
classes they lead (class:, parents:, class-announcements:) and the groups they created; an admin every room of
their school; a superuser every chat. Students and parents have no inbox (403). A decision closes every open report
of that message, is written to the moderation log (the delete or mute itself, and one `report_dismissed` or
`report_upheld` row per reporter) and shown to each person concerned: the author through the delete or mute
notification, every reporter through a `moderation` notification saying what became of their report.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from edutrack import errors
from edutrack.context import AppContext
from edutrack.db.models import Role
from edutrack.i18n import _
from edutrack.queries import chat as q
from edutrack.queries import chat_moderation as mq
from edutrack.queries import chat_rooms as rq
from edutrack.queries import membership as m
from edutrack.security.tokens import Principal
from edutrack.services import chat_moderation as moderation
from edutrack.services.chat_channels import STAFF, parse_channel
from edutrack.uow import unit_of_work

OUTCOMES = ("dismiss", "delete", "mute")
MAX_PAGE = 200
GRADES = range(1, 12)


def _require_staff(who: Principal) -> None:
    if not who.is_superuser and who.role not in STAFF:
        raise errors.Forbidden(_("Only the class teacher and the school's administrators moderate this chat"),
                               code="not_a_moderator")


async def governed_channels(session: AsyncSession, who: Principal) -> list[str] | None:
    """The chats whose reports the user sees (None: every chat, for a superuser)."""
    if who.is_superuser:
        return None
    if who.role == Role.ADMIN.value:
        if who.school_id is None:
            return []
        school = who.school_id
        classes = sorted(await m.class_ids_of_school(session, school))
        groups = await rq.group_ids_of_school(session, school)
        rooms = [f"staff:{school}", f"announcements:{school}", *(f"grade-announcements:{school}:{g}" for g in GRADES)]
    else:
        classes = await mq.led_class_ids(session, who.user_id)
        groups = await mq.groups_created_by(session, who.user_id)
        rooms = []
    rooms += [f"{kind}:{cid}" for cid in classes for kind in ("class", "parents", "class-announcements")]
    return rooms + [f"group:{gid}" for gid in groups]


async def inbox(ctx: AppContext, who: Principal, *, open_only: bool) -> list[dict[str, Any]]:
    _require_staff(who)
    async with ctx.reads() as session:
        channels = await governed_channels(session, who)
        rows = [] if channels == [] else await mq.inbox(session, channels, open_only=open_only, limit=MAX_PAGE)
    return [dict(r._mapping) for r in rows]


async def decide(ctx: AppContext, who: Principal, report_id: int, outcome: str, reason: str | None,
                 minutes: int | None) -> dict[str, Any]:
    """Act on a report; every open report of the same message closes with it."""
    _require_staff(who)
    async with unit_of_work(ctx) as uow:
        session = uow.session
        report = await mq.report_by_id(session, report_id)
        channel = None if report is None else parse_channel(report.channel)
        # Others' reports are not admitted to exist.
        if report is None or channel is None or not await moderation.governs(session, who, channel):
            raise errors.NotFound(_("No such report"))
        if report.resolved_at is not None:
            raise errors.Conflict(_("This report was already dealt with"), code="already_resolved")
        message = await q.message_by_id(session, channel.name, report.message_id, for_update=True)
        if outcome == "delete" and message is not None and message.deleted_at is None:
            await moderation.delete_in(uow, who, channel, message, reason)
        elif outcome == "mute":
            if message is None:
                raise errors.NotFound(_("No such message"))
            if minutes is None:
                raise errors.ValidationFailed(details={"minutes": [_("Missing data for required field.")]})
            await moderation.mute_in(uow, who, channel, message.sender_id, minutes, reason)
        closed = await mq.resolve_message_reports(session, channel.name, report.message_id, who.user_id, outcome)
        action = "report_dismissed" if outcome == "dismiss" else "report_upheld"
        for _id, reporter in closed:
            await moderation.record(uow, who, channel, action, target=reporter, message_id=report.message_id,
                                    reason=reason)
        await moderation.reports_changed(uow, channel, report.message_id, "resolved")
    return {"outcome": outcome, "channel": channel.name, "message_id": report.message_id,
            "resolved": [i for i, _r in closed]}
