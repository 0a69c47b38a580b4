"""Urgent news pass quiet hours: only administrators mark them, a few a day per school, each audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select, update

from edutrack.context import AppContext
from edutrack.db.diary import AuditLog, News
from edutrack.db.models import Notification
from edutrack.db.notify import NotificationSettings
from edutrack.settings import Settings
from tests.email.notify_helpers import outbox_of, scheduler
from tests.support.diary import auth, body_of
from tests.support.school import build_school

NEWS = "/api/v1/news"


def item(title: str, **extra: object) -> dict[str, object]:
    return {"title": title, "body": "Текст.", "audience": "role", "role": "parent", "status": "published", **extra}


async def test_urgent_news_pass_quiet_hours_and_ordinary_news_wait(
    client: TestClient, ctx: AppContext, mail_settings: Settings,
) -> None:
    school = await build_school(ctx, classes=1, students_per_class=1)
    admin = auth(ctx, school.admin)
    parent = school.parents(school.classes[0].student_ids[0])[0]
    async with ctx.sessions.begin() as session:
        session.add(NotificationSettings(user_id=parent.id, quiet_start=datetime.strptime("00:00", "%H:%M").time(),
                                         quiet_end=datetime.strptime("23:59", "%H:%M").time()))
    noon = datetime.now(UTC).replace(hour=9, minute=0)  # 12:00 in Moscow: quiet all day
    run = scheduler(ctx, mail_settings, lambda: noon)
    calm = await body_of(await client.post(NEWS, headers=admin, json=item("Обычная")), 201)
    assert calm["urgent"] is False
    await age_notifications(ctx)
    await run.run_once()
    assert await emailed_titles(ctx, parent.id) == set()
    alarm = await body_of(await client.post(NEWS, headers=admin, json=item("Школа закрыта", urgent=True)), 201)
    assert alarm["urgent"] is True
    await age_notifications(ctx)
    await run.run_once()
    # The urgent row lets the user's due email through: what waited goes out with it, in one email.
    assert await emailed_titles(ctx, parent.id) == {"Обычная", "Школа закрыта"}
    assert len(await outbox_of(ctx, parent.id)) == 1


async def age_notifications(ctx: AppContext) -> None:
    async with ctx.sessions.begin() as session:
        await session.execute(update(Notification).values(created_at=datetime.now(UTC) - timedelta(hours=1)))


async def emailed_titles(ctx: AppContext, user_id: int) -> set[str]:
    async with ctx.sessions() as session:
        return set((await session.execute(
            select(Notification.payload["title"].as_string()).where(Notification.user_id == user_id,
                                                                     Notification.emailed_at.is_not(None)))
        ).scalars())


async def test_urgent_is_rate_limited_audited_and_only_before_publication(
    client: TestClient, ctx: AppContext,
) -> None:
    school = await build_school(ctx, classes=1, students_per_class=1)
    admin = auth(ctx, school.admin)
    limit = ctx.settings.urgent_news_per_day
    for n in range(limit):
        await body_of(await client.post(NEWS, headers=admin, json=item(f"Срочно {n}", urgent=True)), 201)
    refused = await body_of(await client.post(NEWS, headers=admin, json=item("Ещё одна", urgent=True)), 429)
    assert refused["error"]["code"] == "rate_limited"
    async with ctx.sessions() as session:
        stored = (await session.execute(select(func.count()).select_from(News))).scalar_one()
        audited = (await session.execute(select(func.count()).select_from(AuditLog).where(
            AuditLog.entity == "news", AuditLog.action == "urgent", AuditLog.actor_id == school.admin.id))
        ).scalar_one()
    assert stored == limit
    assert audited == limit
    plain = await body_of(await client.post(NEWS, headers=admin, json=item("Обычная")), 201)
    late = await body_of(await client.patch(f"{NEWS}/{plain['id']}", headers=admin, json={"urgent": True}), 409)
    assert late["error"]["code"] == "already_published"
    teacher = next(u for u in school.users.values() if u.role == "teacher")
    await body_of(await client.post(NEWS, headers=auth(ctx, teacher), json=item("Учитель", urgent=True)), 403)
