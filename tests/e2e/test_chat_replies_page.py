"""The chat page's replies: "Ответить" on a message, the quote on the reply (on the other person's open page too),
the "изменено" mark of an edited message, and the quote saying «сообщение удалено» once the quoted message goes."""

from __future__ import annotations

from aiohttp.test_utils import TestClient
from playwright.async_api import expect

from tests.e2e.conftest import Browsers
from tests.support.factories import Factory
from tests.support.school import BuiltSchool


async def test_a_parent_replies_with_a_quote_that_follows_edits_and_deletion(
    browsers: Browsers, school: BuiltSchool, client: TestClient, factory: Factory,
) -> None:
    cls = school.classes[0]
    room = f"parents:{cls.id}"
    parent = school.parents(school.student(0, 0).id)[0]
    teacher_user = school.teacher_of(cls.id, school.subject(0))
    teacher = await factory.login(teacher_user)
    resp = await client.post(f"/api/v1/chats/{room}/messages", headers=teacher.headers,
                             json={"text": "Экскурсия в среду, сбор в 9:00"})
    assert resp.status == 201, await resp.text()
    original_id = (await resp.json())["id"]
    p_tab = await browsers.login(parent.email, expect_path="/diary")
    t_tab = await browsers.login(teacher_user.email, expect_path="/teacher")
    for tab in (p_tab, t_tab):
        await tab.page.goto(f"/chat?channel={room}")
        await tab.page.locator(f'.message[data-id="{original_id}"]').wait_for()
        # Edits and deletions are not replayed: they reach a page subscribed to the chat, which says who is online
        # from then on (the history above comes by REST, before that).
        await expect(tab.page.locator("#online")).not_to_be_empty()

    page = p_tab.page
    await page.locator(f'.message[data-id="{original_id}"]').get_by_role("button", name="Ответить").click()
    await expect(page.locator("#reply-bar")).to_contain_text("Экскурсия в среду")
    await page.get_by_label("Сообщение", exact=True).fill("Форма одежды свободная?")
    await page.get_by_role("button", name="Отправить").click()
    await expect(page.locator("#reply-bar")).to_be_hidden()
    reply = t_tab.page.locator(".message").filter(has_text="Форма одежды свободная?")
    await expect(reply.locator(".reply-quote")).to_contain_text("Экскурсия в среду, сбор в 9:00")

    resp = await client.patch(f"/api/v1/chats/{room}/messages/{original_id}", headers=teacher.headers,
                              json={"text": "Экскурсия в четверг, сбор в 9:00"})
    assert resp.status == 200, await resp.text()
    original = page.locator(f'.message[data-id="{original_id}"]')
    await expect(original.locator(".message-meta")).to_contain_text("(изменено)")
    mine = page.locator(".message.mine").filter(has_text="Форма одежды свободная?")
    await expect(mine.locator(".reply-quote")).to_contain_text("Экскурсия в четверг")

    resp = await client.delete(f"/api/v1/chats/{room}/messages/{original_id}", headers=teacher.headers)
    assert resp.status == 204
    await expect(mine.locator(".reply-quote")).to_contain_text("сообщение удалено")
    await page.reload()
    await expect(page.locator(".message.mine .reply-quote")).to_contain_text("сообщение удалено")
    p_tab.assert_clean()
    t_tab.assert_clean()
