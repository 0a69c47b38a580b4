"""At a small phone's width (375x740) the diary and chat pages fit the screen: no horizontal scrolling, and the
main controls are on screen and usable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiohttp.test_utils import TestClient
from playwright.async_api import Locator, Page

from edutrack.context import AppContext
from tests.e2e.conftest import Browsers, shot
from tests.support.factories import Factory
from tests.support.school import BuiltSchool, add_lessons

PHONE = (375, 740)


async def assert_no_horizontal_scroll(page: Page) -> None:
    widths = await page.evaluate("""() => {
        const root = document.scrollingElement;
        const wide = [...document.querySelectorAll("body *")]
            .filter(n => n.getBoundingClientRect().right > root.clientWidth + 0.5 && n.getClientRects().length)
            .filter(n => !n.closest(".table-wrap, .visually-hidden, [hidden]"))
            .map(n => n.tagName.toLowerCase() + (n.id ? "#" + n.id : "") + (n.className ? "." + n.className : ""));
        return {scroll: root.scrollWidth, client: root.clientWidth, wide: wide.slice(0, 10)};
    }""")
    assert widths["client"] == PHONE[0], widths
    assert widths["scroll"] <= widths["client"], widths


async def assert_on_screen(*controls: Locator) -> None:
    for control in controls:
        assert await control.is_visible(), control
        box = await control.bounding_box()
        assert box is not None, control
        assert box["x"] >= 0, (control, box)
        assert box["x"] + box["width"] <= PHONE[0] + 0.5, (control, box)


async def test_diary_and_chat_fit_a_phone_screen(
    browsers: Browsers, school: BuiltSchool, ctx: AppContext, client: TestClient, factory: Factory,
) -> None:
    cls = school.classes[0]
    maths = school.subject_ids["Математика"]
    today = datetime.now(UTC).date()
    monday = today - timedelta(days=today.weekday())
    lesson_ids = await add_lessons(ctx, school, cls.id, maths, [monday + timedelta(days=i) for i in range(5)],
                                   hour=9, room="12")
    child = school.student(0, 0)
    parent = school.parents(child.id)[0]
    teacher = await factory.login(school.teacher_of(cls.id, maths))
    resp = await client.patch(f"/api/v1/lessons/{lesson_ids[0]}", headers=teacher.headers, json={
        "topic": "Сложение и вычитание обыкновенных дробей с разными знаменателями",
        "homework": "Учебник, параграф 12, номера 245–250; повторить правило приведения к общему знаменателю"})
    assert resp.status == 200, await resp.text()
    for value in (5, 4, 3, 5, 2, 4, 5, 5):
        resp = await client.post("/api/v1/grades", headers=teacher.headers, json={
            "student_id": child.id, "subject_id": maths, "work_type_id": school.work_type_ids["Ответ на уроке"],
            "date": today.isoformat(), "value": value, "comment": "Работа у доски"})
        assert resp.status == 201, await resp.text()
    resp = await client.put(f"/api/v1/lessons/{lesson_ids[0]}/attendance", headers=teacher.headers,
                            json={"marks": [{"student_id": child.id, "status": "absent", "reason": "illness"}]})
    assert resp.status == 200, await resp.text()

    # The parent's diary: child picker, week navigation, term, feed, logout, lessons, grades, attendance.
    p_tab = await browsers.login(parent.email, size=PHONE, expect_path="/diary")
    page = p_tab.page
    await page.locator(".grade").nth(7).wait_for()
    await page.locator("#attendance li.att-absent").wait_for()
    await page.locator(".lesson .homework").filter(has_text="параграф 12").wait_for()
    await shot(page, "diary-phone-375")
    await assert_no_horizontal_scroll(page)
    await assert_on_screen(page.get_by_label("Ребёнок"), page.get_by_role("button", name="Предыдущая неделя"),
                           page.get_by_role("button", name="Следующая неделя"), page.get_by_label("Период"),
                           page.get_by_role("button", name="Уведомления"), page.get_by_role("button", name="Выйти"),
                           page.get_by_role("link", name="Дневник"), page.get_by_role("link", name="Чаты"),
                           page.locator(".lesson").first, page.locator("#grades .average"))
    # The feed panel opens inside the screen, and a toast fits too.
    await page.get_by_role("button", name="Уведомления").click()
    await assert_on_screen(page.locator("#feed-panel"))
    await assert_no_horizontal_scroll(page)
    await page.keyboard.press("Escape")

    # The student's chat, with a long message and a long unbroken word.
    s_tab = await browsers.login(child.email, size=PHONE, expect_path="/diary")
    chat = s_tab.page
    await chat.get_by_role("link", name="Чаты").click()
    await chat.wait_for_url(f"**/chat?channel=class:{cls.id}")
    await chat.locator("#message-list .empty").wait_for()
    text = "Ссылка на задание: https://school.example.org/" + "очень-длинный-адрес-" * 8 + " и ещё пояснение к задаче"
    await chat.get_by_label("Сообщение").fill(text)
    await chat.get_by_role("button", name="Отправить").click()
    await chat.locator(".message.mine").filter(has_text="и ещё пояснение").wait_for()
    await shot(chat, "chat-phone-375")
    await assert_no_horizontal_scroll(chat)
    await assert_on_screen(chat.get_by_label("Сообщение"), chat.get_by_role("button", name="Отправить"),
                           chat.locator(f'.channel-link[data-channel="class:{cls.id}"]'),
                           chat.locator(".message.mine").first, chat.get_by_role("button", name="Уведомления"))
    p_tab.assert_clean()
    s_tab.assert_clean()
