"""Acknowledgement of news ("ознакомлен"): the author asks parents, students and/or staff to confirm they read
an item; each person counts once whether they confirm on the page, over /ws or by the signed link in the email;
the author sees per class who has and has not (parents per child: any one parent counts unless each must) and
gets each confirmation live; a reminder goes only to those who have not, at most once per ACK_REMIND_INTERVAL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from edutrack import errors
from edutrack.context import AppContext
from edutrack.db.diary import News
from edutrack.db.models import Role
from edutrack.i18n import _
from edutrack.queries import news as news_q
from edutrack.queries import news_acks as q
from edutrack.security.tokens import Principal
from edutrack.services.ack_table import AckState, ack_group, ack_state, ack_table
from edutrack.services.diary.notify import notify_users
from edutrack.uow import unit_of_work

ACKS_PER_HOUR = 600
ACK_EVENT = "news.ack"


async def _readable_news(session: AsyncSession, who: Principal, news_id: int) -> News:
    news = await news_q.news_by_id(session, news_id)
    if news is None or not await news_q.readable(session, who, news_id):
        raise errors.NotFound(_("No such news"))
    if ack_group(who.role) not in news.ack_roles:
        raise errors.Conflict(_("This news item does not ask you to confirm it."), code="no_ack_asked")
    return news


async def acknowledge(ctx: AppContext, who: Principal, news_id: int, via: str) -> dict[str, Any]:
    count, ttl = await ctx.limiter.hit(f"news:ack:{who.user_id}", 3600)
    if count > ACKS_PER_HOUR:
        raise errors.TooManyRequests(ttl)
    async with unit_of_work(ctx) as uow:
        news = await _readable_news(uow.session, who, news_id)
        at = await q.insert_ack(uow.session, news_id, who.user_id, via)
        duplicate = at is None
        if at is None:
            at = await q.ack_of(uow.session, news_id, who.user_id)
        else:
            channel = f"user:{news.author_id}"
            uow.publish(channel, {"type": ACK_EVENT, "channel": channel, "news_id": news_id,
                                  "user_id": who.user_id, "at": at.isoformat()})
    return {"news_id": news_id, "acknowledged_at": at, "duplicate": duplicate}


async def _state(session: AsyncSession, news: News) -> AckState:
    recipients = await news_q.audience_user_ids(session, news)
    return await ack_state(session, recipients, news.ack_roles, news.ack_each_parent, await q.acks(session, news.id))


async def _managed(session: AsyncSession, who: Principal, news_id: int, *, for_update: bool = False) -> News:
    news = await news_q.news_by_id(session, news_id, for_update=for_update)
    if news is None:
        raise errors.NotFound(_("No such news"))
    manages = who.is_superuser or (who.role == Role.ADMIN.value and who.school_id == news.school_id)
    if news.author_id != who.user_id and not manages:
        raise errors.NotFound(_("No such news"))
    return news


async def overview(ctx: AppContext, who: Principal, news_id: int) -> dict[str, Any]:
    """Per class, each student (if students must confirm) and their parents (if parents must), and the staff."""
    async with ctx.reads() as session:
        news = await _managed(session, who, news_id)
        table = await ack_table(session, await _state(session, news), news.school_id)
    return {"news_id": news.id, "ack": list(news.ack_roles), "each_parent": news.ack_each_parent, **table,
            "reminded_at": news.ack_reminded_at}


async def remind(ctx: AppContext, who: Principal, news_id: int) -> dict[str, Any]:
    """A `reminder` notification to each person who still owes a confirmation (a parent whose family has
    confirmed does not, unless each parent must)."""
    now = datetime.now(UTC)
    interval = timedelta(seconds=ctx.settings.ack_remind_interval)
    async with unit_of_work(ctx) as uow:
        news = await _managed(uow.session, who, news_id, for_update=True)
        if not news.ack_roles or news.status != "published":
            raise errors.Conflict(_("This news item does not ask for confirmation."), code="no_ack_asked")
        if news.ack_reminded_at is not None and news.ack_reminded_at > now - interval:
            wait = int((news.ack_reminded_at + interval - now).total_seconds()) + 1
            raise errors.TooManyRequests(wait, _("A reminder was sent recently; try again later."))
        state = await _state(uow.session, news)
        owing = state.owing()
        payload = {"news_id": news.id, "title": news.title, "summary": news.body[:200], "ack": True}
        rows = await notify_users(uow.session, "reminder", owing, payload)
        await q.mark_reminded(uow.session, news.id, now)
        uow.publish_notifications(rows)
    return {"news_id": news_id, "reminded": len(owing), "reminded_at": now}
