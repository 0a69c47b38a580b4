"""Moderation on the chat page: a parent reports a message ("Пожаловаться"); the class teacher finds it in the
report inbox (message, author, reporter, reason) and deletes it with a reason, which the author's open page shows;
the class teacher forbids the author to write for a time from the chat's moderation panel, and the author's page
says so live; a parent has no inbox and no panel; the page with the inbox fits a phone and passes axe."""

from __future__ import annotations

from aiohttp.test_utils import TestClient
from playwright.async_api import expect

from tests.e2e.conftest import Browsers
from tests.e2e.quality import assert_accessible, assert_fits
from tests.support.factories import Factory
from tests.support.school import BuiltSchool


async def test_a_report_is_decided_from_the_inbox_and_the_author_is_muted_from_the_panel(
    browsers: Browsers, school: BuiltSchool, client: TestClient, factory: Factory,
) -> None:
    cls = school.classes[0]
    room = f"parents:{cls.id}"
    author = school.parents(school.student(0, 0).id)[0]
    reporter = school.parents(school.student(0, 1).id)[0]
    assert cls.class_teacher_id is not None
    lead = school.user(cls.class_teacher_id)
    resp = await client.post(f"/api/v1/chats/{room}/messages", headers=(await factory.login(author)).headers,
                             json={"text": "Продаю котят недорого"})
    assert resp.status == 201, await resp.text()
    message_id = (await resp.json())["id"]

    r_tab = await browsers.login(reporter.email, expect_path="/diary")
    page = r_tab.page
    await page.goto(f"/chat?channel={room}")
    message = page.locator(f'.message[data-id="{message_id}"]')
    await message.get_by_role("button", name="Пожаловаться").click()
    await message.get_by_label("Что не так с этим сообщением?").fill("Реклама")
    await message.get_by_role("button", name="Отправить жалобу").click()
    await expect(page.locator(".toast").last).to_contain_text("Жалоба отправлена модераторам чата.")
    await expect(page.locator("#report-inbox")).to_be_hidden()
    await expect(page.locator("#moderation-box")).to_be_hidden()

    a_tab = await browsers.login(author.email, expect_path="/diary")
    await a_tab.page.goto(f"/chat?channel={room}")
    await a_tab.page.locator(f'.message[data-id="{message_id}"]').wait_for()
    # The deletion is not replayed: it reaches a page subscribed to the chat, which says who is online from then on.
    await expect(a_tab.page.locator("#online")).not_to_be_empty()
    t_tab = await browsers.login(lead.email, expect_path="/teacher")
    lead_page = t_tab.page
    await lead_page.goto(f"/chat?channel={room}")
    report = lead_page.locator(".report")
    await expect(report).to_have_count(1)
    await expect(report).to_contain_text("Продаю котят недорого")
    await expect(report).to_contain_text("Реклама")
    await assert_fits(lead_page, (375, 1280))
    await assert_accessible(lead_page)
    await report.get_by_label("Причина (её увидит автор)").fill("Не по теме чата")
    await report.get_by_role("button", name="Удалить сообщение").click()
    await expect(lead_page.locator("#report-inbox-empty")).to_be_visible()
    # Live on another page: given room on a machine that other work shares.
    await expect(a_tab.page.locator(f'.message[data-id="{message_id}"] .message-text')).to_have_text(
        "Сообщение удалено", timeout=10_000)

    # The moderation panel of the room: the author may not write for an hour, told live on their open page.
    panel = lead_page.locator("#moderation-box")
    await panel.locator("summary").click()
    await panel.get_by_label("Участник").select_option(str(author.id))
    await panel.get_by_label("На срок").select_option("60")
    await panel.get_by_role("button", name="Запретить писать").click()
    await expect(lead_page.locator("#mute-list")).to_contain_text("до")
    await expect(a_tab.page.locator("#chat-mode")).to_contain_text("Модератор запретил", timeout=10_000)
    for tab in (r_tab, a_tab, t_tab):
        tab.assert_clean()


async def test_a_new_report_reaches_the_open_inbox_live(
    browsers: Browsers, school: BuiltSchool, client: TestClient, factory: Factory,
) -> None:
    cls = school.classes[0]
    room = f"parents:{cls.id}"
    author = school.parents(school.student(0, 0).id)[0]
    reporter = school.parents(school.student(0, 1).id)[0]
    assert cls.class_teacher_id is not None
    t_tab = await browsers.login(school.user(cls.class_teacher_id).email, expect_path="/teacher")
    lead_page = t_tab.page
    await lead_page.goto(f"/chat?channel={room}")
    await lead_page.wait_for_selector('#conn-status[data-state="online"]')
    resp = await client.post(f"/api/v1/chats/{room}/messages", headers=(await factory.login(author)).headers,
                             json={"text": "Кто продаст учебник по химии?"})
    message_id = (await resp.json())["id"]
    # It arrives live: the page's socket is up and subscribed (its feed is subscribed first, at start).
    await lead_page.locator(f'.message[data-id="{message_id}"]').wait_for()
    await expect(lead_page.locator("#report-inbox")).to_be_hidden()  # a teacher's empty inbox stays out of the way
    resp = await client.post(f"/api/v1/chats/{room}/messages/{message_id}/report",
                             headers=(await factory.login(reporter)).headers, json={"reason": "Не по теме"})
    assert resp.status == 201, await resp.text()
    # No reload, no click on "Обновить": the frame on the teacher's feed brings it.
    report = lead_page.locator(".report")
    await expect(report).to_have_count(1, timeout=10_000)
    await expect(report).to_contain_text("Кто продаст учебник по химии?")
    await expect(report).to_contain_text("Не по теме")
