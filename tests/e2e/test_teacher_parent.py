"""In headless Chromium: a teacher who is also a parent (one login lands on the teacher's journal, and the diary link
opens the linked child's diary with grades of every subject), and a cancelled lesson reaching a parent's open
diary live."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from aiohttp.test_utils import TestClient
from playwright.async_api import expect

from edutrack.context import AppContext
from tests.e2e.conftest import WAIT_MS, Browsers, school_year_start
from tests.support.factories import Factory
from tests.support.school import add_lessons, build_school


async def test_teacher_parent_opens_the_journal_and_the_childs_diary(
    browsers: Browsers, ctx: AppContext, client: TestClient, factory: Factory,
) -> None:
    school = await build_school(ctx, classes=2, students_per_class=1, parents_per_student=1,
                                year_start=school_year_start(date.today()))
    maths, history = school.subject_ids["Математика"], school.subject_ids["История"]
    (c1, c2), kid = school.classes, school.student(0, 0)
    teacher_user = school.teacher_of(c2.id, history)
    admin = await factory.login(school.admin)
    resp = await client.post("/api/v1/parent-links", headers=admin.headers,
                             json={"parent_id": teacher_user.id, "child_id": kid.id})
    assert resp.status == 201, await resp.text()
    maths_teacher = await factory.login(school.teacher_of(c1.id, maths))
    resp = await client.post("/api/v1/grades", headers=maths_teacher.headers, json={
        "student_id": kid.id, "subject_id": maths, "work_type_id": school.work_type_ids["Контрольная работа"],
        "date": datetime.now(UTC).date().isoformat(), "value": 5})
    assert resp.status == 201, await resp.text()
    grade_id = (await resp.json())["id"]

    tab = await browsers.login(teacher_user.email, expect_path="/teacher")
    page = tab.page
    await page.get_by_role("link", name="Дневник").click()
    await page.wait_for_url("**/diary*")
    picker = page.get_by_label("Ребёнок")
    await picker.locator("option").first.wait_for(state="attached")
    assert await picker.locator("option").all_inner_texts() == ["Школьников Ученик0"]
    await page.locator(f'.grade[data-grade-id="{grade_id}"]').filter(has_text="5").wait_for()
    tab.assert_clean()


async def test_a_cancelled_lesson_reaches_a_parents_open_diary_live(
    browsers: Browsers, ctx: AppContext, client: TestClient, factory: Factory,
) -> None:
    school = await build_school(ctx, classes=1, students_per_class=1, parents_per_student=1,
                                year_start=school_year_start(date.today()))
    maths = school.subject_ids["Математика"]
    kid = school.student(0, 0)
    today = datetime.now(UTC).date()
    monday = today - timedelta(days=today.weekday())  # the diary shows Monday to Saturday of this week
    (lesson_id,) = await add_lessons(ctx, school, school.classes[0].id, maths, [monday], hour=9, room="12")
    tab = await browsers.login(school.parents(kid.id)[0].email, expect_path="/diary")
    page = tab.page
    lesson = page.locator(f'.lesson[data-lesson-id="{lesson_id}"]')
    await lesson.wait_for()
    await expect(lesson.locator(".lesson-cancelled")).to_have_count(0)
    admin = await factory.login(school.admin)
    resp = await client.put(f"/api/v1/lessons/{lesson_id}/cancellation", json={"note": "Учитель болен"},
                            headers=admin.headers)
    assert resp.status == 200, await resp.text()
    await page.locator(".toast").filter(has_text="отменён").wait_for()
    await expect(lesson.locator(".lesson-cancelled")).to_have_text("Урок отменён", timeout=WAIT_MS)
    tab.assert_clean()
