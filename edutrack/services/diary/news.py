"""School news: admins write for the whole school, one class, or one role; drafts, scheduled and
published items; readers see only what is addressed to them; publication notifies the audience.

Scheduled items are published by `publish_due`, run every few seconds by the scheduled-news job of each
`edutrack relay` (edutrack/digest/news_publisher.py). One relay at a time does the work (an advisory lock held
for the transaction; the others skip the tick), and the claim is one UPDATE ... RETURNING over rows locked with
SKIP LOCKED, so each item is published, and its notifications written, exactly once.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from edutrack import errors
from edutrack.context import AppContext
from edutrack.db.diary import News
from edutrack.db.models import Notification, Role
from edutrack.i18n import _
from edutrack.queries import classes as class_q
from edutrack.queries import grades as grades_q
from edutrack.queries import news as q
from edutrack.queries import news_acks as ack_q
from edutrack.queries import schools as school_q
from edutrack.security.tokens import Principal
from edutrack.services.ack_table import ack_group
from edutrack.services.diary.classes import target_school
from edutrack.services.diary.notify import notify_users
from edutrack.uow import unit_of_work

log = logging.getLogger(__name__)

SUMMARY_CHARS = 200


def news_view(row: Row[Any]) -> dict[str, Any]:
    n: News = row[0]
    return {
        "id": n.id, "school_id": n.school_id, "author_id": n.author_id, "author_name": row.author_name,
        "title": n.title, "body": n.body, "audience": n.audience, "class_id": n.class_id,
        "class_name": row.class_name, "role": n.role, "status": n.status,
        "publish_at": n.publish_at.isoformat() if n.publish_at else None,
        "published_at": n.published_at.isoformat() if n.published_at else None, "public": n.is_public,
        "urgent": n.urgent, "ack": list(n.ack_roles), "ack_each_parent": n.ack_each_parent,
        "created_at": n.created_at.isoformat(), "updated_at": n.updated_at.isoformat(),
    }


def _summary(body: str) -> str:
    flat = " ".join(body.split())
    return flat if len(flat) <= SUMMARY_CHARS else flat[: SUMMARY_CHARS - 1].rstrip() + "…"


async def _notify_audience(session: AsyncSession, news: News) -> list[Notification]:
    recipients = await q.audience_user_ids(session, news)
    payload: dict[str, Any] = {"news_id": news.id, "title": news.title, "summary": _summary(news.body)}
    if news.urgent:
        payload["urgent"] = True  # the email consumers let it through quiet hours (digest/scheduler.py)
    if not news.ack_roles:
        return await notify_users(session, "news", recipients, payload)
    roles = await ack_q.roles_of(session, recipients)
    asked = [u for u in recipients if ack_group(roles[u]) in news.ack_roles]
    others = [u for u in recipients if ack_group(roles[u]) not in news.ack_roles]
    return [*await notify_users(session, "ack_request", asked, {**payload, "ack": True}),
            *await notify_users(session, "news", others, payload)]


async def _check_audience(session: AsyncSession, school_id: int, fields: dict[str, Any]) -> None:
    audience = fields["audience"]
    if audience == "class":
        class_id = fields.get("class_id")
        cls = await class_q.class_by_id(session, class_id) if class_id is not None else None
        if cls is None or cls.school_id != school_id:
            raise errors.ValidationFailed(_("Class news need a class of this school"),
                                          details={"class_id": [_("A class of this school is required.")]})
        fields["role"] = None
    elif audience == "role":
        if fields.get("role") is None:
            raise errors.ValidationFailed(_("Role news need a role"), details={"role": [_("Required.")]})
        fields["class_id"] = None
    else:
        fields["class_id"] = None
        fields["role"] = None
    if fields.get("is_public") and audience != "school":
        raise errors.ValidationFailed(_("Only news for the whole school can be public"),
                                      details={"public": [_("Only with the audience school.")]})


async def _school_time(session: AsyncSession, school_id: int, value: datetime | None) -> datetime | None:
    """A publication time without an offset is the school's wall-clock time, as lesson times are."""
    if value is None or value.tzinfo is not None:
        return value
    school = await school_q.school_by_id(session, school_id)
    return value.replace(tzinfo=ZoneInfo(school.timezone if school is not None else "UTC"))


def _apply_status(news_fields: dict[str, Any], status: str, publish_at: datetime | None,
                  now: datetime) -> bool:
    """Set status/publish_at/published_at; True when the item becomes published now."""
    if status == "scheduled":
        if publish_at is None:
            raise errors.ValidationFailed(_("Scheduled news need publish_at"), details={"publish_at": [_("Required.")]})
        if publish_at <= now:
            raise errors.ValidationFailed(_("publish_at must be in the future"),
                                          details={"publish_at": [_("Must be in the future.")]})
        news_fields.update(status="scheduled", publish_at=publish_at, published_at=None)
        return False
    if status == "published":
        news_fields.update(status="published", publish_at=None, published_at=now)
        return True
    news_fields.update(status="draft", publish_at=None, published_at=None)
    return False


async def create_news(ctx: AppContext, who: Principal, data: dict[str, Any]) -> dict[str, Any]:
    school_id = target_school(who, data.get("school_id"))
    now = datetime.now(UTC)
    fields: dict[str, Any] = {
        "school_id": school_id, "author_id": who.user_id, "title": data["title"].strip(),
        "body": data["body"].strip(), "audience": data["audience"], "class_id": data.get("class_id"),
        "role": data.get("role"), "is_public": data.get("public", False), "urgent": data.get("urgent", False),
        "ack_roles": sorted(set(data.get("ack", []))), "ack_each_parent": data.get("ack_each_parent", False),
    }
    if fields["urgent"]:
        await _admit_urgent(ctx, school_id)
    notes: list[Notification] = []
    async with unit_of_work(ctx) as uow:
        session = uow.session
        publish_at = await _school_time(session, school_id, data.get("publish_at"))
        publish_now = _apply_status(fields, data.get("status", "draft"), publish_at, now)
        await _check_audience(session, school_id, fields)
        news = await q.insert_news(session, fields)
        if news.urgent:
            await _audit_urgent(session, who, news)
        if publish_now:
            notes = await _notify_audience(session, news)
        row = await q.news_row(session, news.id)
        assert row is not None
        view = news_view(row)
        uow.publish_notifications(notes)
    return view


async def _admit_urgent(ctx: AppContext, school_id: int) -> None:
    """Urgent news wake people in their quiet hours: a few a day per school."""
    count, ttl = await ctx.limiter.hit(f"news:urgent:{school_id}", 86400)
    if count > ctx.settings.urgent_news_per_day:
        raise errors.TooManyRequests(ttl, _("Too many urgent news today; publish it as ordinary news."))


async def _audit_urgent(session: AsyncSession, who: Principal, news: News) -> None:
    await grades_q.insert_audit(session, [{
        "school_id": news.school_id, "entity": "news", "entity_id": news.id, "action": "urgent",
        "actor_id": who.user_id, "old": None, "new": {"title": news.title, "audience": news.audience},
    }])


async def _change_urgency(ctx: AppContext, session: AsyncSession, who: Principal, news: News,
                          urgent: bool) -> None:
    if news.status == "published":
        raise errors.Conflict(_("Published news cannot become urgent or stop being urgent"), code="already_published")
    if urgent:
        await _admit_urgent(ctx, news.school_id)
        news.urgent = True
        await _audit_urgent(session, who, news)


async def _managed(session: AsyncSession, who: Principal, news_id: int) -> News:
    news = await q.news_by_id(session, news_id, for_update=True)
    if news is None:
        raise errors.NotFound(_("No such news"))
    if not (who.is_superuser or (who.role == Role.ADMIN.value and who.school_id == news.school_id)):
        if await q.readable(session, who, news_id):
            raise errors.Forbidden(_("Only the school's administrators can change news"))
        raise errors.NotFound(_("No such news"))
    return news


async def update_news(ctx: AppContext, who: Principal, news_id: int, changes: dict[str, Any]) -> dict[str, Any]:
    now = datetime.now(UTC)
    notes: list[Notification] = []
    async with unit_of_work(ctx) as uow:
        session = uow.session
        news = await _managed(session, who, news_id)
        fields: dict[str, Any] = {
            "title": changes.get("title", news.title).strip(), "body": changes.get("body", news.body).strip(),
            "audience": changes.get("audience", news.audience),
            "class_id": changes.get("class_id", news.class_id), "role": changes.get("role", news.role),
            "is_public": changes.get("public", news.is_public), "urgent": changes.get("urgent", news.urgent),
            "ack_roles": sorted(set(changes.get("ack", news.ack_roles))),
            "ack_each_parent": changes.get("ack_each_parent", news.ack_each_parent),
        }
        await _check_audience(session, news.school_id, fields)
        if fields["urgent"] != news.urgent:
            await _change_urgency(ctx, session, who, news, fields["urgent"])
        publish_now = False
        if "status" in changes or "publish_at" in changes:
            if news.status == "published":
                raise errors.Conflict(_("This news item is already published; edit its text or delete it"),
                                      code="already_published")
            status = changes.get("status", news.status)
            if status == "draft" and changes.get("publish_at") is not None:
                status = "scheduled"
            publish_at = await _school_time(session, news.school_id, changes.get("publish_at", news.publish_at))
            publish_now = _apply_status(fields, status, publish_at, now)
        elif news.status == "published" and any(k in changes for k in ("audience", "class_id", "role")):
            raise errors.Conflict(_("The audience of published news cannot change; publish a new item"),
                                  code="already_published")
        for key, value in fields.items():
            setattr(news, key, value)
        await session.flush()
        if publish_now:
            notes = await _notify_audience(session, news)
        row = await q.news_row(session, news.id)
        assert row is not None
        view = news_view(row)
        uow.publish_notifications(notes)
    return view


async def publish_news(ctx: AppContext, who: Principal, news_id: int) -> dict[str, Any]:
    return await update_news(ctx, who, news_id, {"status": "published"})


async def delete_news(ctx: AppContext, who: Principal, news_id: int) -> None:
    async with unit_of_work(ctx) as uow:
        session = uow.session
        await _managed(session, who, news_id)
        await q.delete_news(session, news_id)


async def get_news(ctx: AppContext, who: Principal, news_id: int) -> dict[str, Any]:
    async with ctx.reads() as session:
        row = await q.news_row(session, news_id)
        if row is None:
            raise errors.NotFound(_("No such news"))
        news: News = row[0]
        manages = who.is_superuser or (who.role == Role.ADMIN.value and who.school_id == news.school_id)
        if not manages and not await q.readable(session, who, news_id):
            raise errors.NotFound(_("No such news"))
    return news_view(row)


async def list_news(ctx: AppContext, who: Principal, *, status: str | None, audience: str | None,
                    class_id: int | None, q_text: str | None, limit: int, offset: int) -> dict[str, Any]:
    manage_school: int | None = None
    if not who.is_superuser and who.role == Role.ADMIN.value:
        if who.school_id is None:
            return {"items": [], "total": 0, "limit": limit, "offset": offset}
        manage_school = who.school_id
    elif not who.is_superuser and status not in (None, "published"):
        raise errors.Forbidden(_("Only administrators see drafts and scheduled news"))
    async with ctx.reads() as session:
        rows, total = await q.list_news(session, who, manage_school_id=manage_school, everything=who.is_superuser,
                                        status=status, audience=audience, class_id=class_id, q=q_text,
                                        limit=limit, offset=offset)
    return {"items": [news_view(r) for r in rows], "total": total, "limit": limit, "offset": offset}


async def publish_due(ctx: AppContext) -> int:
    """Publish every scheduled item whose time has come; returns how many. Safe to run on many nodes."""
    notes: list[Notification] = []
    async with unit_of_work(ctx) as uow:
        session = uow.session
        if not await q.try_lock_publisher(session):
            return 0  # another node is publishing right now
        due = await q.claim_due(session)
        for news in due:  # a handful per tick; each audience is one query
            notes.extend(await _notify_audience(session, news))
        uow.publish_notifications(notes)
    if due:
        log.info("scheduled news published", extra={"count": len(due), "ids": [n.id for n in due]})
    return len(due)

