"""Homework hand-in on the diary page: a student hands in an answer with a file under the lesson's homework; the
parent sees it handed in, then returned with the teacher's comment."""

from __future__ import annotations

from datetime import date, timedelta

from aiohttp.test_utils import TestClient
from playwright.async_api import expect
from sqlalchemy import update

from edutrack.context import AppContext
from edutrack.db.diary import Lesson
from tests.e2e.conftest import Browsers
from tests.files.helpers import PDF_BYTES
from tests.support.diary import auth
from tests.support.school import BuiltSchool, add_lessons


async def test_a_student_hands_in_and_the_parent_follows_the_status(browsers: Browsers, school: BuiltSchool,
                                                                   client: TestClient, ctx: AppContext) -> None:
    cls = school.classes[0]
    subject = school.subject()
    monday = date.today() - timedelta(days=date.today().weekday())
    lesson_id, _next = await add_lessons(ctx, school, cls.id, subject, [monday + timedelta(days=1),
                                                                        monday + timedelta(days=8)])
    async with ctx.sessions.begin() as session:
        await session.execute(update(Lesson).where(Lesson.id == lesson_id).values(homework="Выучить стих"))
    student = school.student(0, 0)

    tab = await browsers.login(student.email, expect_path="/diary")
    page = tab.page
    box = page.locator(f"[data-handin-lesson='{lesson_id}']")
    await expect(box.locator(".handin-status")).to_have_text("Работа не сдана")
    await box.get_by_role("button", name="Сдать работу").click()
    await box.get_by_label("Ваш ответ").fill("Выучил, расскажу на уроке")
    await box.get_by_label("Файлы").set_input_files([{"name": "стих.pdf", "mimeType": "application/pdf",
                                                       "buffer": PDF_BYTES}])
    await box.locator("form").get_by_role("button", name="Сдать работу").click()
    await expect(box.locator(".handin-status")).to_have_text("Работа сдана")
    await expect(box.get_by_role("button", name="Сдать заново")).to_be_visible()
    tab.assert_clean()

    parent = school.parents(student.id)[0]
    parent_tab = await browsers.login(parent.email, expect_path="/diary")
    parent_box = parent_tab.page.locator(f"[data-handin-lesson='{lesson_id}']")
    await expect(parent_box.locator(".handin-status")).to_have_text("Работа сдана")
    await expect(parent_box.get_by_role("button")).to_have_count(0)  # parents read, they do not hand in

    teacher = auth(ctx, school.teacher_of(cls.id, subject))
    roster = await (await client.get(f"/api/v1/lessons/{lesson_id}/submissions", headers=teacher)).json()
    [handed] = [i["submission"] for i in roster["items"] if i["student_id"] == student.id]
    resp = await client.post(f"/api/v1/submissions/{handed['id']}/return", json={"comment": "Добавьте автора"},
                             headers=teacher)
    assert resp.status == 200
    await parent_tab.page.reload()
    await expect(parent_box.locator(".handin-status")).to_have_text("Возвращено на доработку: Добавьте автора")
    parent_tab.assert_clean()


async def test_the_teacher_sees_who_handed_in_returns_and_grades(browsers: Browsers, school: BuiltSchool,
                                                               client: TestClient, ctx: AppContext) -> None:
    cls = school.classes[0]
    subject = school.subject()
    monday = date.today() - timedelta(days=date.today().weekday())
    lesson_id, _next = await add_lessons(ctx, school, cls.id, subject, [monday, monday + timedelta(days=7)],
                                         hour=10)
    async with ctx.sessions.begin() as session:
        await session.execute(update(Lesson).where(Lesson.id == lesson_id).values(homework="Задачи 1-3"))
    student = school.student(0, 0)
    path = f"/api/v1/lessons/{lesson_id}/submission"
    resp = await client.post(path, json={"text": "Ответы: 1, 2, 3"}, headers=auth(ctx, student))
    assert resp.status == 201

    teacher = school.teacher_of(cls.id, subject)
    tab = await browsers.login(teacher.email, expect_path="/teacher")
    page = tab.page
    await page.goto(f"/teacher?lesson={lesson_id}")
    await expect(page.locator("#handins-summary")).to_have_text("Сдали: 1, не сдали: 2")
    row = page.locator(f"#handins tr[data-handin-student='{student.id}']")
    await expect(row.locator(".handin-status")).to_have_text("Работа сдана")
    await expect(row).to_contain_text("Ответы: 1, 2, 3")
    await row.get_by_label("Комментарий").fill("Покажите решение задачи 2")
    await row.get_by_role("button", name="Вернуть на доработку").click()
    await expect(row.locator(".handin-status")).to_have_text("Возвращено на доработку: Покажите решение задачи 2")

    resp = await client.post(path, json={"text": "Задача 2: x = 4"}, headers=auth(ctx, student))
    assert resp.status == 200
    await page.reload()
    await expect(row.locator(".handin-status")).to_have_text("Работа сдана")
    await row.get_by_role("combobox", name="Оценка").select_option("4")
    await row.get_by_role("button", name="Поставить оценку").click()
    await expect(row.locator(".handin-status")).to_have_text("Проверено, оценка 4")
    tab.assert_clean()
