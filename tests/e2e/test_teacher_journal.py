"""The teacher's journal in real Chromium against a real app: attendance of a lesson taken with the keyboard alone
reaches a parent's open diary live; topic and homework reach the student's diary; a grade is put, changed and
deleted in the journal grid with its history visible (and appears live in another tab); marks for the period are
confirmed and overridden with a reason, and so are year marks; a cancelled lesson says so on the day and in the
grid; the class teacher reads the class sheet and the parents. Every screen fits 375, 768 and 1,280 px, passes
axe-core and shows no English."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from aiohttp.test_utils import TestClient
from babel.dates import format_date
from playwright.async_api import Page, expect
from sqlalchemy import update

from edutrack.context import AppContext
from edutrack.db.models import Profile
from tests.e2e.conftest import Browsers, Tab, shot
from tests.e2e.quality import assert_accessible, assert_fits
from tests.e2e.test_russian_ui import ENGLISH
from tests.support.factories import Factory
from tests.support.school import BuiltSchool, add_lessons

# The demo and test schools keep Moscow time: "today" is the school's day, whatever the machine's zone.
SCHOOL_TZ = ZoneInfo("Europe/Moscow")

# Every text a reader meets: what is on screen, and the names, labels and hints of elements (emails are names).
PAGE_TEXTS = """() => {
  const texts = [document.title];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || parent.closest('script, a[href^="mailto:"], [hidden], .page-footer')) continue;
    if (node.textContent.trim()) texts.push(node.textContent.trim());
  }
  document.querySelectorAll('[aria-label], [title], [placeholder]').forEach((el) => {
    if (el.closest('[hidden]')) return;
    ['aria-label', 'title', 'placeholder'].forEach((a) => { if (el.getAttribute(a)) texts.push(el.getAttribute(a)); });
  });
  return texts;
}"""


def school_today() -> date:
    return datetime.now(SCHOOL_TZ).date()


async def assert_no_english(page: Page) -> None:
    texts: list[str] = await page.evaluate(PAGE_TEXTS)
    english = [text for text in texts if ENGLISH.search(text.replace("EduTrack", ""))]
    assert not english, f"English on {page.url}: {english}"


async def check_screen(tab: Tab) -> None:
    """The checks every screen of the page passes."""
    await assert_fits(tab.page)
    await assert_accessible(tab.page)
    await assert_no_english(tab.page)
    width = await tab.page.evaluate("() => [document.scrollingElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"the page is {width[0]} px wide in a {width[1]} px window"


async def rename(ctx: AppContext, user_id: int, first: str, last: str) -> None:
    async with ctx.sessions.begin() as session:
        await session.execute(update(Profile).where(Profile.user_id == user_id)
                              .values(first_name=first, last_name=last))


async def test_attendance_taken_with_the_keyboard_reaches_the_parents_open_diary_live(
        browsers: Browsers, school: BuiltSchool, ctx: AppContext) -> None:
    cls = school.classes[0]
    maths = school.subject_ids["Математика"]
    today = school_today()
    # 09:00 UTC is noon in Moscow: the lesson is on the school's today.
    [lesson_id] = await add_lessons(ctx, school, cls.id, maths, [today], hour=9, room="12")
    child, girl, boy = (school.user(s) for s in cls.student_ids)
    await rename(ctx, girl.id, "Анастасия", "Крылова")
    parent = school.parents(child.id)[0]

    parent_tab = await browsers.login(parent.email, expect_path="/diary")
    diary = parent_tab.page
    await diary.locator("#attendance").get_by_text("Пропусков нет.").wait_for()

    tab = await browsers.login(school.teacher_of(cls.id, maths).email, expect_path="/teacher")
    page = tab.page
    today_box = page.locator("#today")
    item = today_box.locator(f'.day-lesson[data-lesson-id="{lesson_id}"]')
    await expect(item.locator(".state")).to_have_text("Посещаемость не отмечена")
    await check_screen(tab)
    await item.get_by_role("link", name="5А, Математика", exact=True).click()
    await expect(page.locator("#view-title")).to_have_text("Математика, 5А")
    rows = page.locator("#roll tbody tr")
    await expect(rows).to_have_count(3)
    # The words agree with each student: the girl "Опоздала", the boys "Опоздал".
    await expect(page.locator(f'tr[data-student-id="{girl.id}"] .choice-late')).to_have_text("Опоздала")
    await expect(page.locator(f'tr[data-student-id="{boy.id}"] .choice-late')).to_have_text("Опоздал")
    await check_screen(tab)

    # Keyboard only, from the work type select above the table: Tab to a student's row, arrows within it.
    order = [s.id for s in (child, girl, boy)]
    listed = [int(x) for x in await rows.evaluate_all("rows => rows.map(r => r.dataset.studentId)")]
    assert sorted(listed) == sorted(order)
    await page.focus("#roll-work-type")
    for student_id in listed:
        await page.keyboard.press("Tab")  # the row's attendance (one stop for the group)
        focused = await page.evaluate("() => document.activeElement.id")
        assert focused == f"att-{student_id}-present", focused
        if student_id == child.id:
            await page.keyboard.press("ArrowRight")  # absent
            await page.keyboard.press("Tab")  # the reason, enabled now
            assert await page.evaluate("() => document.activeElement.id") == f"reason-{child.id}"
            await page.keyboard.press("ArrowDown")  # illness
        elif student_id == girl.id:
            await page.keyboard.press("ArrowRight")
            await page.keyboard.press("ArrowRight")  # late: no reason to give, the reason is skipped
        await page.keyboard.press("Tab")  # the new grade of the row
        assert await page.evaluate("() => document.activeElement.id") == f"new-grade-{student_id}"
    await page.keyboard.press("Shift+Tab")
    await page.keyboard.press("Enter")  # Enter on a row saves the whole class
    await expect(page.locator("#roll-status")).to_have_text("Посещаемость сохранена: 3 ученика.")
    await expect(page.locator(f'tr[data-student-id="{child.id}"]')).to_have_attribute("data-status", "absent")
    await shot(page, "teacher-lesson")

    # The parent's open diary shows the absence without a reload.
    await diary.locator("#attendance li.att-absent").filter(has_text="Математика: отсутствовал (болезнь)").wait_for()
    await diary.locator(".toast").filter(has_text="отсутствовал на уроке: Математика").wait_for()

    # Back on the day: the lesson's attendance is taken.
    await page.get_by_role("link", name="Мои классы").click()
    await expect(item.locator(".state")).to_have_text("Посещаемость отмечена")
    await shot(page, "teacher-day")
    tab.assert_clean()
    parent_tab.assert_clean()


async def test_topic_and_homework_set_on_the_lesson_reach_the_students_diary(
        browsers: Browsers, school: BuiltSchool, ctx: AppContext) -> None:
    cls = school.classes[0]
    maths = school.subject_ids["Математика"]
    # The Wednesday of the week the diary opens on (the browser's week; the machine's clock is UTC).
    utc_today = datetime.now(UTC).date()
    [lesson_id] = await add_lessons(ctx, school, cls.id, maths, [utc_today - timedelta(days=utc_today.weekday() - 2)],
                                    hour=9)
    student_tab = await browsers.login(school.student(0, 0).email, expect_path="/diary")
    diary = student_tab.page
    lesson = diary.locator(f'.lesson[data-lesson-id="{lesson_id}"]')
    await expect(lesson.locator(".homework")).to_have_text("Д/З не задано")

    tab = await browsers.login(school.teacher_of(cls.id, maths).email, expect_path="/teacher")
    page = tab.page
    await page.goto(f"/teacher?lesson={lesson_id}")
    await page.get_by_role("textbox", name="Тема урока").fill("Сложение дробей")
    await page.get_by_role("textbox", name="Домашнее задание").fill("№ 245, 247")
    await page.get_by_role("button", name="Сохранить тему и задание").click()
    await expect(page.locator("#topic-status")).to_have_text("Сохранено. Ученики и родители видят это в дневнике.")
    await lesson.locator(".homework").filter(has_text="Д/З: № 245, 247").wait_for()
    await expect(lesson.locator(".lesson-topic")).to_have_text("Тема: Сложение дробей")
    await check_screen(tab)
    tab.assert_clean()
    student_tab.assert_clean()


async def weekdays_before(day: date, count: int) -> list[date]:
    days: list[date] = []
    current = day
    while len(days) < count:
        current -= timedelta(days=1)
        if current.weekday() < 5:
            days.append(current)
    return sorted(days)


async def test_a_grade_is_put_changed_and_deleted_in_the_grid_with_its_history(
        browsers: Browsers, school: BuiltSchool, ctx: AppContext, client: TestClient, factory: Factory) -> None:
    cls = school.classes[0]
    maths = school.subject_ids["Математика"]
    days = await weekdays_before(school_today(), 30)  # a grid wider than the window: it scrolls inside its box
    lessons = await add_lessons(ctx, school, cls.id, maths, days, hour=9)
    teacher = school.teacher_of(cls.id, maths)
    kid = school.user(cls.student_ids[0])

    tab = await browsers.login(teacher.email, expect_path="/teacher")
    page = tab.page
    other_tab = await browsers.login(teacher.email, expect_path="/teacher")  # the same teacher, another window
    for p in (page, other_tab.page):
        await p.locator(".class-item").get_by_role("link", name="Журнал: 5А, Математика").click()
        await expect(p.locator("#view-title")).to_have_text("Математика, 5А")
        await expect(p.locator("#grid .cell")).to_have_count(3 * 30)
    await check_screen(tab)

    # The last lesson's cell of the student: a digit opens it with that grade chosen.
    row = [int(x) for x in await page.locator("#grid tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.studentId)")].index(kid.id)
    cell = page.locator(f'#grid .cell[data-row="{row}"][data-col="29"]')
    await cell.focus()
    await page.keyboard.press("4")
    dialog = page.locator("#cell-dialog")
    await expect(dialog).to_be_visible()
    await expect(dialog.get_by_label("Оценка", exact=True)).to_have_value("4")
    await dialog.get_by_label("Вид работы").select_option(label="Контрольная работа (вес 3)")
    await dialog.get_by_role("button", name="Поставить оценку").click()
    await expect(dialog.locator("#cell-status")).to_have_text("Оценка поставлена.")
    await expect(dialog.locator(".cell-grade")).to_have_count(1)
    await check_screen(tab)
    await page.keyboard.press("Escape")
    await expect(cell.locator(".grade")).to_have_text("4")
    grade_id = await cell.locator(".grade").get_attribute("data-grade-id")
    # The other window shows it without a reload.
    other_cell = other_tab.page.locator(f'#grid .grade[data-grade-id="{grade_id}"]')
    await expect(other_cell).to_have_text("4")

    # Change it: 4 -> 5, then its history says both.
    await cell.press("Enter")
    await dialog.get_by_role("button", name="Изменить оценку 4").click()
    await dialog.locator(".cell-edit select").first.select_option("5")
    await dialog.locator(".cell-edit").get_by_label("Комментарий").fill("Исправлена ошибка проверки")
    await dialog.get_by_role("button", name="Сохранить").click()
    await expect(dialog.locator("#cell-status")).to_have_text("Оценка изменена.")
    await dialog.get_by_role("button", name="История оценки 5").click()
    history = dialog.locator(".grade-history li")
    await expect(history).to_have_count(2)
    await expect(history.nth(0)).to_contain_text("Учитель0 Педагогов поставил оценку4, Контрольная работа")
    await expect(history.nth(1)).to_contain_text("Учитель0 Педагогов изменил оценку4 → 5, «Исправлена ошибка проверки»")
    await shot(page, "teacher-grade-history")
    await check_screen(tab)
    await page.keyboard.press("Escape")
    await expect(cell.locator(".grade.edited")).to_have_text("5")
    await expect(other_cell).to_have_text("5")

    # Delete it: the cell is empty, and the journal's history keeps all three steps.
    await cell.press("Enter")
    await dialog.get_by_role("button", name="Удалить оценку 5").click()
    await dialog.get_by_role("button", name="Да, удалить").click()
    await expect(dialog.locator("#cell-status")).to_have_text("Оценка удалена.")
    await page.keyboard.press("Escape")
    await expect(cell.locator(".grade")).to_have_count(0)
    await expect(other_cell).to_have_count(0)
    changes = page.locator("#changes .change")
    await expect(changes).to_have_count(3)
    await expect(changes.nth(0).locator(".change-action")).to_have_text("Учитель0 Педагогов удалил оценку")
    await expect(changes.nth(1)).to_contain_text("Учитель0 Педагогов изменил оценку")
    day = format_date(days[-1], "d MMMM", locale="ru")
    await expect(changes.nth(1)).to_contain_text(f"Ученик0, {day}: 4 → 5, «Исправлена ошибка проверки»")
    await expect(changes.nth(2)).to_contain_text("Учитель0 Педагогов поставил оценку")
    # Attendance saved elsewhere (the teacher's phone, say) shows in both open grids.
    actor = await factory.login(teacher)
    resp = await client.put(f"/api/v1/lessons/{lessons[-1]}/attendance", headers=actor.headers,
                            json={"marks": [{"student_id": kid.id, "status": "absent"}]})
    assert resp.status == 200, await resp.text()
    for p in (page, other_tab.page):
        marker = p.locator(f'#grid .cell[data-student-id="{kid.id}"][data-lesson-id="{lessons[-1]}"] .absence-absent')
        await expect(marker).to_have_text("н")
    await shot(page, "teacher-journal")
    await check_screen(tab)
    tab.assert_clean()
    other_tab.assert_clean()


async def test_marks_for_the_period_are_confirmed_and_overridden_with_a_reason(
        browsers: Browsers, school: BuiltSchool, ctx: AppContext, client: TestClient, factory: Factory) -> None:
    cls = school.classes[0]
    maths = school.subject_ids["Математика"]
    teacher_user = school.teacher_of(cls.id, maths)
    teacher = await factory.login(teacher_user)
    first, second = cls.student_ids[0], cls.student_ids[1]
    days = await weekdays_before(school_today(), 3)
    test_work = school.work_type_ids["Контрольная работа"]
    for student, values in ((first, (4, 4, 5)), (second, (4, 4, 3))):
        for day, value in zip(days, values, strict=True):
            resp = await client.post("/api/v1/grades", headers=teacher.headers, json={
                "student_id": student, "subject_id": maths, "date": day.isoformat(), "work_type_id": test_work,
                "value": value})
            assert resp.status == 201, await resp.text()
    tab = await browsers.login(teacher_user.email, expect_path="/teacher")
    page = tab.page
    await page.locator(".class-item").get_by_role("link", name="Журнал: 5А, Математика").click()
    marks = page.locator("#term-marks")
    one = marks.locator(f'tr[data-student-id="{first}"]')
    two = marks.locator(f'tr[data-student-id="{second}"]')
    await expect(one).to_have_attribute("data-state", "open")
    await expect(one.locator("td").nth(0)).to_have_text("4.33")
    await check_screen(tab)

    await one.get_by_role("button", name=re.compile("^Утвердить 4")).click()
    await expect(one).to_have_attribute("data-state", "confirmed")
    await expect(one.locator(".state")).to_contain_text("Учитель0 Педагогов утвердил")
    await expect(page.locator("#marks-status")).to_contain_text("оценка 4 утверждена")

    await two.get_by_role("button", name=re.compile("^Другая оценка")).click()
    await two.get_by_label("Оценка", exact=True).select_option("5")
    await two.get_by_role("button", name="Сохранить оценку").click()
    await expect(page.locator("#marks-status")).to_have_text("Укажите причину изменения.")
    await two.get_by_label("Причина").fill("Победа в олимпиаде")
    await two.get_by_role("button", name="Сохранить оценку").click()
    await expect(two).to_have_attribute("data-state", "overridden")
    await expect(two.locator(".state")).to_contain_text("Учитель0 Педагогов поставил 5 вместо 4")
    await expect(two.locator(".state")).to_contain_text("Причина: Победа в олимпиаде")
    await expect(two.locator(".final-mark")).to_have_text("5")
    # The grid's column of the period shows the confirmed marks.
    await expect(page.locator(f'#grid tr[data-student-id="{second}"] .term-mark.final')).to_have_text("5")
    await check_screen(tab)
    tab.assert_clean()


async def test_year_marks_are_confirmed_and_a_cancelled_lesson_is_marked_in_the_grid(
        browsers: Browsers, school: BuiltSchool, ctx: AppContext, client: TestClient, factory: Factory) -> None:
    cls = school.classes[0]
    maths = school.subject_ids["Математика"]
    teacher_user = school.teacher_of(cls.id, maths)
    teacher = await factory.login(teacher_user)
    first, second = cls.student_ids[0], cls.student_ids[1]
    t1, t2 = school.term_ids
    for student, term, final in ((first, t1, "5"), (first, t2, "4"), (second, t1, "3")):
        resp = await client.put("/api/v1/attestations", headers=teacher.headers, json={
            "student_id": student, "subject_id": maths, "term_id": term, "final": final, "comment": "Итог"})
        assert resp.status == 200, await resp.text()
    (lesson,) = await add_lessons(ctx, school, cls.id, maths, [school_today()], hour=6)
    admin = await factory.login(school.admin)
    resp = await client.put(f"/api/v1/lessons/{lesson}/cancellation", headers=admin.headers, json={"note": "Карантин"})
    assert resp.status == 200, await resp.text()

    tab = await browsers.login(teacher_user.email, expect_path="/teacher")
    page = tab.page
    await expect(page.locator(f'.day-lesson[data-lesson-id="{lesson}"] .lesson-cancelled')).to_have_text(
        "Урок отменён: Карантин")
    await page.locator(".class-item").get_by_role("link", name="Журнал: 5А, Математика").click()
    column = page.locator("#grid th.grid-col.cancelled")
    await expect(column).to_have_count(1)
    await expect(column.locator(".col-cancelled")).to_have_text("отменён")
    await expect(column).to_have_attribute("title", "Урок отменён: Карантин")

    years = page.locator("#year-marks")
    one = years.locator(f'tr[data-student-id="{first}"]')
    two = years.locator(f'tr[data-student-id="{second}"]')
    await expect(years.locator("caption")).to_contain_text("среднее оценок за периоды года")
    await expect(one.locator("td")).to_have_text(["5", "4", "5", "—", "не утверждена", re.compile("Утвердить 5")])
    await one.get_by_role("button", name=re.compile("^Утвердить 5")).click()
    await expect(one).to_have_attribute("data-state", "confirmed")
    await expect(one.locator(".final-mark")).to_have_text("5")
    await expect(page.locator("#year-status")).to_contain_text("оценка 5 утверждена")
    await two.get_by_role("button", name=re.compile("^Другая оценка")).click()
    await two.get_by_label("Оценка", exact=True).select_option("4")
    await two.get_by_role("button", name="Сохранить оценку").click()
    await expect(page.locator("#year-status")).to_have_text("Укажите причину изменения.")
    await two.get_by_label("Причина").fill("Олимпиада")
    await two.get_by_role("button", name="Сохранить оценку").click()
    await expect(two).to_have_attribute("data-state", "overridden")
    await expect(two.locator(".state")).to_contain_text("Причина: Олимпиада")
    await check_screen(tab)
    resp = await client.get(f"/api/v1/students/{second}/final-marks", headers=teacher.headers)
    year = next(s for s in (await resp.json())["subjects"] if s["subject_id"] == maths)["year"]
    assert (year["proposed"], year["final"], year["comment"]) == ("3", "4", "Олимпиада")
    tab.assert_clean()


async def test_the_class_teacher_reads_the_class_sheet_and_the_parents(
        browsers: Browsers, school: BuiltSchool, client: TestClient, factory: Factory) -> None:
    cls = school.classes[0]
    lead = school.user(cls.class_teacher_id or 0)
    russian = school.subject_ids["Русский язык"]
    history_teacher = await factory.login(school.teacher_of(cls.id, school.subject_ids["История"]))
    kid = cls.student_ids[0]
    resp = await client.post("/api/v1/grades", headers=history_teacher.headers, json={
        "student_id": kid, "subject_id": school.subject_ids["История"], "date": school_today().isoformat(),
        "work_type_id": school.work_type_ids["Ответ на уроке"], "value": 5})
    assert resp.status == 201, await resp.text()

    tab = await browsers.login(lead.email, expect_path="/teacher")
    page = tab.page
    await page.get_by_role("link", name="Ведомость и родители: 5А").click()
    await expect(page.locator("#view-title")).to_have_text("Класс 5А")
    sheet = page.locator("#term-sheet table")
    await expect(sheet.locator("thead th")).to_have_text(["Ученик", "История", "Математика", "Русский язык"])
    await expect(sheet.locator(f'tr[data-student-id="{kid}"] .sheet-avg').nth(0)).to_have_text("5.00")
    parents = page.locator("#parents tbody tr")
    await expect(parents).to_have_count(3)
    for student_id in cls.student_ids:
        [parent] = school.parents(student_id)
        row = page.locator(f'#parents tr[data-parent-id="{parent.id}"]')
        await expect(row.get_by_role("link", name=parent.email)).to_have_attribute("href", f"mailto:{parent.email}")
    await check_screen(tab)
    await shot(page, "teacher-class")
    # A grade given now by the history teacher reaches the open sheet live.
    resp = await client.post("/api/v1/grades", headers=history_teacher.headers, json={
        "student_id": kid, "subject_id": school.subject_ids["История"], "date": school_today().isoformat(),
        "work_type_id": school.work_type_ids["Ответ на уроке"], "value": 3})
    assert resp.status == 201
    await expect(sheet.locator(f'tr[data-student-id="{kid}"] .sheet-avg').nth(0)).to_have_text("4.00")
    # The class teacher reads another subject's journal without keeping it.
    await page.locator("#class-subjects").get_by_role("link", name="Журнал: 5А, Русский язык").click()
    await expect(page.locator("#journal-readonly")).to_be_visible()
    await expect(page.locator("#view-title")).to_have_text("Русский язык, 5А")
    assert russian
    await check_screen(tab)
    tab.assert_clean()


async def test_an_admin_who_teaches_keeps_their_journal_on_the_same_page(
        browsers: Browsers, school: BuiltSchool, client: TestClient, factory: Factory) -> None:
    admin = await factory.login(school.admin)
    cls = school.classes[0]
    resp = await client.post("/api/v1/assignments", headers=admin.headers, json={
        "class_id": cls.id, "subject_id": school.subject_ids["История"], "teacher_id": school.admin.id})
    assert resp.status == 201, await resp.text()
    tab = await browsers.login(school.admin.email, expect_path="/admin")  # an admin's home is the admin page
    page = tab.page
    await page.goto("/teacher")
    await expect(page.locator("#my-classes .class-item")).to_have_count(1)
    await expect(page.locator("#school-classes .class-item")).to_have_count(1)
    await check_screen(tab)
    await page.locator("#my-classes").get_by_role("link", name="Журнал: 5А, История").click()
    await expect(page.locator("#view-title")).to_have_text("История, 5А")
    await expect(page.locator("#journal-readonly")).to_be_hidden()
    await check_screen(tab)
    tab.assert_clean()
