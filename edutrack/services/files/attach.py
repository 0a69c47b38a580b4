"""Files of news items and of lessons' homework: attached by whoever may change the item, listed to whoever may
read it (the same readers who may download them: services/files/store.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from edutrack import errors
from edutrack.context import AppContext
from edutrack.i18n import _
from edutrack.queries import files as q
from edutrack.queries import news as news_q
from edutrack.security.tokens import Principal
from edutrack.services.diary import permissions
from edutrack.services.diary.lessons import visible_lesson
from edutrack.services.files.store import claim, file_view
from edutrack.uow import unit_of_work


def _no_news() -> errors.ApiError:
    return errors.NotFound(_("No such news"))


async def _news_school(ctx: AppContext, who: Principal, news_id: int, *, manage: bool) -> None:
    async with ctx.reads() as session:
        news = await news_q.news_by_id(session, news_id)
        if news is None:
            raise _no_news()
        admin = who.is_superuser or (who.role == "admin" and who.school_id == news.school_id)
        if admin:
            return
        readable = await news_q.readable(session, who, news_id)
    if not readable:
        raise _no_news()
    if manage:
        raise errors.Forbidden(_("Only the school's administrators can change news"))


async def news_files(ctx: AppContext, who: Principal, news_id: int) -> list[dict[str, Any]]:
    await _news_school(ctx, who, news_id, manage=False)
    async with ctx.reads() as session:
        return [file_view(f) for f in await q.attached_to(session, news_id=news_id)]


async def attach_to_news(ctx: AppContext, who: Principal, news_id: int,
                         file_ids: Sequence[int]) -> list[dict[str, Any]]:
    await _news_school(ctx, who, news_id, manage=True)
    async with unit_of_work(ctx) as uow:
        if await news_q.news_by_id(uow.session, news_id, for_update=True) is None:
            raise _no_news()
        await claim(uow.session, who, file_ids)
        await q.attach(uow.session, file_ids, news_id=news_id)
        return [file_view(f) for f in await q.attached_to(uow.session, news_id=news_id)]


async def lesson_files(ctx: AppContext, who: Principal, lesson_id: int) -> list[dict[str, Any]]:
    async with ctx.reads() as session:
        await visible_lesson(session, who, lesson_id)
        return [file_view(f) for f in await q.attached_to(session, lesson_id=lesson_id)]


async def attach_to_lesson(ctx: AppContext, who: Principal, lesson_id: int,
                           file_ids: Sequence[int]) -> list[dict[str, Any]]:
    """Homework material: the lesson's teacher (or cover), a teacher of its class and subject, an admin."""
    async with unit_of_work(ctx) as uow:
        lesson = await visible_lesson(uow.session, who, lesson_id, for_update=True)
        await permissions.require_teaches(uow.session, who, lesson.class_id, lesson.subject_id, lesson)
        await claim(uow.session, who, file_ids)
        await q.attach(uow.session, file_ids, lesson_id=lesson_id)
        return [file_view(f) for f in await q.attached_to(uow.session, lesson_id=lesson_id)]
