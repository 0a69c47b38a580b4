"""What the administrator's page tests share: accepting an invitation as its recipient would, and the check that
no English sentence is on a Russian page."""

from __future__ import annotations

import re

from aiohttp.test_utils import TestClient
from playwright.async_api import Page
from sqlalchemy import text

from edutrack.context import AppContext
from tests.e2e.test_russian_ui import ENGLISH
from tests.support.factories import DEFAULT_PASSWORD

# Everything a person reads on the page, without the quoted answers of a mail server and the footer's language link.
PAGE_TEXT = """() => {
  const copy = document.body.cloneNode(true);
  copy.querySelectorAll("code.server-answer, .page-footer, script, [hidden]").forEach((n) => n.remove());
  return copy.innerText;
}"""


async def assert_no_english(page: Page) -> None:
    shown: str = await page.evaluate(PAGE_TEXT)
    found = [m.group(0) for m in ENGLISH.finditer(shown.replace("EduTrack", ""))]
    assert not found, f"English on {page.url}: {found}"


async def emails_to(ctx: AppContext, recipient: str) -> list[dict[str, object]]:
    async with ctx.sessions() as session:
        rows = await session.execute(text("SELECT * FROM email_outbox WHERE recipient = :r ORDER BY id"),
                                     {"r": recipient})
        return [dict(r) for r in rows.mappings()]


async def accept_invitation(client: TestClient, ctx: AppContext, email: str) -> int:
    """Set the password through the link of the invitation email, as its recipient does; the user's id."""
    [mail] = [m for m in await emails_to(ctx, email) if m["kind"] == "invitation"][-1:]
    match = re.search(r"reset-password\?token=([A-Za-z0-9_\-]+)", str(mail["body_text"]))
    assert match, mail["body_text"]
    resp = await client.post("/api/v1/password-reset/confirm",
                             json={"token": match.group(1), "new_password": DEFAULT_PASSWORD})
    assert resp.status == 204, await resp.text()
    return int(str(mail["user_id"]))


async def lessons_of_class(ctx: AppContext, class_id: int) -> int:
    async with ctx.sessions() as session:
        return int((await session.execute(text("SELECT count(*) FROM lessons WHERE class_id = :c"),
                                          {"c": class_id})).scalar_one())
