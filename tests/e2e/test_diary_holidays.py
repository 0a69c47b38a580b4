"""The diary outside the school year: it opens on the last school week, and a week without lessons in the
holidays says "Каникулы" once instead of six days of "Уроков нет"."""

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
