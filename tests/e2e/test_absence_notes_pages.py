"""In headless Chromium: a parent reports the child's absence on the diary, the class teacher (a second browser
context) first asks to clarify, then accepts it on the teacher's page, and the parent reads each decision; both pages
fit a phone, a tablet and a laptop and pass axe-core with the notes on them (docs/absences.md). The diary also
shows the child's final marks (term and year, docs/final-marks.md), a new one live; a parent reports some lessons
of a day, picked from the child's timetable; a parent attaches a certificate's photo in the form and a PDF to the
open note, and the class teacher sees both (the photo's thumbnail) and downloads the PDF."""

from __future__ import annotations

import re
from datetime import date, timedelta

from aiohttp.test_utils import TestClient
from playwright.async_api import expect

from edutrack.context import AppContext
from tests.e2e.conftest import WAIT_MS, Browsers, school_year_start, shot
from tests.e2e.quality import assert_accessible, assert_fits
from tests.files.helpers import PDF_BYTES, png_bytes
from tests.support.factories import Factory
from tests.support.school import add_lessons, build_school


async def test_a_parents_note_is_questioned_then_accepted_by_the_class_teacher(
    browsers: Browsers, ctx: AppContext,
) -> None:
    school = await build_school(ctx, classes=1, students_per_class=1, parents_per_student=1,
                                year_start=school_year_start(date.today()))
    kid = school.student(0, 0)
    class_teacher_id = school.classes[0].class_teacher_id
    assert class_teacher_id is not None

    parent = (await browsers.login(school.parents(kid.id)[0].email, expect_path="/diary")).page
    form = parent.locator("#note-form")
    await expect(form).to_be_visible()
    await expect(parent.locator("#notes")).to_contain_text("Заявлений пока нет.")
    # Our own message, next to the field (the form is novalidate): no first day.
    await parent.get_by_label("Первый день", exact=True).fill("")
    await form.get_by_role("button", name="Отправить заявление").click()
    await expect(parent.locator("#note-from-error")).to_have_text("Укажите первый день.")
    await expect(parent.get_by_label("Первый день", exact=True)).to_have_attribute("aria-invalid", "true")

    await parent.get_by_label("Первый день", exact=True).fill(date.today().isoformat())
    await parent.get_by_label("Причина").select_option("illness")
    await parent.get_by_label("Комментарий для классного руководителя").fill("Температура")
    await form.get_by_role("button", name="Отправить заявление").click()
    await expect(form.locator(".form-status")).to_have_text("Заявление отправлено классному руководителю.")
    note = parent.locator(".note").first
    await expect(note.locator(".note-status")).to_have_text("на рассмотрении")
    note_id = await note.get_attribute("data-note-id")
    await assert_fits(parent)
    await assert_accessible(parent)

    teacher = (await browsers.login(school.user(class_teacher_id).email, expect_path="/teacher")).page
    item = teacher.locator(f'.review-note[data-note-id="{note_id}"]')
    await expect(item).to_contain_text("Температура")
    await assert_fits(teacher)
    await assert_accessible(teacher)
    await shot(teacher, "teacher-absence-notes")
    await item.get_by_role("button", name="Уточнить").click()
    await expect(item.get_by_label("Что уточнить у родителя?")).to_be_focused()
    await item.get_by_role("button", name="Отправить вопрос").click()
    await expect(item.locator(".field-error")).to_have_text("Напишите, что нужно уточнить.")
    await item.get_by_label("Что уточнить у родителя?").fill("Нужна справка от врача")
    await item.get_by_role("button", name="Отправить вопрос").click()
    await expect(item).to_have_attribute("data-status", "questioned")
    await expect(teacher.locator("#review-title")).to_be_focused()  # the keyboard stays by the notes

    questioned = parent.locator(f'.note[data-note-id="{note_id}"]')
    await expect(questioned.locator(".note-status")).to_have_text("уточнение", timeout=WAIT_MS)
    await expect(questioned.locator(".note-decision")).to_have_text("Классный руководитель: Нужна справка от врача")
    await shot(parent, "diary-absence-notes")

    await teacher.locator(f'.review-note[data-note-id="{note_id}"]').get_by_role("button", name="Принять").click()
    await expect(teacher.locator(f'.review-note[data-note-id="{note_id}"]')).to_have_count(0)
    await expect(teacher.locator("#review-card")).to_be_hidden()
    await expect(teacher.locator("#view-title")).to_be_focused()
    await parent.reload()
    await expect(parent.locator(f'.note[data-note-id="{note_id}"] .note-status')).to_have_text("принята")
    for tab in browsers.tabs:
        tab.assert_clean()


async def test_the_diary_shows_the_childs_term_and_year_marks_live(
    browsers: Browsers, ctx: AppContext, client: TestClient, factory: Factory,
) -> None:
    school = await build_school(ctx, classes=1, students_per_class=1, parents_per_student=1,
                                year_start=school_year_start(date.today()))
    kid = school.student(0, 0)
    maths = school.subject_ids["Математика"]
    t1, t2 = school.term_ids
    teacher = await factory.login(school.teacher_of(school.classes[0].id, maths))
    resp = await client.put("/api/v1/attestations", headers=teacher.headers, json={
        "student_id": kid.id, "subject_id": maths, "term_id": t1, "final": "5", "comment": "Итог"})
    assert resp.status == 200, await resp.text()

    page = (await browsers.login(school.parents(kid.id)[0].email, expect_path="/diary")).page
    row = page.locator(f'.finals-table tr[data-subject-id="{maths}"]')
    await expect(row.locator("th")).to_have_text("Математика")
    await expect(row.locator("td")).to_have_text(["5", "—", "5 (предварительная)"])
    await expect(page.locator(".finals-table thead th")).to_have_text(["Предмет", "1 четверть", "2 четверть", "Год"])

    resp = await client.put("/api/v1/attestations", headers=teacher.headers, json={
        "student_id": kid.id, "subject_id": maths, "term_id": t2, "final": "3", "comment": "Итог"})
    assert resp.status == 200, await resp.text()
    await expect(row.locator("td")).to_have_text(["5", "3", "4 (предварительная)"], timeout=WAIT_MS)
    resp = await client.put("/api/v1/year-marks", headers=teacher.headers, json={
        "student_id": kid.id, "subject_id": maths, "year_id": school.year_id})
    assert resp.status == 200, await resp.text()
    await expect(row.locator("td.final-year")).to_have_text("4", timeout=WAIT_MS)
    await shot(page, "diary-final-marks")
    await assert_fits(page)
    await assert_accessible(page)
    browsers.tabs[0].assert_clean()


async def test_a_parent_reports_some_lessons_of_a_day(browsers: Browsers, ctx: AppContext, client: TestClient,
                                                      factory: Factory) -> None:
    school = await build_school(ctx, classes=1, students_per_class=1, parents_per_student=1,
                                year_start=school_year_start(date.today()))
    kid = school.student(0, 0)
    cls = school.classes[0]
    tomorrow = date.today() + timedelta(days=1)
    (maths,) = await add_lessons(ctx, school, cls.id, school.subject_ids["Математика"], [tomorrow], hour=7)
    await add_lessons(ctx, school, cls.id, school.subject_ids["История"], [tomorrow], hour=8)
    (cancelled,) = await add_lessons(ctx, school, cls.id, school.subject_ids["Русский язык"], [tomorrow], hour=9)
    admin = await factory.login(school.admin)
    resp = await client.put(f"/api/v1/lessons/{cancelled}/cancellation", headers=admin.headers, json={})
    assert resp.status == 200, await resp.text()

    parent_user = school.parents(kid.id)[0]
    page = (await browsers.login(parent_user.email, expect_path="/diary")).page
    form = page.locator("#note-form")
    await form.get_by_label("отдельные уроки одного дня").check()
    await expect(page.locator("#note-to")).to_be_hidden()
    await page.get_by_label("День", exact=True).fill(tomorrow.isoformat())
    boxes = page.locator("#note-lessons input[type=checkbox]")
    await expect(boxes).to_have_count(2)  # the cancelled lesson is not offered
    await expect(page.locator("#note-lessons label")).to_contain_text(["Математика", "История"])
    await form.get_by_role("button", name="Отправить заявление").click()
    await expect(page.locator("#note-lessons-error")).to_have_text("Отметьте хотя бы один урок.")
    await page.locator("#note-lessons label").filter(has_text="Математика").get_by_role("checkbox").check()
    await form.get_by_role("button", name="Отправить заявление").click()
    await expect(form.locator(".form-status")).to_have_text("Заявление отправлено классному руководителю.")
    await expect(page.locator(".note").first.locator(".note-lessons")).to_have_text("1 урок")
    await assert_fits(page)
    await assert_accessible(page)
    parent = await factory.login(parent_user)
    notes = (await (await client.get(f"/api/v1/absence-notes?student_id={kid.id}", headers=parent.headers)).json())
    assert [(n["lesson_ids"], n["from"]) for n in notes["items"]] == [([maths], tomorrow.isoformat())]
    browsers.tabs[0].assert_clean()


async def test_a_parent_attaches_a_certificate_the_class_teacher_downloads_it(browsers: Browsers,
                                                                              ctx: AppContext) -> None:
    school = await build_school(ctx, classes=1, students_per_class=1, parents_per_student=1,
                                year_start=school_year_start(date.today()))
    kid = school.student(0, 0)
    class_teacher_id = school.classes[0].class_teacher_id
    assert class_teacher_id is not None
    parent = (await browsers.login(school.parents(kid.id)[0].email, expect_path="/diary")).page
    form = parent.locator("#note-form")
    await parent.get_by_label("Первый день", exact=True).fill(date.today().isoformat())
    await form.get_by_label("Файлы (справка от врача, если есть)").set_input_files([
        {"name": "справка.png", "mimeType": "image/png", "buffer": png_bytes((400, 300))}])
    await form.get_by_role("button", name="Отправить заявление").click()
    await expect(form.locator(".form-status")).to_have_text("Заявление отправлено классному руководителю.")
    note = parent.locator(".note").first
    await expect(note.locator(".attachment-link")).to_contain_text("справка.png")
    await expect(note.locator("img.attachment-thumb")).to_have_attribute("src", re.compile("^blob:"))
    await expect(form.get_by_label("Файлы (справка от врача, если есть)")).to_have_value("")  # the form is reset
    note_id = await note.get_attribute("data-note-id")

    teacher = (await browsers.login(school.user(class_teacher_id).email, expect_path="/teacher")).page
    item = teacher.locator(f'.review-note[data-note-id="{note_id}"]')
    await expect(item.locator("img.attachment-thumb")).to_have_attribute("src", re.compile("^blob:"))
    # A PDF added to the open note reaches the class teacher's list live.
    await note.get_by_label("Приложить файл").set_input_files([
        {"name": "выписка.pdf", "mimeType": "application/pdf", "buffer": PDF_BYTES}])
    await expect(parent.locator(f'.note[data-note-id="{note_id}"] .attachment-link')).to_have_count(2)
    pdf_link = item.locator(".attachment-link", has_text="выписка.pdf")
    await expect(pdf_link).to_contain_text("КБ", timeout=WAIT_MS)
    await assert_fits(teacher)
    await assert_accessible(teacher)
    await assert_accessible(parent)
    async with teacher.expect_download() as download_info:
        await pdf_link.click()
    download = await download_info.value
    assert download.suggested_filename == "выписка.pdf"
    assert (await download.path()).read_bytes() == PDF_BYTES  # a small file: a blocking read is nothing
    for tab in browsers.tabs:
        tab.assert_clean()
