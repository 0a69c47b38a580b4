"""GET /api/v1/admin/outbox and POST /api/v1/admin/outbox/{id}/retry, and the dev mail catcher."""

from __future__ import annotations

import asyncio
import email
import email.policy
from pathlib import Path

from aiohttp.test_utils import TestClient
from sqlalchemy import update

from edutrack.context import AppContext
from edutrack.db.diary import School
from edutrack.db.models import EmailOutbox
from edutrack.mailcatcher import mail_catcher_worker
from edutrack.notifier.worker import notifier_worker
from edutrack.outbox.relay import relay_worker
from edutrack.queries import outbox as q
from edutrack.settings import Settings
from tests.email.conftest import SmtpServer, Workers, wait_for
from tests.email.helpers import row
from tests.support.factories import Factory
from tests.support.services import free_port


async def school(ctx: AppContext, name: str) -> int:
    async with ctx.sessions.begin() as session:
        found = School(name=name)
        session.add(found)
        await session.flush()
        return found.id


async def email_for(ctx: AppContext, user_id: int | None, recipient: str, status: str = "pending") -> int:
    async with ctx.sessions.begin() as session:
        [outbox_id] = await q.insert_many(session, [{
            "recipient": recipient, "subject": "Тема", "body_text": "Текст", "body_html": None, "kind": "test",
            "user_id": user_id}])
        await session.execute(update(EmailOutbox).where(EmailOutbox.id == outbox_id)
                              .values(status=status, attempts=1 if status == "dead" else 0,
                                      last_error="SMTP 550: No such user" if status == "dead" else None))
        return outbox_id


async def test_admins_see_their_schools_rows_superusers_all(
    client: TestClient, ctx: AppContext, factory: Factory,
) -> None:
    s1, s2 = await school(ctx, "Школа №1"), await school(ctx, "Школа №2")
    admin1 = await factory.actor("admin", school_id=s1)
    superuser = await factory.actor("admin", is_superuser=True)
    teacher = await factory.actor("teacher", school_id=s1)
    pupil1 = await factory.user("student", school_id=s1)
    pupil2 = await factory.user("student", school_id=s2)
    mine_dead = await email_for(ctx, pupil1.id, pupil1.email, "dead")
    mine_sent = await email_for(ctx, pupil1.id, pupil1.email, "sent")
    theirs = await email_for(ctx, pupil2.id, pupil2.email, "dead")
    orphan = await email_for(ctx, None, "gone@example.test", "pending")

    resp = await client.get("/api/v1/admin/outbox", headers=admin1.headers)
    body = await resp.json()
    assert resp.status == 200
    assert [r["id"] for r in body["items"]] == [mine_sent, mine_dead]
    assert body["total"] == 2
    assert body["items"][1]["last_error"] == "SMTP 550: No such user"
    assert "body_text" not in body["items"][0]

    resp = await client.get("/api/v1/admin/outbox?status=dead", headers=admin1.headers)
    assert [r["id"] for r in (await resp.json())["items"]] == [mine_dead]

    resp = await client.get("/api/v1/admin/outbox?limit=2&offset=1", headers=superuser.headers)
    body = await resp.json()
    assert body["total"] == 4
    assert [r["id"] for r in body["items"]] == [theirs, mine_sent]
    assert orphan in [r["id"] for r in (await (await client.get(
        "/api/v1/admin/outbox", headers=superuser.headers)).json())["items"]]

    resp = await client.get("/api/v1/admin/outbox", headers=teacher.headers)
    assert resp.status == 403
    assert (await resp.json())["error"]["code"] == "forbidden"
    resp = await client.get("/api/v1/admin/outbox")
    assert resp.status == 401
    for bad in ("status=lost", "limit=0", "limit=abc", "offset=-1", "colour=red"):
        resp = await client.get(f"/api/v1/admin/outbox?{bad}", headers=admin1.headers)
        assert resp.status == 422, bad
        assert "error" in await resp.json()


async def test_retry_of_a_dead_row_sends_it(
    client: TestClient, ctx: AppContext, factory: Factory, smtp: SmtpServer, mail_settings: Settings,
    workers: Workers,
) -> None:
    s1, s2 = await school(ctx, "Школа №1"), await school(ctx, "Школа №2")
    admin1 = await factory.actor("admin", school_id=s1)
    pupil1 = await factory.user("student", school_id=s1)
    pupil2 = await factory.user("student", school_id=s2)
    dead = await email_for(ctx, pupil1.id, pupil1.email, "dead")
    sent = await email_for(ctx, pupil1.id, pupil1.email, "sent")
    theirs = await email_for(ctx, pupil2.id, pupil2.email, "dead")

    assert (await client.post(f"/api/v1/admin/outbox/{theirs}/retry", headers=admin1.headers)).status == 404
    assert (await client.post("/api/v1/admin/outbox/999999/retry", headers=admin1.headers)).status == 404
    assert (await client.post("/api/v1/admin/outbox/abc/retry", headers=admin1.headers)).status == 404
    resp = await client.post(f"/api/v1/admin/outbox/{sent}/retry", headers=admin1.headers)
    assert resp.status == 409
    assert (await resp.json())["error"]["code"] == "not_dead"

    resp = await client.post(f"/api/v1/admin/outbox/{dead}/retry", headers=admin1.headers)
    body = await resp.json()
    assert resp.status == 200, body
    assert body["status"] == "pending"
    assert body["attempts"] == 0

    workers.start(relay_worker, mail_settings)
    workers.start(notifier_worker, mail_settings)

    async def delivered() -> bool:
        return (await row(ctx, dead)).status == "sent"

    await wait_for(delivered)
    assert smtp.handler.outbox_ids() == [dead]
    assert (await row(ctx, theirs)).status == "dead"


async def test_outbox_endpoints_are_documented(client: TestClient) -> None:
    spec = await (await client.get("/openapi.json")).json()
    assert "get" in spec["paths"]["/api/v1/admin/outbox"]
    assert "post" in spec["paths"]["/api/v1/admin/outbox/{outbox_id}/retry"]


async def test_dev_mail_catcher_saves_messages_as_eml(
    ctx: AppContext, mail_settings: Settings, workers: Workers, tmp_path: Path,
) -> None:
    settings = mail_settings.replace(dev_mail_catcher=True, smtp_port=free_port(),
                                     mail_catcher_dir=str(tmp_path / "mail"))
    stop, catcher = workers.start(mail_catcher_worker, settings)
    await asyncio.sleep(0.2)
    workers.start(relay_worker, settings)
    workers.start(notifier_worker, settings)
    outbox_id = await email_for(ctx, None, "newbie@example.test")

    async def saved() -> bool:
        return len(list((tmp_path / "mail").glob("*.eml"))) == 1

    await wait_for(saved)
    [path] = list((tmp_path / "mail").glob("*.eml"))
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert message["To"] == "newbie@example.test"
    assert message["X-EduTrack-Outbox-Id"] == str(outbox_id)
    stop.set()
    await asyncio.wait_for(catcher, 5)


async def test_mail_catcher_idles_when_disabled(mail_settings: Settings) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(mail_catcher_worker(mail_settings.replace(dev_mail_catcher=False), stop))
    await asyncio.sleep(0.1)
    assert not task.done()  # a returning role would make `edutrack run` shut everything down
    stop.set()
    await asyncio.wait_for(task, 2)
