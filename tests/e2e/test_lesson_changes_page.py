"""The administrator's lesson changes page (/admin/changes) in Chromium: a cover refused for a clash (the API's
Russian words) and then given, a room changed, a move refused for the class's clash, a lesson cancelled with a
reason and restored, and one moved and moved back from the list of upcoming changes; the page fits a phone,
passes axe-core and is Russian."""

from __future__ import annotations

from datetime import date

from aiohttp.test_utils import TestClient
from playwright.async_api import expect
from sqlalchemy import select

from edutrack.context import AppContext
from edutrack.db.diary import Lesson
from tests.e2e.admin_support import assert_no_english
from tests.e2e.conftest import Browsers, school_year_start
from tests.e2e.quality import assert_accessible, assert_fits
from tests.support.diary import auth, body_of
from tests.support.school import build_school


async def test_an_admin_covers_moves_cancels_and_restores_lessons(
        browsers: Browsers, client: TestClient, ctx: AppContext) -> None:
    school = await build_school(ctx, classes=2, students_per_class=1, parents_per_student=1,
                                year_start=school_year_start(date.today()))
    mine, other = school.classes
    maths, history = school.subject_ids["Математика"], school.subject_ids["История"]
    busy, free = other.teacher_by_subject[maths], other.teacher_by_subject[history]
    assert len({busy, free, mine.teacher_by_subject[maths], mine.teacher_by_subject[history]}) == 4
    today = date.today().isoformat()
    headers = auth(ctx, school.admin)
    ids = {}
    for cls, subject, start, end in ((mine, maths, "09:00", "09:45"), (mine, history, "10:00", "10:45"),
                                     (other, maths, "09:00", "09:45")):
        lesson = await body_of(await client.post("/api/v1/lessons", headers=headers, json={
            "class_id": cls.id, "subject_id": subject, "teacher_id": cls.teacher_by_subject[subject],
            "starts_at": f"{today}T{start}:00", "ends_at": f"{today}T{end}:00"}), 201)
        ids[(cls.id, subject)] = lesson["id"]
    tab = await browsers.login(school.admin.email, expect_path="/admin")
    page = tab.page
    await page.goto(f"/admin/changes?class_id={mine.id}")
    slots = page.locator("#cw-week .slot")
    await expect(slots).to_have_count(2)
    await expect(page.locator("#upcoming")).to_have_text("Впереди изменений нет.")

    # A cover who teaches elsewhere at that time: refused, with the clash named as the API names it.
    await slots.filter(has_text="Математика").get_by_role("button", name="Выбрать").click()
    await expect(page.locator("#change-state")).to_have_text("Урок идёт по расписанию.")
    await page.select_option("#cover-teacher", str(busy))
    await page.locator("#cover-form").get_by_role("button", name="Назначить замену").click()
    clash = "уже ведёт урок: Математика в классе 5Б"
    await expect(page.locator("#cover-form .form-status")).to_contain_text(clash)
    await expect(page.locator("#change-check")).to_contain_text(clash)
    await page.select_option("#cover-teacher", str(free))
    await page.fill("#cover-note", "Учитель на курсах")
    await page.locator("#cover-form").get_by_role("button", name="Назначить замену").click()
    await expect(page.locator("#change-status")).to_contain_text("Замена назначена:")
    await expect(page.locator("#change-state")).to_contain_text("Замена: ")
    await expect(page.locator("#upcoming tbody tr")).to_have_count(1)

    # The room changes; a move onto the class's other lesson is refused with its clash.
    await page.fill("#move-room", "214")
    await page.locator("#move-form").get_by_role("button", name="Сохранить изменение").click()
    await expect(page.locator("#move-form .form-status")).to_have_text("")
    await expect(page.locator("#change-status")).to_contain_text("Урок изменён: Математика")
    await expect(slots.filter(has_text="Математика")).to_contain_text("кабинет 214")
    await slots.filter(has_text="История").get_by_role("button", name="Выбрать").click()
    await page.fill("#move-starts", "09:30")
    await page.fill("#move-ends", "10:15")
    await page.locator("#move-form").get_by_role("button", name="Сохранить изменение").click()
    await expect(page.locator("#change-check")).to_contain_text("У класса 5А уже есть урок: Математика")

    # Cancelled with a reason, listed, then restored from the list.
    await page.fill("#cancel-note", "Экскурсия")
    await page.locator("#cancel-form").get_by_role("button", name="Отменить урок").click()
    await expect(page.locator("#change-status")).to_contain_text("Урок отменён: История")
    await expect(page.locator("#change-state")).to_have_text("Урок отменён: Экскурсия")
    await expect(page.locator("#move-form button[type=submit]")).to_be_disabled()
    rows = page.locator("#upcoming tbody tr")
    await expect(rows).to_have_count(2)
    await expect(rows.filter(has_text="История")).to_contain_text("Урок отменён: Экскурсия")
    await expect(slots.filter(has_text="История")).to_contain_text("Урок отменён: Экскурсия")
    async with ctx.sessions() as session:
        cancelled = (await session.execute(select(Lesson.cancelled_at, Lesson.change_note)
                                           .where(Lesson.id == ids[(mine.id, history)]))).one()
        covered = (await session.execute(select(Lesson.teacher_id, Lesson.regular_teacher_id, Lesson.room)
                                         .where(Lesson.id == ids[(mine.id, maths)]))).one()
    assert cancelled.cancelled_at is not None
    assert cancelled.change_note == "Экскурсия"
    assert tuple(covered) == (free, mine.teacher_by_subject[maths], "214")
    await assert_fits(page)
    await assert_accessible(page)
    await assert_no_english(page)
    await rows.filter(has_text="История").get_by_role("button", name="Вернуть урок").click()
    await expect(page.locator("#change-status")).to_contain_text("всё-таки состоится")
    await expect(rows).to_have_count(1)
    # Moved an hour later it is listed with its planned time, and moved back from the list.
    await page.fill("#move-starts", "11:00")
    await page.fill("#move-ends", "11:45")
    await page.locator("#move-form").get_by_role("button", name="Сохранить изменение").click()
    await expect(page.locator("#change-status")).to_contain_text("Урок изменён: История")
    await expect(rows.filter(has_text="История")).to_contain_text("Перенесён с ")
    await rows.filter(has_text="История").get_by_role("button", name="Вернуть на прежнее время").click()
    await expect(page.locator("#change-status")).to_contain_text("Урок возвращён на прежнее время: История")
    await expect(slots.filter(has_text="История")).to_contain_text("10:00–10:45")
    await expect(rows).to_have_count(1)
    await rows.get_by_role("button", name="Снять замену").click()
    await expect(page.locator("#change-status")).to_contain_text("снова ведёт")
    await expect(page.locator("#upcoming")).to_have_text("Впереди изменений нет.")
    tab.assert_clean()
