"""Notification emails as the SMTP server receives them: a Message-ID stable for the email, threading headers
that group a user's series, one-click unsubscribe (RFC 8058) by a signed link that works without login, and a
link to the preferences."""

from __future__ import annotations

import urllib.parse
from datetime import UTC, datetime, timedelta

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from edutrack.context import AppContext
from edutrack.db.models import Notification
from edutrack.notifier.worker import notifier_worker
from edutrack.outbox.relay import relay_worker
from edutrack.settings import Settings
from tests.email.conftest import SmtpServer, Workers, wait_for
from tests.email.notify_helpers import PREFS, write_kinds
from tests.foundation.helpers import error_of
from tests.support.factories import Factory


async def test_headers_thread_the_series_and_unsubscribe_in_one_click(
    client: TestClient, ctx: AppContext, factory: Factory, smtp: SmtpServer, mail_settings: Settings,
    workers: Workers,
) -> None:
    parent = await factory.actor("parent", email="mama@example.test")
    hour_ago = datetime.now(UTC) - timedelta(hours=1)
    first = await write_kinds(ctx, parent.id, ("grade", "homework"), created=hour_ago)
    workers.start(relay_worker, mail_settings)
    workers.start(notifier_worker, mail_settings)

    async def count(n: int) -> bool:
        return len(smtp.handler.received) >= n

    await wait_for(lambda: count(1))
    second = await write_kinds(ctx, parent.id, ("attendance",), created=hour_ago)
    await wait_for(lambda: count(2))
    one, two = smtp.handler.received[:2]
    ns = mail_settings.namespace
    root = f"<notifications-{parent.id}.{ns}@edutrack.local>"
    assert one["Message-ID"] == f"<notification-{min(first.values())}.{ns}@edutrack.local>"
    assert two["Message-ID"] == f"<notification-{second['attendance']}.{ns}@edutrack.local>"
    assert one["References"] == root
    assert two["In-Reply-To"] == root
    assert one["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = one.get_body(preferencelist=("plain",))
    assert text is not None
    assert f"{mail_settings.public_url}/settings/notifications" in text.get_content()

    header = " ".join(str(one["List-Unsubscribe"]).split())
    assert header.startswith("<")
    assert header.endswith(">")
    link = header[1:-1]
    path = urllib.parse.urlsplit(link).path
    resp = await client.post(path, data="List-Unsubscribe=One-Click",
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert resp.status == 200, await resp.text()
    assert sorted((await resp.json())["kinds"]) == ["grade", "homework"]
    prefs = await (await client.get(PREFS, headers=parent.headers)).json()
    channels = {k["kind"]: k["channels"] for k in prefs["kinds"]}
    assert channels["grade"] == ["live", "push"]  # email and the digest off; push is not email
    assert channels["homework"] == ["live", "push"]
    assert channels["attendance"] == ["live", "email", "push"]
    again = await write_kinds(ctx, parent.id, ("grade",))
    async with ctx.sessions() as session:
        assert (await session.get(Notification, again["grade"])).channels == 9  # type: ignore[union-attr]  # live, push
    assert (await client.post(path)).status == 200  # a second click changes nothing, and is no error


async def test_a_tampered_unsubscribe_link_does_nothing(
    client: TestClient, ctx: AppContext, factory: Factory, mail_settings: Settings,
) -> None:
    from edutrack.services.unsubscribe import unsubscribe_url
    victim = await factory.actor("parent")
    link = unsubscribe_url(ctx.settings, victim.id, ["grade"])
    path = urllib.parse.urlsplit(link).path
    forged = path.replace(f"/{victim.id}.", f"/{victim.id + 1}.")
    await error_of(await client.post(forged), 404)
    await error_of(await client.post(path[:-3] + "AAA"), 404)
    async with ctx.sessions() as session:
        rows = (await session.execute(select(Notification))).scalars().all()
    assert rows == []
    prefs = await (await client.get(PREFS, headers=victim.headers)).json()
    assert all(not k["chosen"] for k in prefs["kinds"])


async def test_the_link_opened_in_a_browser_asks_before_it_unsubscribes(
    client: TestClient, ctx: AppContext, factory: Factory,
) -> None:
    from edutrack.services.unsubscribe import unsubscribe_url
    parent = await factory.actor("parent")
    path = urllib.parse.urlsplit(unsubscribe_url(ctx.settings, parent.id, ["grade"])).path
    opened = await client.get(path, allow_redirects=False)
    assert opened.status == 303
    page_path = opened.headers["Location"]
    assert page_path == path.replace("/api/v1/unsubscribe/", "/unsubscribe/")
    page = await client.get(page_path)
    assert page.status == 200
    html = await page.text()
    assert "Отписаться" in html
    assert f'action="{page_path}"' in html
    prefs = await (await client.get(PREFS, headers=parent.headers)).json()
    assert all(not k["chosen"] for k in prefs["kinds"])  # opening the page changed nothing

    done = await client.post(page_path, data={"List-Unsubscribe": "One-Click"})
    assert done.status == 200
    assert "Готово" in await done.text()
    prefs = await (await client.get(PREFS, headers=parent.headers)).json()
    channels = {k["kind"]: k["channels"] for k in prefs["kinds"]}
    assert channels["grade"] == ["live", "push"]
    forged = page_path[:-3] + "AAA"
    assert (await client.get(forged)).status == 404
    assert (await client.post(forged)).status == 404
