"""The diary page in headless Chromium against a real app, PostgreSQL and Redis: a parent switches between two
children, attendance marked by a teacher shows up live, and news published by an admin reaches open pages live."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from aiohttp.test_utils import TestClient
from babel.dates import format_date
from playwright.async_api import Page, expect

from edutrack.context import AppContext
from edutrack.db.models import User
from tests.e2e.conftest import WAIT_MS, Browsers, school_year_start, shot
from tests.support.factories import Actor, Factory
from tests.support.school import BuiltSchool, add_lessons, build_school


def this_week() -> list[date]:
    today = datetime.now(UTC).date()
    monday = today - timedelta(days=today.weekday())
    return [monday + timedelta(days=i) for i in range(5)]


async def post_grade(client: TestClient, teacher: Actor, school: BuiltSchool, student: User, subject_id: int,
                     value: int, work_type: str = "Контрольная работа") -> int:
    resp = await client.post("/api/v1/grades", headers=teacher.headers, json={
        "student_id": student.id, "subject_id": subject_id, "work_type_id": school.work_type_ids[work_type],
        "date": datetime.now(UTC).date().isoformat(), "value": value})
    assert resp.status == 201, await resp.text()
    return int((await resp.json())["id"])


async def shows_child(page: Page, *, name: str, class_name: str, subject: str, other_subject: str,
                      grade_id: int, grade: str, other_grade_id: int) -> None:
    """The diary shows this child's class, lessons and grades, and nothing of the other child's (each section
    reloads on its own after a switch, so every check waits for its section)."""
    await expect(page.locator("#student-title")).to_have_text(f"{name}, {class_name}", timeout=WAIT_MS)
    await page.locator(f'.grade[data-grade-id="{grade_id}"]').filter(has_text=grade).wait_for()
    await expect(page.locator(f'.grade[data-grade-id="{other_grade_id}"]')).to_have_count(0, timeout=WAIT_MS)
    await expect(page.locator("#grades tbody th")).to_have_text([subject], timeout=WAIT_MS)
    await expect(page.locator(".lesson .lesson-subject")).to_have_text([subject] * 5, timeout=WAIT_MS)
    assert other_subject not in await page.locator("#week").inner_text()


async def test_parent_of_two_children_switches_between_them_and_learns_whom_a_live_grade_is_about(
    browsers: Browsers, ctx: AppContext, client: TestClient, factory: Factory,
) -> None:
    school = await build_school(ctx, classes=2, students_per_class=1, parents_per_student=1,
                                year_start=school_year_start(date.today()))
    maths, history = school.subject_ids["Математика"], school.subject_ids["История"]
    (c1, c2), kid1, kid2 = school.classes, school.student(0, 0), school.student(1, 0)
    parent = school.parents(kid1.id)[0]
    admin = await factory.login(school.admin)
    resp = await client.post("/api/v1/parent-links", headers=admin.headers,
                             json={"parent_id": parent.id, "child_id": kid2.id})
    assert resp.status in (200, 201), await resp.text()
    await add_lessons(ctx, school, c1.id, maths, this_week(), hour=9, room="12")
    await add_lessons(ctx, school, c2.id, history, this_week(), hour=10, room="21")
    maths_teacher = await factory.login(school.teacher_of(c1.id, maths))
    history_teacher = await factory.login(school.teacher_of(c2.id, history))
    g1 = await post_grade(client, maths_teacher, school, kid1, maths, 5)
    g2 = await post_grade(client, history_teacher, school, kid2, history, 3)
    name1, name2 = "Школьников Ученик0", "Школьников Ученик1"

    tab = await browsers.login(parent.email, expect_path="/diary")
    page = tab.page
    picker = page.get_by_label("Ребёнок")
    await picker.locator("option").nth(1).wait_for(state="attached")
    assert await picker.locator("option").all_inner_texts() == [name1, name2]
    assert await picker.input_value() == str(kid1.id)
    await shows_child(page, name=name1, class_name="5А", subject="Математика", other_subject="История",
                      grade_id=g1, grade="5", other_grade_id=g2)

    await picker.select_option(str(kid2.id))
    await shows_child(page, name=name2, class_name="5Б", subject="История", other_subject="Математика",
                      grade_id=g2, grade="3", other_grade_id=g1)
    # The choice survives a reload of the tab.
    await page.reload()
    await shows_child(page, name=name2, class_name="5Б", subject="История", other_subject="Математика",
                      grade_id=g2, grade="3", other_grade_id=g1)

    # Back to the first child; a grade for the second one arrives live: the toast and the feed name the child,
    # the first child's table does not change, and switching shows the new grade marked as new.
    await picker.select_option(str(kid1.id))
    await shows_child(page, name=name1, class_name="5А", subject="Математика", other_subject="История",
                      grade_id=g1, grade="5", other_grade_id=g2)
    g3 = await post_grade(client, history_teacher, school, kid2, history, 4, "Ответ на уроке")
    await page.locator(".toast").filter(has_text=f"Новая оценка: История: 4 (Ответ на уроке) — {name2}").wait_for()
    await page.get_by_role("button", name="Уведомления").click()
    item = page.locator("#feed-list .feed-item").first
    await expect(item.locator(".feed-text")).to_have_text("История: 4 (Ответ на уроке)", use_inner_text=True)
    await expect(item.locator(".feed-about")).to_have_text(name2, use_inner_text=True)
    await page.keyboard.press("Escape")
    # A grade for the child on screen still arrives live; by then the other child's grade would have too.
    g4 = await post_grade(client, maths_teacher, school, kid1, maths, 2, "Ответ на уроке")
    await page.locator(f'.grade[data-grade-id="{g4}"].fresh').filter(has_text="2").wait_for()
    await page.locator(".toast").filter(has_text=f"Новая оценка: Математика: 2 (Ответ на уроке) — {name1}").wait_for()
    assert await page.locator(f'.grade[data-grade-id="{g3}"]').count() == 0
    assert await page.locator("#grades tbody th").all_inner_texts() == ["Математика"]
    await picker.select_option(str(kid2.id))
    await page.locator(f'.grade[data-grade-id="{g3}"].fresh').filter(has_text="4").wait_for()
    await page.locator("#student-title").filter(has_text=f"{name2}, 5Б").wait_for()
    await shot(page, "diary-parent-two-children")
    tab.assert_clean()


async def test_absence_marked_by_the_teacher_shows_live_on_the_students_diary(
    browsers: Browsers, school: BuiltSchool, ctx: AppContext, client: TestClient, factory: Factory,
) -> None:
    cls = school.classes[0]
    maths = school.subject_ids["Математика"]
    today = datetime.now(UTC).date()
    (lesson_id,) = await add_lessons(ctx, school, cls.id, maths, [today], hour=8, room="12")
    child, classmate = school.student(0, 0), school.student(0, 1)
    teacher = await factory.login(school.teacher_of(cls.id, maths))

    tab = await browsers.login(child.email, expect_path="/diary")
    page = tab.page
    box = page.locator("#attendance")
    await box.get_by_text("Пропусков нет.").wait_for()

    def summary(term: str) -> str:
        return f'#attendance dt:text-is("{term}") + dd'

    await expect(page.locator(summary("Пропуски"))).to_have_text("0", use_inner_text=True)

    # The teacher marks the child absent (no reason yet) and a classmate late: the child's page updates live.
    resp = await client.put(f"/api/v1/lessons/{lesson_id}/attendance", headers=teacher.headers, json={"marks": [
        {"student_id": child.id, "status": "absent"}, {"student_id": classmate.id, "status": "late"}]})
    assert resp.status == 200, await resp.text()
    mark_id = next(m["id"] for m in (await resp.json())["items"] if m["student_id"] == child.id)
    entry = box.locator("li.att-absent")
    # The entry and the notification agree with the student ("Ученик0 Школьников": a boy, by the surname).
    await entry.filter(has_text="Математика: отсутствовал (причина не указана)").wait_for()
    day = format_date(today, "d MMMM", locale="ru")
    await page.locator(".toast").filter(has_text=f"Школьников отсутствовал на уроке: Математика, {day}").wait_for()
    await expect(page.locator(summary("Пропуски"))).to_have_text("1", use_inner_text=True)
    await expect(page.locator(summary("Без уважительной причины"))).to_have_text("1", use_inner_text=True)
    await expect(page.locator(summary("Посещаемость"))).to_have_text("0%", use_inner_text=True)
    # Only the child's own marks: the classmate's late is not here.
    assert await box.locator("li").count() == 1

    # The reason added later replaces the old one, live as well.
    resp = await client.patch(f"/api/v1/attendance/{mark_id}", headers=teacher.headers, json={"reason": "illness"})
    assert resp.status == 200, await resp.text()
    await entry.filter(has_text="Математика: отсутствовал (болезнь)").wait_for()
    await page.locator(summary("Без уважительной причины")).filter(has_text="0").wait_for()
    await expect(page.locator(summary("Пропуски"))).to_have_text("1", use_inner_text=True)
    assert await box.locator("li").count() == 1
    await shot(page, "diary-attendance")
    tab.assert_clean()


async def test_news_for_the_class_and_for_parents_reach_open_diaries_live(
    browsers: Browsers, school: BuiltSchool, client: TestClient, factory: Factory,
) -> None:
    cls = school.classes[0]
    child = school.student(0, 0)
    parent = school.parents(child.id)[0]
    admin = await factory.login(school.admin)
    s_tab = await browsers.login(child.email, expect_path="/diary")
    p_tab = await browsers.login(parent.email, expect_path="/diary")
    student, parent_page = s_tab.page, p_tab.page

    async def publish(title: str, body: str, **audience: object) -> None:
        resp = await client.post("/api/v1/news", headers=admin.headers,
                                 json={"title": title, "body": body, "status": "published", **audience})
        assert resp.status == 201, await resp.text()

    # Parents only first, then the whole class: when the student has the second, the first was never for them.
    await publish("Родительское собрание", "Собрание в четверг в 18:00, кабинет 12.", audience="role", role="parent")
    await publish("Экскурсия в музей", "В пятницу   весь класс едет\nв Политехнический музей.",
                  audience="class", class_id=cls.id)

    for page in (parent_page, student):
        await page.locator(".toast").filter(has_text="Новость: Экскурсия в музей").wait_for()
    await parent_page.locator(".toast").filter(has_text="Новость: Родительское собрание").wait_for()
    await expect(parent_page.locator("#feed-badge")).to_have_text("2", use_inner_text=True)
    await expect(student.locator("#feed-badge")).to_have_text("1", use_inner_text=True)

    await student.get_by_role("button", name="Уведомления").click()
    items = student.locator("#feed-list .feed-item")
    assert await items.count() == 1
    assert await items.locator(".feed-kind").text_content() == "Новость"
    await expect(items.locator(".feed-text")).to_have_text("Экскурсия в музей", use_inner_text=True)
    await expect(items.locator(".feed-summary")).to_have_text("В пятницу весь класс едет в Политехнический музей.",
                                                              use_inner_text=True)
    assert await student.locator(".toast").filter(has_text="Родительское собрание").count() == 0

    await parent_page.get_by_role("button", name="Уведомления").click()
    texts = await parent_page.locator("#feed-list .feed-item .feed-text").all_inner_texts()
    assert texts == ["Экскурсия в музей", "Родительское собрание"]
    # News are about nobody in particular: no child's name on them.
    assert await parent_page.locator("#feed-list .feed-about").count() == 0
    await parent_page.locator("#feed-badge").wait_for(state="hidden")
    await shot(parent_page, "diary-news-feed")
    s_tab.assert_clean()
    p_tab.assert_clean()
