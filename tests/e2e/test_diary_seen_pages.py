"""A parent presses "Просмотрено" under the week on the diary page; the class teacher's class screen lists who has
not opened the diary for N days (N chosen on the page) and the week each parent marked seen."""

from __future__ import annotations

from playwright.async_api import expect

from tests.e2e.conftest import Browsers
from tests.support.school import BuiltSchool


async def test_a_parent_marks_the_week_seen_and_the_class_teacher_sees_who_has_not_looked(
    browsers: Browsers, school: BuiltSchool,
) -> None:
    cls = school.classes[0]
    reader = school.parents(school.student(0, 0).id)[0]
    tab = await browsers.login(reader.email, expect_path="/diary")
    page = tab.page
    await page.get_by_role("button", name="Просмотрено").click()
    await expect(page.locator("#week-seen-state")).to_have_text("Неделя отмечена как просмотренная")
    await expect(page.get_by_role("button", name="Просмотрено")).to_be_hidden()
    await page.reload()
    await expect(page.locator("#week-seen-state")).to_have_text("Неделя отмечена как просмотренная")
    tab.assert_clean()

    lead = await browsers.login(school.user(cls.class_teacher_id or 0).email, expect_path="/teacher")
    view = lead.page
    await view.goto(f"/teacher?class={cls.id}")
    summary = view.locator("#activity-summary")
    await expect(summary).to_have_text("Не открывали дневник 7 дн.: 2 из 3")
    row = view.locator(f'#activity tr[data-activity-parent="{reader.id}"]')
    await expect(row.locator(".week-seen")).to_contain_text("неделя с")
    await expect(row.locator(".stale-mark")).to_have_text("")
    absent = school.parents(school.student(0, 1).id)[0]
    await expect(view.locator(f'#activity tr[data-activity-parent="{absent.id}"] .opened')).to_have_text("никогда")
    await view.get_by_label("Не открывали дней").fill("30")
    await view.get_by_label("Не открывали дней").press("Enter")
    await expect(summary).to_have_text("Не открывали дневник 30 дн.: 2 из 3")
    lead.assert_clean()
