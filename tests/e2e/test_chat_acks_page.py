"""An administrator asks the parents to confirm a school announcement from the chat page; a parent confirms with
the button under it on their chat page; the author's table counts it live, once."""

from __future__ import annotations

from aiohttp.test_utils import TestClient
from playwright.async_api import expect

from edutrack.context import AppContext
from tests.e2e.conftest import Browsers
from tests.support.diary import auth, body_of
from tests.support.school import BuiltSchool


async def test_an_announcement_asks_parents_and_the_author_sees_a_confirmation_arrive(
    browsers: Browsers, school: BuiltSchool, client: TestClient, ctx: AppContext,
) -> None:
    room = f"announcements:{school.id}"
    author = await browsers.login(school.admin.email, expect_path="/admin")
    page = author.page
    await page.goto(f"/chat?channel={room}")
    await page.locator("#message-input").fill("Собрание в пятницу, подтвердите.")
    await page.get_by_label("Попросить родителей подтвердить ознакомление").check()
    await page.get_by_role("button", name="Отправить").click()
    await page.get_by_role("link", name="Кто ознакомился").click()
    await page.wait_for_url("**/acknowledgements")
    summary = page.locator("#acks-summary")
    await expect(summary).to_have_text("Ознакомились: 0 из 3")

    parent = school.parents(school.student(0, 1).id)[0]
    reader = await browsers.login(parent.email, expect_path="/diary")
    await reader.page.goto(f"/chat?channel={room}")
    await reader.page.get_by_role("button", name="Подтвердить ознакомление").click()
    await expect(reader.page.locator(".message-ack .ack-done")).to_have_text("Подтверждено")
    await expect(summary).to_have_text("Ознакомились: 1 из 3")
    await expect(page.locator(f'[data-student="{school.student(0, 1).id}"] .ack-family')).to_have_text(
        "семья: ознакомлена")

    mine = await body_of(await client.get(f"/api/v1/chats/{room}/ack-requests", headers=auth(ctx, parent)), 200)
    (item,) = mine["items"]
    again = await body_of(await client.post(f"/api/v1/chats/{room}/messages/{item['message_id']}/ack",
                                            headers=auth(ctx, parent)), 200)
    assert again["duplicate"] is True
    author.assert_clean()
    reader.assert_clean()


async def test_a_parent_confirms_an_announcement_from_the_notification_list(
    browsers: Browsers, school: BuiltSchool, client: TestClient, ctx: AppContext,
) -> None:
    parent = school.parents(school.student(0, 2).id)[0]
    tab = await browsers.login(parent.email, expect_path="/diary")
    page = tab.page
    room = f"class-announcements:{school.classes[0].id}"
    made = await body_of(await client.post(f"/api/v1/chats/{room}/messages", headers=auth(ctx, school.admin),
                                           json={"text": "Экскурсия в среду.", "ack": ["parent"]}), 201)
    await page.locator("#feed-toggle").click()
    await page.get_by_role("button", name="Подтвердить ознакомление").click()
    await expect(page.locator(".feed-ack")).to_have_text("Подтверждено")
    table = await body_of(await client.get(f"/api/v1/chats/{room}/messages/{made['id']}/acks",
                                           headers=auth(ctx, school.admin)), 200)
    assert table["acknowledged"] == 1
    tab.assert_clean()
