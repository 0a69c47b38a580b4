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
from tests.e2e.keyboard import Choose, Day, fill_by_keyboard, tab_to
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
        assert found is not None
        assert found.status == "pending"
        assert found.attempts == 0
    tab.assert_clean()


async def test_a_lesson_is_moved_with_its_clash_shown_first_and_one_put_in_by_mistake_is_deleted(
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

    # Deleting is for a lesson put in by mistake; the dialog points to the page where a lesson is cancelled.
    await slots.filter(has_text="Математика").get_by_role("button", name="Удалить урок: Математика, 09:00").click()
    await expect(page.locator("dialog.confirm")).to_contain_text("Удалить урок «Математика, 09:00» из расписания?")
    await expect(page.locator("dialog.confirm")).to_contain_text("отмените его на странице «Изменения уроков»")
    await page.keyboard.press("Shift+Tab")
    await page.keyboard.press("Enter")
    await expect(page.locator("#week-status")).to_have_text("Урок удалён: Математика, 09:00.")
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
               "/admin/changes", "/admin/outbox", "/admin/schools"]


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


async def test_the_other_forms_by_keyboard(browsers: Browsers, school: BuiltSchool, client: TestClient,
                                           ctx: AppContext) -> None:
    """Subjects, years and terms, a class's own form and its enrolment, a person's links and class, a school:
    each filled and sent with the keyboard alone."""
    pupil = school.student(0, 0)
    parent = school.parents(pupil.id)[0]
    loner = await body_of(await client.post("/api/v1/invitations", headers=auth(ctx, school.admin), json={
        "email": "lone.pupil@example.test", "role": "student", "first_name": "Олег", "last_name": "Одинцов"}), 201)
    tab = await browsers.login(school.admin.email, expect_path="/admin")
    page = tab.page

    await page.goto("/admin/subjects")
    await page.locator("#subjects table").wait_for()
    await fill_by_keyboard(page, [("subject-name", "Астрономия")], submit="Добавить предмет")
    await expect(page.locator("#subject-form .form-status")).to_have_text("Добавлено: Астрономия.")
    await page.get_by_role("button", name="Переименовать: Астрономия").focus()
    await page.keyboard.press("Enter")
    await expect(page.locator("#subject-name")).to_be_focused()
    await fill_by_keyboard(page, [("subject-name", "Астрономия и космос")], submit="Сохранить")
    await expect(page.locator("#subjects tbody")).to_contain_text("Астрономия и космос")

    await page.goto("/admin/calendar")
    await page.locator("#years .year").first.wait_for()
    next_year = date.today().year + 1
    await fill_by_keyboard(page, [("year-name", f"{next_year}/{next_year + 1}"),
                                  ("year-starts", Day(date(next_year, 9, 1))),
                                  ("year-ends", Day(date(next_year + 1, 5, 31)))], submit="Добавить год")
    await expect(page.locator("#year-form .form-status")).to_have_text(f"Сохранено: {next_year}/{next_year + 1}.")
    # The years are read again after the save's answer; the list and the term form's year choices are drawn together.
    await expect(page.locator("#years")).to_contain_text(f"{next_year}/{next_year + 1}")
    await fill_by_keyboard(page, [("term-year", Choose(f"{next_year}/")), ("term-name", "1 четверть"),
                                  ("term-starts", Day(date(next_year, 9, 1))),
                                  ("term-ends", Day(date(next_year, 10, 27)))], submit="Добавить период")
    await expect(page.locator("#term-form .form-status")).to_have_text("Сохранено: 1 четверть.")
    await expect(page.locator("#years")).to_contain_text(f"{next_year}/{next_year + 1}")

    await page.goto("/admin/classes")
    await page.locator("#classes tbody").get_by_role("button", name="5А").click()
    await expect(page.locator("#roster tbody tr")).to_have_count(3)
    await fill_by_keyboard(page, [("edit-name", "5А"), ("edit-grade", None), ("edit-year", None),
                                  ("edit-teacher", Choose("Не назначен"))], submit="Сохранить класс")
    await expect(page.locator("#class-form .form-status")).to_have_text("Сохранено.")
    await expect(page.locator("#classes tbody")).to_contain_text("не назначен")
    await fill_by_keyboard(page, [("enrol-q", "Одинцов")])
    await expect(page.locator("#enrol-student option")).to_have_text(["Одинцов Олег"])
    await fill_by_keyboard(page, [("enrol-student", None)], submit="Зачислить")
    await expect(page.locator("#roster-status")).to_have_text("Одинцов Олег теперь учится в 5А.")
    await expect(page.locator("#roster tbody tr")).to_have_count(4)

    await page.goto("/admin/people")
    await fill_by_keyboard(page, [("filter-q", parent.email)], submit="Найти")
    await expect(page.locator("#people-count")).to_have_text("Найден 1 человек")
    await page.locator("#people tbody button").click()
    await fill_by_keyboard(page, [("link-q", "Одинцов")])
    await expect(page.locator("#link-person option")).to_have_text(["Одинцов Олег (5А)"])
    await fill_by_keyboard(page, [("link-person", None)], submit="Привязать")
    await expect(page.locator("#person-status")).to_have_text("Привязано.")
    await expect(page.locator("#person-facts")).to_contain_text("Одинцов Олег")
    await fill_by_keyboard(page, [("filter-q", "lone.pupil")], submit="Найти")
    await expect(page.locator("#people tbody button")).to_have_text(["Одинцов Олег"])
    await page.locator("#people tbody button").click()
    await expect(page.locator("#enrol-title")).to_have_text("Перевести в другой класс")
    other = await body_of(await client.post("/api/v1/classes", headers=auth(ctx, school.admin), json={
        "name": "5Б", "grade_level": 5, "academic_year_id": school.year_id}), 201)
    await page.reload()
    await fill_by_keyboard(page, [("filter-q", "lone.pupil")], submit="Найти")
    await expect(page.locator("#people tbody button")).to_have_text(["Одинцов Олег"])
    await page.locator("#people tbody button").click()
    await fill_by_keyboard(page, [("enrol-class", Choose("5Б"))], submit="Перевести")
    await expect(page.locator("#person-status")).to_have_text("Готово: класс изменён.")
    await expect(page.locator("#person-facts")).to_contain_text("5Б")
    assert loner["id"]
    assert other["id"]

    await page.goto("/admin/schools")
    await expect(page.locator("#school-title")).to_have_text(school.name)
    await fill_by_keyboard(page, [("edit-school-name", school.name), ("edit-school-address", "ул. Садовая, 5"),
                                  ("edit-school-timezone", Choose("Самара"))], submit="Сохранить школу")
    await expect(page.locator("#school-form .form-status")).to_have_text("Сохранено.")
    await expect(page.locator("#schools tbody")).to_contain_text("Europe/Samara")
    await assert_no_english(page)
    tab.assert_clean()


async def test_a_superuser_works_on_a_school_by_its_pages(
        browsers: Browsers, school: BuiltSchool, factory: Factory) -> None:
    root = await factory.user("admin", is_superuser=True)
    tab = await browsers.login(root.email, expect_path="/admin/schools")
    page = tab.page
    await page.locator("#schools tbody").get_by_role("button", name=school.name).click()
    await page.locator(".admin-nav").get_by_role("link", name="Люди").click()
    await page.wait_for_url(f"**/admin/people?school={school.id}")
    await expect(page.locator("#admin-school")).to_have_text(school.name)
    await expect(page.locator("#people-count")).to_have_text(f"Найдено {len(school.users)} человек")
    await page.locator(".admin-nav").get_by_role("link", name="Классы").click()
    await expect(page.locator("#classes tbody th")).to_have_text(["5А"])
    await page.goto("/admin/people")  # without a school: back to choosing one
    await page.wait_for_url("**/admin/schools")
    tab.assert_clean()
