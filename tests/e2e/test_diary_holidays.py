"""The diary outside the school year: it opens on the last school week, and a week without lessons in the
holidays says "Каникулы" once instead of six days of "Уроков нет"; a week shows Sunday only when it has a lesson."""

from __future__ import annotations

from datetime import date, timedelta

from babel.dates import format_date
from playwright.async_api import expect

from edutrack.context import AppContext
from tests.e2e.conftest import Browsers
from tests.support.school import add_lessons, build_school


async def test_in_the_holidays_the_diary_opens_on_the_last_school_week(browsers: Browsers, ctx: AppContext) -> None:
    today = date.today()
    # A school year that ended before today: today is in the summer after it (or later).
    school = await build_school(ctx, classes=1, students_per_class=1, parents_per_student=1,
                                year_start=date(today.year - 2, 9, 1))
    year_end = school.terms[-1][1]
    monday = year_end - timedelta(days=year_end.weekday())
    cls = school.classes[0]
    maths = school.subject_ids["Математика"]
    await add_lessons(ctx, school, cls.id, maths, [monday], hour=9, room="12")

    tab = await browsers.login(school.student(0, 0).email, expect_path="/diary")
    page = tab.page
    await expect(page.locator(".lesson .lesson-subject")).to_have_text(["Математика"])
    await expect(page.locator("#week-range")).to_contain_text(format_date(monday, "d MMMM", locale="ru"))
    await page.get_by_role("button", name="Следующая неделя").click()
    await expect(page.locator("#week .holidays-title")).to_have_text("Каникулы")
    assert await page.locator("#week .day").count() == 0
    tab.assert_clean()


async def test_a_sunday_lesson_is_shown_and_an_empty_sunday_is_not(browsers: Browsers, ctx: AppContext) -> None:
    today = date.today()
    school = await build_school(ctx, classes=1, students_per_class=1, parents_per_student=1,
                                year_start=date(today.year if today.month >= 9 else today.year - 1, 9, 1))
    monday = today - timedelta(days=today.weekday())
    sunday = monday + timedelta(days=6)
    cls = school.classes[0]
    await add_lessons(ctx, school, cls.id, school.subject_ids["Математика"], [monday, monday + timedelta(days=7)],
                      hour=9, room="12")
    await add_lessons(ctx, school, cls.id, school.subject_ids["История"], [sunday], hour=10, room="7")

    tab = await browsers.login(school.student(0, 0).email, expect_path="/diary")
    page = tab.page
    days = page.locator("#week .day")
    await expect(days).to_have_count(7)
    await expect(days.nth(6)).to_have_attribute("aria-label", format_date(sunday, "EEEE, d MMMM", locale="ru"))
    await expect(days.nth(6).locator(".lesson-subject")).to_have_text(["История"])
    await page.get_by_role("button", name="Следующая неделя").click()
    await expect(days.nth(0).locator(".lesson-subject")).to_have_text(["Математика"])
    await expect(days).to_have_count(6)
    tab.assert_clean()
