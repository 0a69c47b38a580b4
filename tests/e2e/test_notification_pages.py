"""The notification settings page (a parent changes channels, quiet hours and the digest hour; the API has them)
and the author's acknowledgement page (a parent confirms, the table changes live, reminders)."""

from __future__ import annotations

from aiohttp.test_utils import TestClient
from playwright.async_api import expect

from edutrack.context import AppContext
from tests.e2e.conftest import Browsers
from tests.support.diary import auth, body_of
from tests.support.school import BuiltSchool

PREFS = "/api/v1/profile/notifications"


async def test_a_parent_sets_channels_quiet_hours_and_the_digest_hour(
    browsers: Browsers, school: BuiltSchool, client: TestClient, ctx: AppContext,
) -> None:
    parent = school.parents(school.student(0, 0).id)[0]
    tab = await browsers.login(parent.email, expect_path="/diary")
    page = tab.page
    await page.get_by_role("link", name="Настройки уведомлений").click()
    await page.wait_for_url("**/settings/notifications")
    await expect(page.get_by_label("В приложении: Домашнее задание", exact=True)).to_be_checked()
    # Every kind is named in Russian, none by its code.
    kinds = await page.locator("#kinds th[scope=row]").all_inner_texts()
    assert [k for k in kinds if k.isascii()] == []
    await page.get_by_label("Почта: Домашнее задание", exact=True).select_option("digest")
    await expect(page.get_by_label("Push: Домашнее задание", exact=True)).to_be_checked()  # a parent's default
    await page.get_by_label("Push: Домашнее задание", exact=True).uncheck()
    await page.get_by_label("В приложении: Новости и объявления").uncheck()
    await page.get_by_label("Тихие часы каждый день").check()
    await page.locator("#quiet-start").fill("22:00")
    await page.locator("#quiet-end").fill("07:00")
    await page.get_by_label("Ежедневная сводка в").fill("18:30")
    await page.get_by_role("button", name="Сохранить").click()
    await expect(page.locator("#toasts")).to_contain_text("Настройки сохранены")

    saved = await body_of(await client.get(PREFS, headers=auth(ctx, parent)), 200)
    channels = {k["kind"]: k["channels"] for k in saved["kinds"]}
    assert channels["homework"] == ["live", "digest"]
    assert channels["news"] == ["email", "push"]
    assert (saved["quiet_start"], saved["quiet_end"], saved["digest_time"]) == ("22:00", "07:00", "18:30")
    await page.reload()
    await expect(page.get_by_label("Почта: Домашнее задание", exact=True)).to_have_value("digest")
    await expect(page.get_by_label("Push: Домашнее задание", exact=True)).not_to_be_checked()

    await page.get_by_label("на", exact=True).select_option("0")
    await page.get_by_role("button", name="Отключить уведомления").click()
    muted = page.locator("#mutes li")
    await expect(muted).to_have_count(1)
    await expect(muted).to_contain_text("пока не включите снова")
    saved = await body_of(await client.get(PREFS, headers=auth(ctx, parent)), 200)
    assert [m["until"] for m in saved["mutes"]] == [None]
    await muted.get_by_role("button", name="Включить уведомления").click()
    await expect(muted).to_have_count(0)
    tab.assert_clean()


async def test_the_author_sees_confirmations_arrive_and_reminds_the_rest(
    browsers: Browsers, school: BuiltSchool, client: TestClient, ctx: AppContext,
) -> None:
    made = await body_of(await client.post("/api/v1/news", headers=auth(ctx, school.admin), json={
        "title": "Собрание", "body": "В пятницу.", "audience": "school", "status": "published",
        "ack": ["parent"]}), 201)
    tab = await browsers.login(school.admin.email, expect_path="/admin")
    page = tab.page
    await page.goto(f"/news/{made['id']}/acknowledgements")
    summary = page.locator("#acks-summary")
    await expect(summary).to_have_text("Ознакомились: 0 из 3")
    first = school.parents(school.student(0, 0).id)[0]
    await body_of(await client.post(f"/api/v1/news/{made['id']}/ack", headers=auth(ctx, first)), 200)
    await expect(summary).to_have_text("Ознакомились: 1 из 3")
    await expect(page.locator(f'[data-student="{school.student(0, 0).id}"] .ack-family')).to_have_text(
        "семья: ознакомлена")
    await page.get_by_role("button", name="Напомнить тем, кто не подтвердил").click()
    await expect(page.locator("#toasts")).to_contain_text("Напоминание отправлено 2 людям")
    tab.assert_clean()


async def test_a_parent_confirms_from_the_notification_list(
    browsers: Browsers, school: BuiltSchool, client: TestClient, ctx: AppContext,
) -> None:
    parent = school.parents(school.student(0, 1).id)[0]
    tab = await browsers.login(parent.email, expect_path="/diary")
    page = tab.page
    made = await body_of(await client.post("/api/v1/news", headers=auth(ctx, school.admin), json={
        "title": "Экскурсия", "body": "Нужна подпись.", "audience": "school", "status": "published",
        "ack": ["parent"]}), 201)
    await page.locator("#feed-toggle").click()
    await page.get_by_role("button", name="Подтвердить ознакомление").click()
    await expect(page.locator(".feed-ack")).to_have_text("Подтверждено")
    table = await body_of(await client.get(f"/api/v1/news/{made['id']}/acks", headers=auth(ctx, school.admin)), 200)
    assert table["acknowledged"] == 1
    # The list drawn again (another item comes live) still shows it confirmed: the state is the item's, not the
    # button's (the confirmation's own "read" frame draws the list again, sometimes before the answer came).
    await body_of(await client.post("/api/v1/news", headers=auth(ctx, school.admin), json={
        "title": "Субботник", "body": "В субботу в 10:00.", "audience": "school", "status": "published",
        "ack": ["parent"]}), 201)
    await expect(page.locator(".feed-item")).to_have_count(2)
    first = page.locator(".feed-item").filter(has_text="Экскурсия")
    await expect(first.locator(".feed-ack")).to_have_text("Подтверждено")
    await expect(first.locator(".feed-ack")).to_be_disabled()
    tab.assert_clean()
