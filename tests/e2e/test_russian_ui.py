"""No English reaches a Russian page: error paths in real Chromium (a grade dated in the future, chat rate
limiting, an invalid reset link) show Russian from the catalogue, and repeated toasts collapse into one."""

from __future__ import annotations

import re
from datetime import date, timedelta

from playwright.async_api import Page, expect

from edutrack.context import AppContext
from tests.e2e.conftest import Browsers
from tests.support.school import BuiltSchool, add_lessons

# Every text that appears in a toast or a status/alert region, recorded as it appears (toasts go away).
RECORD_MESSAGES = """
(() => {
  window.__messages = [];
  const seen = (node) => {
    const el = node.nodeType === 1 ? node : node.parentElement;
    if (!el || !el.closest('.toast, [role="alert"], [role="status"], .error, .notice')) return;
    const box = el.closest('.toast, [role="alert"], [role="status"], .error, .notice');
    const text = (box.querySelector('.toast-text') || box).textContent.trim();
    if (text) window.__messages.push(text);
  };
  new MutationObserver((records) => records.forEach((r) => {
    r.addedNodes.forEach(seen);
    if (r.type === 'characterData') seen(r.target);
    if (r.type === 'childList') seen(r.target);
  })).observe(document, { subtree: true, childList: true, characterData: true });
})();
"""
# Two Latin words in a row: a sentence in English. Names of things (EduTrack, a class "5A") do not count.
ENGLISH = re.compile(r"\b[A-Za-z]{2,}[\s,.;:!?-]+[A-Za-z]{2,}\b")


async def messages_shown(page: Page) -> list[str]:
    found: list[str] = await page.evaluate("window.__messages || []")
    return found


async def assert_russian(page: Page) -> list[str]:
    shown = await messages_shown(page)
    english = [m for m in shown if ENGLISH.search(m.replace("EduTrack", ""))]
    assert not english, f"English on a Russian page: {english}"
    return shown


def test_the_english_check_itself() -> None:
    assert ENGLISH.search("Сообщение не отправлено: Too many messages; wait a moment")
    assert ENGLISH.search("A grade cannot be dated in the future")
    assert not ENGLISH.search("Оценку нельзя поставить будущим числом")
    assert not ENGLISH.search("Класс 5A: EduTrack")


async def test_a_grade_dated_in_the_future_is_refused_in_russian_once(
        browsers: Browsers, school: BuiltSchool, ctx: AppContext) -> None:
    cls = school.classes[0]
    maths = school.subject_ids["Математика"]
    teacher = school.teacher_of(cls.id, maths)
    # A lesson a month ahead (still in the term): its cell is there, a grade in it is refused.
    [future] = await add_lessons(ctx, school, cls.id, maths, [date.today() + timedelta(days=30)], hour=9)
    tab = await browsers.open()
    await tab.page.add_init_script(RECORD_MESSAGES)
    page = tab.page
    await page.goto("/login")
    await page.get_by_label("Электронная почта").fill(teacher.email)
    await page.get_by_label("Пароль").fill("wrong-password-1")
    await page.get_by_role("button", name="Войти").click()
    await expect(page.locator("#login-error")).to_have_text("Неверная почта или пароль.")
    from tests.support.factories import DEFAULT_PASSWORD
    await page.get_by_label("Пароль").fill(DEFAULT_PASSWORD)
    await page.get_by_role("button", name="Войти").click()
    await page.wait_for_url("**/teacher*")
    await page.locator(".class-item").get_by_role("link", name="Журнал: 5А, Математика").click()
    cell = page.locator(f'#grid .cell[data-student-id="{school.student(0, 0).id}"][data-lesson-id="{future}"]')
    await cell.click()
    dialog = page.locator("#cell-dialog")
    await dialog.get_by_label("Вид работы").select_option(label="Контрольная работа (вес 3)")
    await dialog.get_by_role("button", name="Поставить оценку").click()
    result = dialog.locator("#cell-status")
    await expect(result).to_have_text("Не сохранено: Оценку нельзя поставить будущим числом")
    shown = await assert_russian(page)
    assert "Не сохранено: Оценку нельзя поставить будущим числом" in shown
    tab.assert_clean()


async def test_chat_rate_limit_is_one_russian_toast_with_a_counter(
        browsers: Browsers, school: BuiltSchool, ctx: AppContext) -> None:
    cls = school.classes[0]
    student = school.student(0, 0)
    tab = await browsers.open()
    page = tab.page
    await page.add_init_script(RECORD_MESSAGES)
    from tests.support.factories import DEFAULT_PASSWORD
    await page.goto("/login")
    await page.get_by_label("Электронная почта").fill(student.email)
    await page.get_by_label("Пароль").fill(DEFAULT_PASSWORD)
    await page.get_by_role("button", name="Войти").click()
    await page.wait_for_url("**/diary*")
    await page.wait_for_selector('#conn-status[data-state="online"]')
    # The class chat by its address: the list also holds the school's announcements, which a student only reads.
    await page.goto(f"/chat?channel=class:{cls.id}")
    await page.wait_for_selector('#conn-status[data-state="online"]')
    await page.locator("#message-list .empty").wait_for()
    # Thirty sends at once: the socket lets twenty through and refuses the rest.
    await page.evaluate("""() => {
      const form = document.getElementById('send-form');
      const input = document.getElementById('message-input');
      for (let i = 0; i < 30; i++) { input.value = 'Сообщение ' + i; form.requestSubmit(); }
    }""")
    toast = page.locator(".toast.toast-error")
    await expect(toast).to_have_count(1)
    await expect(toast.locator(".toast-text")).to_have_text(
        "Сообщение не отправлено: Слишком много сообщений; подождите немного.")
    await expect(toast.locator(".toast-count")).to_have_text(re.compile(r"^×(\d+)$"))
    count = int((await toast.locator(".toast-count").inner_text()).lstrip("×"))
    assert count >= 5, count
    label = await toast.locator(".toast-count").get_attribute("aria-label")
    assert label is not None
    assert label.startswith("повторилось ")
    await assert_russian(page)
    tab.assert_clean()


async def test_an_invalid_reset_link_says_so_in_russian(browsers: Browsers) -> None:
    tab = await browsers.open()
    page = tab.page
    await page.add_init_script(RECORD_MESSAGES)
    await page.goto("/reset-password?token=not-a-real-token-at-all")
    await expect(page.get_by_role("heading", name="Новый пароль")).to_be_visible()
    await page.get_by_label("Новый пароль (от 8 до 128 символов)").fill("new-password-123")
    await page.get_by_label("Повторите пароль").fill("new-password-123")
    await page.get_by_role("button", name="Сохранить").click()
    await expect(page.locator("#message")).to_have_text(
        "Ссылка для восстановления недействительна или устарела. Запросите письмо ещё раз.")
    await assert_russian(page)
    # Without a token at all: the code from the email is asked for, in our words, not the browser's.
    await page.goto("/reset-password")
    await page.get_by_role("button", name="Сохранить").click()
    await expect(page.locator("#code-error")).to_have_text("Введите код из письма.")
    await expect(page.locator("#password-error")).to_have_text("Придумайте новый пароль.")
    await expect(page.locator("#message")).to_have_text("")  # the last attempt's message is gone
    await assert_russian(page)
    tab.assert_clean()


async def test_english_when_the_visitor_chooses_it(browsers: Browsers) -> None:
    tab = await browsers.open()
    page = tab.page
    await page.goto("/login")
    await page.get_by_role("link", name="English").click()
    await expect(page.get_by_role("heading", name="Sign in to the school diary")).to_be_visible()
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.locator("#login-error")).to_have_text("Enter your email and password.")
    await page.goto("/login")  # the choice is remembered
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await page.get_by_role("link", name="Русский").click()
    await expect(page.get_by_role("heading", name="Вход в электронный дневник")).to_be_visible()
    tab.assert_clean()
