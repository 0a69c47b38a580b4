"""The rest of the administrator's pages in Chromium: a dead email sent again, a lesson moved (its clash shown before
saving) and cancelled, a superuser's new school and its administrator, and every page checked at three widths,
with axe-core and for English; a teacher who opens /admin is told, in Russian, that it is not for them."""

from __future__ import annotations

from datetime import date

from aiohttp.test_utils import TestClient
from playwright.async_api import Page, expect
from sqlalchemy import update

from edutrack.context import AppContext
from edutrack.db.models import EmailOutbox
from edutrack.queries import outbox as outbox_q
from tests.e2e.admin_support import accept_invitation, assert_no_english, lessons_of_class
from tests.e2e.conftest import Browsers
from tests.e2e.keyboard import Choose, fill_by_keyboard, tab_to
from tests.e2e.quality import assert_accessible, assert_fits
from tests.support.diary import auth, body_of
from tests.support.factories import Factory
from tests.support.school import BuiltSchool


async def dead_email(ctx: AppContext, user_id: int, recipient: str) -> int:
    async with ctx.sessions.begin() as session:
        [outbox_id] = await outbox_q.insert_many(session, [{
            "recipient": recipient, "subject": "Сводка за день", "body_text": "Текст", "body_html": None,
            "kind": "digest", "user_id": user_id}])
        await session.execute(update(EmailOutbox).where(EmailOutbox.id == outbox_id).values(
            status="dead", attempts=5, last_error="550 5.1.1 Mailbox unavailable"))
        return outbox_id


async def test_an_admin_sends_a_dead_email_again(browsers: Browsers, school: BuiltSchool, ctx: AppContext) -> None:
    pupil = school.student(0, 0)
    outbox_id = await dead_email(ctx, pupil.id, pupil.email)
    tab = await browsers.login(school.admin.email, expect_path="/admin")
    page = tab.page
    await expect(page.locator("#attention")).to_contain_text("1 письмо не удалось доставить.")
    await page.locator("#attention").get_by_role("link", name="Открыть почту").click()
    await page.wait_for_url("**/admin/outbox")
    row = page.locator("#outbox tbody tr")
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text("Не доставлено · 5 попыток")
    await expect(row.locator("code.server-answer")).to_have_text("550 5.1.1 Mailbox unavailable")
    await assert_no_english(page)
    await fill_by_keyboard(page, [("outbox-status", None)])
    await tab_to(page, "Отправить снова")
    await page.keyboard.press("Enter")
    await expect(page.locator("#outbox-result")).to_have_text(f"Письмо для {pupil.email} снова в очереди.")
    await expect(page.locator("#outbox-count")).to_have_text("Писем нет.")
    async with ctx.sessions() as session:
        found = await session.get(EmailOutbox, outbox_id)
        assert found is not None and found.status == "pending" and found.attempts == 0
    tab.assert_clean()


async def test_a_lesson_is_moved_with_its_clash_shown_first_and_one_is_cancelled(
        browsers: Browsers, school: BuiltSchool, client: TestClient, ctx: AppContext) -> None:
    cls = school.classes[0]
    maths, history = school.subject_ids["Математика"], school.subject_ids["История"]
    today = date.today().isoformat()
    headers = auth(ctx, school.admin)
    for subject, start, end in ((maths, "09:00", "09:45"), (history, "10:00", "10:45")):
        await body_of(await client.post("/api/v1/lessons", headers=headers, json={
            "class_id": cls.id, "subject_id": subject, "teacher_id": cls.teacher_by_subject[subject],
            "starts_at": f"{today}T{start}:00", "ends_at": f"{today}T{end}:00"}), 201)
    tab = await browsers.login(school.admin.email, expect_path="/admin")
    page = tab.page
    await page.goto("/admin/timetable")
    slots = page.locator("#week .slot")
    await expect(slots).to_have_count(2)
    await slots.filter(has_text="История").get_by_role("button", name="Изменить").click()
    await expect(page.locator("#lesson-title")).to_contain_text("Изменить урок: История")
    await expect(page.locator("#lesson-check")).to_have_text(
        "Пересечений нет: класс, учитель и кабинет в это время свободны.")
    await fill_by_keyboard(page, [("lesson-date", None), ("lesson-starts", "0930AM"), ("lesson-ends", "1015AM")])
    await expect(page.locator("#lesson-check")).to_contain_text("У класса 5А уже есть урок: Математика")
    await fill_by_keyboard(page, [("lesson-starts", "1100AM"), ("lesson-ends", "1145AM")], submit="Сохранить урок")
    await expect(page.locator("#lesson-form .form-status")).to_have_text("Урок перенесён: История.")
    await expect(slots.filter(has_text="История")).to_contain_text("11:00–11:45")

    await slots.filter(has_text="Математика").get_by_role("button", name="Отменить урок").click()
    await expect(page.locator("dialog.confirm")).to_contain_text("Отменить урок «Математика, 09:00»?")
    await page.keyboard.press("Shift+Tab")
    await page.keyboard.press("Enter")
    await expect(page.locator("#week-status")).to_have_text("Урок отменён: Математика, 09:00.")
    await expect(slots).to_have_count(1)
    assert await lessons_of_class(ctx, cls.id) == 1
    await assert_no_english(page)
    tab.assert_clean()


async def test_a_superuser_creates_a_school_and_its_administrator(
        browsers: Browsers, factory: Factory, client: TestClient, ctx: AppContext) -> None:
    root = await factory.user("admin", is_superuser=True, first_name="Системный", last_name="Администратор")
    tab = await browsers.login(root.email, expect_path="/admin/schools")
    page = tab.page
    await expect(page.locator("#schools")).to_have_text("Школ пока нет: создайте первую ниже.")
    await fill_by_keyboard(page, [("new-school-name", "Гимназия № 7"), ("new-school-address", "ул. Ленина, 1"),
                                  ("new-school-timezone", Choose("Екатеринбург"))], submit="Создать школу")
    await expect(page.locator("#new-school-form .form-status")).to_have_text("Школа создана: Гимназия № 7.")
    await expect(page.locator("#school-title")).to_have_text("Гимназия № 7")
    await expect(page.locator("#admins")).to_have_text("Администраторов пока нет.")
    await fill_by_keyboard(page, [("admin-last", "Орлова"), ("admin-first", "Вера"), ("admin-middle", "Павловна"),
                                  ("admin-email", "v.orlova@example.test")], submit="Отправить приглашение")
    await expect(page.locator("#admin-invite-form .form-status")).to_have_text(
        "Орлова Вера приглашена: письмо со ссылкой для выбора пароля уже в пути.")
    await expect(page.locator("#admins tbody tr")).to_contain_text(["Орлова Вера"])
    await expect(page.locator("#admins tbody tr")).to_contain_text(["Приглашение отправлено"])
    await assert_no_english(page)
    await accept_invitation(client, ctx, "v.orlova@example.test")

    head = await browsers.login("v.orlova@example.test", expect_path="/admin")
    await expect(head.page.locator("#admin-school")).to_have_text("Гимназия № 7")
    await expect(head.page.locator("#attention")).to_contain_text(
        "Сегодняшний день не входит ни в один учебный период.")
    await page.get_by_role("link", name="Управлять этой школой").click()
    await page.wait_for_url("**/admin?school=*")
    await expect(page.locator("#admin-school")).to_have_text("Гимназия № 7")
    tab.assert_clean()
    head.assert_clean()


ADMIN_PAGES = ["/admin", "/admin/people", "/admin/classes", "/admin/subjects", "/admin/calendar", "/admin/timetable",
               "/admin/outbox", "/admin/schools"]


async def open_what_the_page_can_open(path: str, page: Page) -> None:
    """The cards a page opens on demand are checked too: a person, a class, a school."""
    opener = {"/admin/people": "#people tbody button", "/admin/classes": "#classes tbody button",
              "/admin/schools": "#schools tbody button"}.get(path)
    if opener:
        await page.locator(opener).first.click()
        await page.locator("[id$=-card]:not([hidden])").first.wait_for()


async def test_every_admin_page_fits_is_accessible_and_russian(
        browsers: Browsers, school: BuiltSchool, ctx: AppContext) -> None:
    pupil = school.student(0, 0)
    await dead_email(ctx, pupil.id, pupil.email)
    tab = await browsers.login(school.admin.email, expect_path="/admin")
    page = tab.page
    for path in ADMIN_PAGES:
        await page.goto(path)
        await page.wait_for_selector('#conn-status[data-state="online"]')
        await page.locator("#admin-content:not([hidden])").wait_for()
        await page.wait_for_load_state("networkidle")
        await open_what_the_page_can_open(path, page)
        await assert_fits(page)
        await assert_accessible(page)
        await assert_no_english(page)
    tab.assert_clean()


async def test_a_teacher_is_told_the_admin_pages_are_not_theirs(browsers: Browsers, school: BuiltSchool) -> None:
    tab = await browsers.login(school.teachers[0].email, expect_path="/teacher")
    await tab.page.goto("/admin/people")
    await expect(tab.page.locator("#admin-blocked")).to_have_text("Эти страницы — для администраторов школы.")
    await expect(tab.page.locator("#admin-content")).to_be_hidden()
    await assert_accessible(tab.page)
    tab.assert_clean()
