"""The account in the browser: one login shared by the tabs (and one sign-out for all of them), the forgotten
password from the email's code to the next login, the profile (name, password) and the sessions list."""

from __future__ import annotations

import asyncio
import re

from aiohttp.test_utils import TestClient
from playwright.async_api import Dialog, expect

from edutrack.context import AppContext
from tests.e2e.admin_support import assert_no_english, emails_to
from tests.e2e.conftest import Browsers
from tests.e2e.quality import assert_accessible, assert_fits
from tests.support.factories import DEFAULT_PASSWORD, Factory
from tests.support.school import BuiltSchool

NEW_PASSWORD = "fresh-violet-harbour-42"


async def test_one_login_for_every_tab_and_one_sign_out_for_all(browsers: Browsers, school: BuiltSchool) -> None:
    child = school.student(0, 0)
    tab = await browsers.login(child.email, expect_path="/diary")
    second = await tab.context.new_page()  # a new tab of the same browser: no login form
    await second.goto("/chat")
    await second.wait_for_selector('#conn-status[data-state="online"]')
    assert second.url.endswith("/chat") or "/chat?" in second.url
    login_page = await tab.context.new_page()
    await login_page.goto("/login")  # the login page of a signed-in browser moves on
    await login_page.wait_for_url("**/diary")

    await second.get_by_role("button", name="Выйти").click()
    await second.wait_for_url("**/login")
    await tab.page.wait_for_url("**/login*")  # the first tab left too, without a click
    await login_page.wait_for_url("**/login*")
    assert "edutrack_refresh" not in {c["name"] for c in await tab.context.cookies()}
    await tab.page.goto("/diary")
    await tab.page.wait_for_url("**/login?next=%2Fdiary")
    tab.assert_clean()


async def test_forgotten_password_by_the_code_in_the_email(
    browsers: Browsers, school: BuiltSchool, ctx: AppContext,
) -> None:
    parent = school.parents(school.student(0, 1).id)[0]
    tab = await browsers.open(phone=True)
    page = tab.page
    await page.goto("/login")
    await page.get_by_role("link", name="Забыли пароль?").click()
    await page.wait_for_url("**/forgot-password")
    await assert_fits(page)
    await assert_accessible(page)
    button = page.get_by_role("button", name="Прислать ссылку")
    await button.click()  # nothing typed: our words, next to the field
    await expect(page.locator("#email-error")).to_have_text("Введите адрес электронной почты.")
    await page.get_by_label("Электронная почта").fill("not-an-address")
    await button.click()
    await expect(page.locator("#email-error")).to_have_text(
        "Это не похоже на адрес электронной почты: нужен вида name@example.ru.")
    await page.get_by_label("Электронная почта").fill(parent.email)
    await button.click()
    await expect(page.get_by_text("Если этот адрес зарегистрирован, письмо со ссылкой и кодом уже в пути.",
                                  exact=False)).to_be_visible()
    await assert_no_english(page)

    mail = await _wait_for_reset_email(ctx, parent.email)
    code = re.search(r"reset-password\?token=([A-Za-z0-9_\-]+)", str(mail["body_text"]))
    assert code, mail["body_text"]
    await page.get_by_role("link", name="У меня есть код").click()
    await page.wait_for_url("**/reset-password")
    await assert_fits(page)
    await assert_accessible(page)
    save = page.get_by_role("button", name="Сохранить")
    await page.get_by_label("Код из письма").fill("wrong-code-123456")
    await page.get_by_label("Новый пароль (от 8 до 128 символов)").fill(NEW_PASSWORD)
    await page.get_by_label("Повторите пароль").fill(NEW_PASSWORD + "x")
    await save.click()
    await expect(page.locator("#password2-error")).to_have_text("Пароли не совпадают.")
    await page.get_by_label("Повторите пароль").fill(NEW_PASSWORD)
    await save.click()
    await expect(page.locator("#code-error")).to_have_text(
        "Ссылка для восстановления недействительна или устарела. Запросите письмо ещё раз.")
    await expect(page.locator("#password2-error")).to_have_text("")  # no stale message
    # Typed as a person would: lower case, spaces for the dashes, O for the zero.
    typed = code.group(1).replace("-", " ").replace("0", "O").lower()
    await page.get_by_label("Код из письма").fill(f"  {typed} ")
    await save.click()
    await expect(page.get_by_text("Пароль изменён.", exact=False)).to_be_visible()
    await assert_no_english(page)
    await page.get_by_role("link", name="Войти").click()
    await page.wait_for_url("**/login")
    await page.get_by_label("Электронная почта").fill(parent.email)
    await page.get_by_label("Пароль").fill(NEW_PASSWORD)
    await page.get_by_role("button", name="Войти").click()
    await page.wait_for_url("**/diary*")
    tab.assert_clean()


async def _wait_for_reset_email(ctx: AppContext, email: str) -> dict[str, object]:
    for _ in range(100):  # written by a background task after the 202
        found = [m for m in await emails_to(ctx, email) if m["kind"] == "password_reset"]
        if found:
            return found[-1]
        await asyncio.sleep(0.1)
    raise AssertionError(f"no reset email to {email}")


async def test_profile_name_and_password(browsers: Browsers, school: BuiltSchool, client: TestClient) -> None:
    teacher = school.teachers[0]
    tab = await browsers.login(teacher.email, expect_path="/teacher")
    page = tab.page
    await page.get_by_role("link", name="Профиль").click()
    await page.wait_for_url("**/profile")
    await expect(page.locator("#profile-email")).to_have_text(teacher.email)
    await assert_fits(page)
    await assert_accessible(page)

    await page.get_by_label("Имя", exact=True).fill("")
    await page.get_by_role("button", name="Сохранить").click()
    await expect(page.locator("#first_name-error")).to_have_text("Заполните это поле.")
    await page.get_by_label("Имя", exact=True).fill("Варвара")
    await page.get_by_label("раз в день, одним письмом").check()
    await page.get_by_role("button", name="Сохранить").click()
    await expect(page.locator("#profile-form .form-status")).to_have_text("Сохранено.")
    await expect(page.locator("#first_name-error")).to_have_text("")
    await expect(page.locator("#user-name")).to_contain_text("Варвара")

    await page.get_by_label("Текущий пароль").fill("not-my-password")
    await page.get_by_label("Новый пароль (от 8 до 128 символов)").fill(NEW_PASSWORD)
    await page.get_by_label("Повторите пароль").fill(NEW_PASSWORD)
    await page.get_by_role("button", name="Сменить пароль").click()
    await expect(page.locator("#current_password-error")).to_have_text("Текущий пароль неверен.")
    await page.get_by_label("Текущий пароль").fill(DEFAULT_PASSWORD)
    await page.get_by_role("button", name="Сменить пароль").click()
    await expect(page.locator("#password-form .form-status")).to_have_text(
        "Пароль изменён. На других устройствах выполнен выход.")

    await page.reload()  # this browser is still signed in, with the new login
    await expect(page.get_by_label("Имя", exact=True)).to_have_value("Варвара")
    await expect(page.get_by_label("раз в день, одним письмом")).to_be_checked()
    resp = await client.post("/api/v1/auth/login", json={"email": teacher.email, "password": NEW_PASSWORD})
    assert resp.status == 200
    tab.assert_clean()


async def test_sessions_list_and_sign_out_everywhere(
    browsers: Browsers, school: BuiltSchool, client: TestClient, factory: Factory,
) -> None:
    child = school.student(0, 2)
    phone = await factory.login(child)  # another device
    tab = await browsers.login(child.email, expect_path="/diary")
    page = tab.page
    await page.goto("/profile")
    sessions = page.locator("#session-list .session")
    await expect(sessions).to_have_count(2)
    await expect(page.locator("#session-list .session.current")).to_contain_text("этот браузер")

    await sessions.filter(has_not=page.locator(".tag")).get_by_role("button").click()
    await expect(sessions).to_have_count(1)
    assert (await client.post("/api/v1/auth/refresh", json={"refresh_token": phone.refresh_token})).status == 401

    other = await factory.login(child)
    other_tab = await tab.context.new_page()
    await other_tab.goto("/diary")
    await other_tab.wait_for_selector('#conn-status[data-state="online"]')
    await page.reload()
    await expect(sessions).to_have_count(2)

    async def accept(dialog: Dialog) -> None:
        assert dialog.message == "Выйти на всех устройствах, включая этот браузер?"
        await dialog.accept()

    page.once("dialog", accept)
    await page.get_by_role("button", name="Выйти на всех устройствах").click()
    await page.wait_for_url("**/login")
    await other_tab.wait_for_url("**/login*")
    assert (await client.post("/api/v1/auth/refresh", json={"refresh_token": other.refresh_token})).status == 401
    tab.assert_clean()


async def test_register_page_signs_the_new_account_in(browsers: Browsers) -> None:
    tab = await browsers.open()
    page = tab.page
    await page.goto("/login")
    await page.get_by_role("link", name="Зарегистрироваться").click()
    await page.wait_for_url("**/register")
    await assert_fits(page)
    await assert_accessible(page)
    await page.get_by_role("button", name="Зарегистрироваться").click()
    await expect(page.locator("#last_name-error")).to_have_text("Заполните это поле.")
    await page.get_by_label("родитель").check()
    await page.get_by_label("Фамилия").fill("Соколова")
    await page.get_by_label("Имя", exact=True).fill("Марина")
    await page.get_by_label("Электронная почта").fill("marina.sokolova@example.test")
    await page.get_by_label("Пароль (от 8 до 128 символов)").fill("password123")
    await page.get_by_label("Повторите пароль").fill("password123")
    await page.get_by_role("button", name="Зарегистрироваться").click()
    await expect(page.locator("#password-error")).not_to_have_text("")  # a common password, said in Russian
    await assert_no_english(page)
    await page.get_by_label("Пароль (от 8 до 128 символов)").fill(NEW_PASSWORD)
    await page.get_by_label("Повторите пароль").fill(NEW_PASSWORD)
    await page.get_by_role("button", name="Зарегистрироваться").click()
    await page.wait_for_url("**/diary")
    await page.wait_for_selector('#conn-status[data-state="online"]')
    tab.assert_clean()
