"""A school's administrator runs the school from the browser, by keyboard alone: adds a teacher by invitation,
creates a class, assigns the teacher, builds the class's week (a clash is shown before anything is saved), adds a
student and a parent; the teacher and the parent see the result in their own browsers, live where the app is live.
Every text on the way is Russian."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

from aiohttp.test_utils import TestClient
from playwright.async_api import Route, expect

from edutrack.context import AppContext
from tests.e2e.admin_support import accept_invitation, assert_no_english, emails_to, lessons_of_class
from tests.e2e.conftest import Browsers
from tests.e2e.keyboard import Choose, Day, fill_by_keyboard, tab_to
from tests.e2e.test_russian_ui import RECORD_MESSAGES, assert_russian
from tests.support.diary import auth, body_of
from tests.support.school import BuiltSchool


async def test_an_admin_adds_a_teacher_and_a_class_and_builds_its_week(
        browsers: Browsers, school: BuiltSchool, client: TestClient, ctx: AppContext) -> None:
    tab = await browsers.login(school.admin.email, expect_path="/admin")
    page = tab.page
    await page.add_init_script(RECORD_MESSAGES)

    # People: a teacher, invited; nobody types her password.
    await page.goto("/admin/people")
    await page.locator("#people table").wait_for()
    await fill_by_keyboard(page, [
        ("invite-role", Choose("Учитель")), ("invite-last", "Соколова"), ("invite-first", "Марина"),
        ("invite-middle", "Игоревна"), ("invite-email", "m.sokolova@example.test"), ("invite-gender", None),
    ], submit="Отправить приглашение")
    await expect(page.locator("#invite-form .form-status")).to_have_text(
        "Соколова Марина приглашена: письмо со ссылкой для выбора пароля уже в пути.")
    await expect(page.locator("#person-title")).to_have_text("Соколова Марина Игоревна")
    await expect(page.locator("#person-facts")).to_contain_text("Приглашена; ссылка действует до")
    [mail] = await emails_to(ctx, "m.sokolova@example.test")
    assert mail["kind"] == "invitation"
    assert "Здравствуйте, Марина Игоревна!" in str(mail["body_text"])
    await accept_invitation(client, ctx, "m.sokolova@example.test")

    # Classes: 6В with her as its class teacher, listed after 5А.
    await page.locator(".admin-nav").get_by_role("link", name="Классы").click()
    await page.locator("#classes table").wait_for()
    await fill_by_keyboard(page, [("new-name", "6В"), ("new-grade", None), ("new-year", None),
                                  ("new-teacher", Choose("Соколова Марина"))], submit="Создать класс")
    await expect(page.locator("#new-class-form .form-status")).to_have_text("Класс 6В создан.")
    await expect(page.locator("#classes tbody th")).to_have_text(["5А", "6В"])
    await assert_no_english(page)

    # Subjects and teachers: she teaches mathematics in 6В.
    await page.locator(".admin-nav").get_by_role("link", name="Предметы и учителя").click()
    await page.locator("#teaching table").wait_for()
    await fill_by_keyboard(page, [("teaching-class", Choose("6В"))])
    await expect(page.locator("#teaching")).to_have_text("В этом классе пока никто не ведёт уроки.")
    await fill_by_keyboard(page, [("assign-subject", Choose("Математика")),
                                  ("assign-teacher", Choose("Соколова Марина"))], submit="Назначить")
    await expect(page.locator("#assign-form .form-status")).to_have_text(
        "Назначено: Соколова Марина Игоревна ведёт «Математика» в 6В.")

    # The timetable: a lesson today; a second one overlapping it is shown as a clash before anything is saved.
    await page.locator(".admin-nav").get_by_role("link", name="Расписание").click()
    await page.locator("#week .day").first.wait_for()
    await fill_by_keyboard(page, [("tt-class", Choose("6В"))])
    await expect(page.locator("#lesson-subject option")).to_have_text(["Математика"])
    class_id = int(await page.locator("#tt-class").input_value())
    lesson = [("lesson-date", None), ("lesson-starts", "0900AM"), ("lesson-ends", "0945AM"),
              ("lesson-subject", None), ("lesson-teacher", None), ("lesson-room", "204")]
    await fill_by_keyboard(page, lesson)
    check = page.locator("#lesson-check")
    await expect(check).to_have_text("Пересечений нет: класс, учитель и кабинет в это время свободны.")
    await tab_to(page, "Сохранить урок")
    await page.keyboard.press("Enter")
    await expect(page.locator("#lesson-form .form-status")).to_have_text("Урок добавлен: Математика.")
    await expect(page.locator("#week .slot")).to_have_count(1)

    await fill_by_keyboard(page, [*lesson[:1], ("lesson-starts", "0930AM"), ("lesson-ends", "1015AM"), *lesson[3:]])
    await expect(check).to_contain_text("1 пересечение; сохранить не получится:")
    await expect(check).to_contain_text("У класса 6В уже есть урок: Математика в классе 6В")
    assert await lessons_of_class(ctx, class_id) == 1  # shown, not saved
    await fill_by_keyboard(page, [*lesson[:1], ("lesson-starts", "1000AM"), ("lesson-ends", "1045AM"), *lesson[3:]],
                           submit="Сохранить урок")
    await expect(page.locator("#lesson-form .form-status")).to_have_text("Урок добавлен: Математика.")
    await expect(page.locator("#week .slot")).to_have_count(2)

    # A regular week over the next two weeks of the term: checked first, then created in one step.
    monday = date.today() - timedelta(days=date.today().weekday()) + timedelta(days=7)
    await fill_by_keyboard(page, [
        ("weekly-term", None), ("weekly-from", Day(monday)), ("weekly-to", Day(monday + timedelta(days=13))),
        ("slot-0-weekday", Choose("Вторник")), ("slot-0-starts", "0900AM"), ("slot-0-ends", "0945AM"),
        ("slot-0-subject_id", None), ("slot-0-teacher_id", None), ("slot-0-room", "204"),
    ], submit="Проверить")
    result = page.locator("#weekly-result")
    await expect(result).to_have_text("Будет создано 2 урока; пересечений нет.")
    assert await lessons_of_class(ctx, class_id) == 2
    await tab_to(page, "Создать уроки")
    await page.keyboard.press("Enter")
    await expect(result).to_have_text("Создано 2 урока.")
    assert await lessons_of_class(ctx, class_id) == 4
    await assert_no_english(page)
    await assert_russian(page)

    # The teacher, in her own browser, has the class and today's lessons.
    teacher = await browsers.login("m.sokolova@example.test", expect_path="/teacher")
    await teacher.page.locator(".class-item").get_by_role("link", name="Журнал: 6В, Математика").click()
    await expect(teacher.page.locator("#view-title")).to_have_text("Математика, 6В")
    await expect(teacher.page.locator("#grid")).to_contain_text("В классе нет учеников.")  # a new, empty class
    tab.assert_clean()
    teacher.assert_clean()


async def test_an_admin_adds_a_student_and_a_parent_who_sees_the_changes_live(
        browsers: Browsers, school: BuiltSchool, client: TestClient, ctx: AppContext) -> None:
    cls = school.classes[0]
    admin_headers = auth(ctx, school.admin)
    other = await body_of(await client.post("/api/v1/classes", headers=admin_headers, json={
        "name": "5Б", "grade_level": 5, "academic_year_id": school.year_id}), 201)
    tab = await browsers.login(school.admin.email, expect_path="/admin")
    page = tab.page
    await page.goto("/admin/people")
    await page.locator("#people table").wait_for()

    # A student straight into 5А, then a parent linked to him, by keyboard.
    await fill_by_keyboard(page, [
        ("invite-role", Choose("Ученик")), ("invite-last", "Петров"), ("invite-first", "Иван"), ("invite-middle", None),
        ("invite-email", "ivan.petrov@example.test"), ("invite-gender", None), ("invite-class", Choose("5А")),
    ], submit="Отправить приглашение")
    await expect(page.locator("#invite-form .form-status")).to_have_text(
        "Петров Иван приглашён: письмо со ссылкой для выбора пароля уже в пути.")
    await expect(page.locator("#person-facts")).to_contain_text("5А")
    await fill_by_keyboard(page, [
        ("invite-role", Choose("Родитель")), ("invite-last", "Петрова"), ("invite-first", "Анна"),
        ("invite-middle", "Сергеевна"), ("invite-email", "anna.petrova@example.test"), ("invite-gender", None),
        ("invite-child-q", "Петров"),
    ])
    await expect(page.locator("#invite-child option")).to_have_text(["Пока без ребёнка", "Петров Иван (5А)"])
    await fill_by_keyboard(page, [("invite-child", Choose("Петров Иван"))], submit="Отправить приглашение")
    await expect(page.locator("#invite-form .form-status")).to_have_text(
        "Петрова Анна приглашена: письмо со ссылкой для выбора пароля уже в пути.")
    await expect(page.locator("#person-facts")).to_contain_text("Петров Иван")
    await accept_invitation(client, ctx, "ivan.petrov@example.test")
    await accept_invitation(client, ctx, "anna.petrova@example.test")

    # The parent, in her own browser, has her son's class chat.
    parent = await browsers.login("anna.petrova@example.test", expect_path="/diary")
    await parent.page.goto("/chat")
    chat = parent.page.locator(f'#channels [data-channel="class:{cls.id}"]')
    await expect(chat).to_be_visible()

    # The admin moves him to 5Б: the 5А chat leaves the parent's open page at once, and 5Б is hers to join.
    await page.goto("/admin/classes")
    await page.locator("#classes tbody").get_by_role("button", name="5А").click()
    await expect(page.locator("#move-student option")).to_contain_text(["Петров Иван"])
    await fill_by_keyboard(page, [("move-student", Choose("Петров Иван")), ("move-class", Choose("5Б"))],
                           submit="Перевести")
    await expect(page.locator("#roster-status")).to_have_text("Петров Иван теперь учится в 5Б.")
    await expect(chat).to_have_count(0)
    await parent.page.reload()
    await expect(parent.page.locator(f'#channels [data-channel="class:{other["id"]}"]')).to_be_visible()

    # Switched off by the admin, the parent's open page goes to the login page at once.
    await page.goto("/admin/people")
    await page.locator("#people table").wait_for()
    await fill_by_keyboard(page, [("filter-q", "anna.petrova")], submit="Найти")
    await page.locator("#people").get_by_role("button", name="Петрова Анна").click()
    await tab_to(page, "Отключить учётную запись")
    await page.keyboard.press("Enter")
    dialog = page.locator("dialog.confirm")
    await expect(dialog).to_contain_text("Отключить учётную запись: Петрова Анна?")
    await page.keyboard.press("Shift+Tab")  # from "Отмена" back to "Отключить"
    await page.keyboard.press("Enter")
    await expect(page.locator("#person-status")).to_have_text("Петрова Анна отключена и вышла на всех устройствах.")
    await parent.page.wait_for_url("**/login?next=*")
    await assert_no_english(page)
    tab.assert_clean()
    parent.assert_clean()


async def test_errors_appear_in_russian_next_to_their_fields(
        browsers: Browsers, school: BuiltSchool) -> None:
    tab = await browsers.login(school.admin.email, expect_path="/admin")
    page = tab.page
    await page.add_init_script(RECORD_MESSAGES)
    await page.goto("/admin/people")
    await page.locator("#people table").wait_for()
    form = page.locator("#invite-form")
    await fill_by_keyboard(page, [("invite-role", Choose("Учитель"))], submit="Отправить приглашение")
    for field in ("invite-last", "invite-first", "invite-email"):
        await expect(page.locator(f"#{field}-error")).to_have_text("Заполните это поле.")
        await expect(page.locator(f"#{field}")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#invite-last")).to_be_focused()

    await fill_by_keyboard(page, [("invite-last", "Иванова"), ("invite-first", "Ольга"), ("invite-middle", None),
                                  ("invite-email", "не-почта")], submit="Отправить приглашение")
    await expect(page.locator("#invite-email-error")).to_have_text("Неверный адрес электронной почты.")
    await expect(page.locator("#invite-last-error")).to_have_text("")
    await fill_by_keyboard(page, [("invite-email", school.teachers[0].email)], submit="Отправить приглашение")
    await expect(page.locator("#invite-email-error")).to_have_text("Человек с такой почтой уже зарегистрирован.")
    await expect(form.locator(".form-status")).to_have_text("Проверьте отмеченные поля.")
    await expect(page.locator("#invite-email")).to_be_focused()

    await page.goto("/admin/classes")
    await page.locator("#classes table").wait_for()
    # The form is bound in the same task that fills its year choices, after the table and the teachers load.
    await expect(page.locator("#new-class-form select[name=academic_year_id] option")).not_to_have_count(0)
    await fill_by_keyboard(page, [("new-name", "5А")], submit="Создать класс")
    await expect(page.locator("#new-class-form .form-status")).to_have_text(
        "Класс 5А в этом учебном году уже есть")
    await fill_by_keyboard(page, [("new-name", "Пятый")], submit="Создать класс")
    await expect(page.locator("#new-name-error")).to_have_text("Ожидается название класса вроде «10А» или «5Б».")
    await assert_russian(page)
    await assert_no_english(page)
    tab.assert_clean()


async def test_a_form_sent_before_its_page_is_ready_says_so_and_stays(
        browsers: Browsers, school: BuiltSchool) -> None:
    """The new-class form is bound once the school's years are in. Sent before that, the browser would submit it
    itself and put its fields in the address; the page keeps it and says to try again."""
    tab = await browsers.login(school.admin.email, expect_path="/admin")
    page = tab.page
    years_asked = asyncio.Event()
    release = asyncio.Event()

    async def hold_years(route: Route) -> None:
        years_asked.set()
        await release.wait()
        await route.continue_()

    await page.route("**/api/v1/schools/*/years", hold_years)
    await page.goto("/admin/classes")
    await asyncio.wait_for(years_asked.wait(), 10)
    await page.locator("#new-name").fill("7Г")
    await page.locator("#new-name").press("Enter")
    await expect(page.locator(".toast").last).to_contain_text("Страница ещё загружается, повторите через секунду.")
    assert page.url == browsers.base_url + "/admin/classes"
    release.set()
    await expect(page.locator("#new-class-form select[name=academic_year_id] option")).not_to_have_count(0)
    await page.locator("#new-name").press("Enter")
    await expect(page.locator("#new-class-form .form-status")).to_have_text("Класс 7Г создан.")
    tab.assert_clean()
