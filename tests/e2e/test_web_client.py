"""The web client in two (or three) real headless Chromium tabs against a real app, PostgreSQL and Redis:
a grade posted on the teacher's page shows up live on the parent's diary; two students chat; a tab that goes
offline and comes back shows what it missed."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from aiohttp.test_utils import TestClient
from playwright.async_api import Browser, expect

from edutrack.context import AppContext
from edutrack.keys import CTX
from tests.e2e.conftest import Browsers, base_url, shot
from tests.realtime.helpers import seed_messages
from tests.support.environment import AppFactory
from tests.support.factories import DEFAULT_PASSWORD, Factory
from tests.support.school import BuiltSchool, add_lessons


def this_week() -> list[date]:
    today = datetime.now(UTC).date()
    monday = today - timedelta(days=today.weekday())
    return [monday + timedelta(days=i) for i in range(5)]


async def test_teacher_grade_and_homework_appear_live_on_parents_diary(
    browsers: Browsers, school: BuiltSchool, ctx: AppContext, client: TestClient, factory: Factory,
) -> None:
    cls = school.classes[0]
    maths = school.subject_ids["Математика"]
    lesson_ids = await add_lessons(ctx, school, cls.id, maths, this_week(), hour=9, room="12")
    child = school.student(0, 0)
    parent = school.parents(child.id)[0]
    teacher = school.teacher_of(cls.id, maths)

    parent_tab = await browsers.login(parent.email, expect_path="/diary")
    page = parent_tab.page
    await page.wait_for_selector(".lesson")
    assert await page.locator(".lesson").count() == 5
    await expect(page.locator("#grades")).to_have_text("Оценок пока нет.", use_inner_text=True)

    teacher_tab = await browsers.login(teacher.email, expect_path="/teacher")
    tpage = teacher_tab.page
    await tpage.locator(".class-item").get_by_role("link", name="Журнал: 5А, Математика").click()
    # Monday's lesson: it has begun whatever day of the week the suite runs.
    await tpage.locator(f'#grid .cell[data-student-id="{child.id}"][data-lesson-id="{lesson_ids[0]}"]').click()
    dialog = tpage.locator("#cell-dialog")
    await dialog.get_by_label("Вид работы").select_option(label="Контрольная работа (вес 3)")
    await dialog.get_by_label("Оценка", exact=True).select_option("5")
    await dialog.get_by_label("Комментарий").fill("Отличная контрольная")
    await dialog.get_by_role("button", name="Поставить оценку").click()
    await expect(dialog.locator("#cell-status")).to_have_text("Оценка поставлена.")
    grade_id = await dialog.locator(".cell-grade").get_attribute("data-grade-id")
    assert grade_id is not None
    await tpage.keyboard.press("Escape")
    # The journal reloads with the new grade and the average.
    await expect(tpage.locator(f'#grid tr[data-student-id="{child.id}"] .average')).to_have_text("5.00")

    # Without a reload: the parent's open diary shows the grade, the average and a toast.
    await page.locator(f'.grade[data-grade-id="{grade_id}"].fresh').wait_for()
    row = page.locator(f'tr[data-subject-id="{maths}"]')
    await expect(row.locator(".average")).to_have_text("5.00", use_inner_text=True)
    await page.locator(".toast").filter(has_text="Новая оценка: Математика: 5 (Контрольная работа)").wait_for()
    await expect(page.locator("#feed-badge")).to_have_text("1", use_inner_text=True)

    # Homework set by the teacher (over REST) reaches the open schedule live as well.
    actor = await factory.login(teacher)
    resp = await client.patch(f"/api/v1/lessons/{lesson_ids[0]}", headers=actor.headers,
                              json={"homework": "№ 245, 247", "topic": "Дроби"})
    assert resp.status == 200, await resp.text()
    await page.locator(f'.lesson[data-lesson-id="{lesson_ids[0]}"] .homework').filter(has_text="№ 245, 247").wait_for()
    await page.locator(".toast").filter(has_text="Домашнее задание: Математика").wait_for()
    await shot(page, "diary-parent")
    await shot(tpage, "teacher")

    # The feed lists both; opening it marks them read; Escape closes it and gives focus back.
    toggle = page.get_by_role("button", name="Уведомления")
    await toggle.click()
    assert await page.locator("#feed-list .feed-item").count() == 2
    await page.locator("#feed-badge").wait_for(state="hidden")
    await page.keyboard.press("Escape")
    await page.locator("#feed-panel").wait_for(state="hidden")
    assert await toggle.evaluate("node => node === document.activeElement")
    parent_tab.assert_clean()
    teacher_tab.assert_clean()


async def test_two_students_chat_live_and_a_tab_back_from_offline_shows_what_it_missed(
    browsers: Browsers, school: BuiltSchool,
) -> None:
    cls = school.classes[0]
    anna, boris = school.student(0, 0), school.student(0, 1)
    a_tab = await browsers.login(anna.email, expect_path="/diary")
    b_tab = await browsers.login(boris.email, phone=True, expect_path="/diary")
    a, b = a_tab.page, b_tab.page
    for page in (a, b):
        await page.get_by_role("link", name="Чаты").click()
        await page.wait_for_url(f"**/chat?channel=class:{cls.id}")
        await page.locator("#message-list .empty").wait_for()

    # Each sees the other online.
    await a.locator("#online").filter(has_text="Школьников Ученик1").wait_for()
    await b.locator("#online").filter(has_text="Школьников Ученик0").wait_for()

    # Anna writes; Boris sees it, and sees her typing first.
    await a.get_by_label("Сообщение").type("Привет")
    await b.locator("#typing").filter(has_text="печатает").wait_for()
    await a.get_by_label("Сообщение").type(", кто решил задачу 5?")
    await a.get_by_label("Сообщение").press("Enter")
    await b.locator(".message").filter(has_text="Привет, кто решил задачу 5?").wait_for()
    await a.locator(".message.mine").filter(has_text="Привет, кто решил задачу 5?").wait_for()

    # Boris answers with the button; Anna sees it.
    await b.get_by_label("Сообщение").fill("Я решил, ответ 42")
    await b.get_by_role("button", name="Отправить").click()
    await a.locator(".message").filter(has_text="Я решил, ответ 42").wait_for()
    await shot(a, "chat")

    # Boris loses the network. Anna writes three messages while he is away.
    await b_tab.context.set_offline(True)
    await b.wait_for_selector('#conn-status[data-state="offline"]')
    missed = ["Завтра контрольная", "Не забудьте циркуль", "Начало в 9:00"]
    for text in missed:
        await a.get_by_label("Сообщение").fill(text)
        await a.get_by_label("Сообщение").press("Enter")
        await a.locator(".message.mine").filter(has_text=text).wait_for()
    assert await b.locator(".message").filter(has_text=missed[0]).count() == 0

    # Back online: the tab reconnects by itself, resumes from its last id and shows exactly what it missed.
    await b_tab.context.set_offline(False)
    await b.wait_for_selector('#conn-status[data-state="online"]')
    await b.locator("#chat-notice").filter(has_text="пришло 3 новых сообщения").wait_for()
    for text in missed:
        await b.locator(".message.missed").filter(has_text=text).wait_for()
    texts = await b.locator("#message-list .message .message-text").all_inner_texts()
    assert texts == ["Привет, кто решил задачу 5?", "Я решил, ответ 42", *missed]
    ids = [int(i) for i in await b.locator("#message-list .message").evaluate_all(
        "nodes => nodes.map(n => n.dataset.id)")]
    assert ids == sorted(set(ids))
    assert len(ids) == 5

    # And it is live again in both directions.
    await b.get_by_label("Сообщение").fill("Спасибо, я снова в сети")
    await b.get_by_label("Сообщение").press("Enter")
    await a.locator(".message").filter(has_text="Спасибо, я снова в сети").wait_for()
    await shot(b, "chat-phone-after-reconnect")
    a_tab.assert_clean()
    b_tab.assert_clean()


async def test_chat_history_pages_back_and_unread_badges_move_live(
    browsers: Browsers, school: BuiltSchool, client: TestClient, factory: Factory,
) -> None:
    cls = school.classes[0]
    anna_user, boris_user = school.student(0, 0), school.student(0, 1)
    anna = await factory.login(anna_user)
    # Through the service REST uses: 45 sends at once are beyond one user's send budget.
    await seed_messages(client.app[CTX], anna_user, f"class:{cls.id}", [f"Сообщение {n}" for n in range(1, 46)])
    # Two students write privately only where the school allows it (off by default).
    admin = await factory.login(school.admin)
    resp = await client.patch(f"/api/v1/schools/{school.id}/chat-policy", headers=admin.headers,
                              json={"student_student": True})
    assert resp.status == 200, await resp.text()
    low, high = sorted((anna_user.id, boris_user.id))
    dm = f"dm:{low}:{high}"
    resp = await client.post(f"/api/v1/chats/{dm}/messages", headers=anna.headers, json={"text": "Лично тебе"})
    assert resp.status == 201, await resp.text()

    tab = await browsers.login(boris_user.email, expect_path="/diary")
    page = tab.page
    # The menu says how much is unread before the chat is opened.
    await page.locator("#chat-unread-total").filter(has_text="46").wait_for()
    await page.goto(f"/chat?channel=class:{cls.id}")
    await page.locator('.message[data-id="45"]').wait_for()
    # The newest page first; the rest comes from REST pages as the reader scrolls back.
    assert await page.locator(".message").count() == 30
    await page.get_by_role("button", name="Показать более ранние сообщения").click()
    await page.locator('.message[data-id="1"]').wait_for()
    assert await page.locator(".message").count() == 45
    await page.locator("#load-older").wait_for(state="hidden")
    texts = await page.locator(".message .message-text").all_inner_texts()
    assert texts == [f"Сообщение {n}" for n in range(1, 46)]

    # Reading the open class chat clears its badge; the private chat still has one unread.
    class_link = page.locator(f'.channel-link[data-channel="class:{cls.id}"]')
    dm_link = page.locator(f'.channel-link[data-channel="{dm}"]')
    await class_link.locator(".badge").wait_for(state="detached")
    await expect(dm_link.locator(".badge")).to_have_text("1", use_inner_text=True)
    await page.locator("#chat-unread-total").filter(has_text="1").wait_for()

    # A private message arriving while another chat is open moves that chat's badge live.
    resp = await client.post(f"/api/v1/chats/{dm}/messages", headers=anna.headers, json={"text": "Ты тут?"})
    assert resp.status == 201
    await dm_link.locator(".badge").filter(has_text="2").wait_for()
    await page.locator(".toast").filter(has_text="Ты тут?").wait_for()
    await dm_link.click()
    await page.locator(".message").filter(has_text="Ты тут?").wait_for()
    await dm_link.locator(".badge").wait_for(state="detached")
    await page.locator("#chat-unread-total").wait_for(state="hidden")
    tab.assert_clean()


async def test_the_token_is_refreshed_before_it_expires_and_the_socket_stays_open(
    browser: Browser, make_client: AppFactory, school: BuiltSchool, factory: Factory,
) -> None:
    short_lived = await make_client(access_token_ttl=4)
    browsers = Browsers(browser, base_url(short_lived))
    child = school.student(0, 0)
    tab = await browsers.login(child.email, expect_path="/diary")
    page = tab.page
    # Record every state the connection indicator goes through from now on.
    await page.evaluate("""() => {
        const node = document.getElementById("conn-status");
        window.connStates = [];
        new MutationObserver(() => window.connStates.push(node.dataset.state))
            .observe(node, {attributes: true, attributeFilter: ["data-state"]});
    }""")
    first = await page.evaluate("() => window.EduTrack.session")  # in the page's memory only
    # Past the first token's expiry, with a different token in the tab.
    await page.wait_for_function(
        "exp => Date.now() / 1000 > exp + 1 && window.EduTrack.session.accessExp > exp",
        arg=first["accessExp"], polling=200)
    assert await page.locator("#conn-status").get_attribute("data-state") == "online"
    assert await page.evaluate("() => window.connStates") == []

    # The socket still delivers: a grade posted now shows up live.
    teacher = await factory.login(school.teacher_of(school.classes[0].id, school.subject(0)))
    resp = await short_lived.post("/api/v1/grades", headers=teacher.headers, json={
        "student_id": child.id, "subject_id": school.subject(0),
        "work_type_id": school.work_type_ids["Домашняя работа"], "date": datetime.now(UTC).date().isoformat(),
        "value": 4})
    assert resp.status == 201, await resp.text()
    grade_id = (await resp.json())["id"]
    await page.locator(f'.grade[data-grade-id="{grade_id}"]').wait_for()
    # And REST calls made with the refreshed token work (the grades table was just reloaded with one).
    assert await page.evaluate("() => window.connStates") == []
    tab.assert_clean()


async def test_login_errors_logout_and_pages_without_a_session(
    browsers: Browsers, school: BuiltSchool, client: TestClient,
) -> None:
    child = school.student(0, 0)
    tab = await browsers.open(phone=True)
    page = tab.page
    # A page that needs a session sends the browser to the login page and back afterwards.
    await page.goto("/chat")
    await page.wait_for_url("**/login?next=%2Fchat")
    await page.get_by_label("Электронная почта").fill(child.email)
    await page.get_by_label("Пароль").fill("wrong-password-1")
    await page.get_by_label("Пароль").press("Enter")
    await page.get_by_role("alert").filter(has_text="Неверная почта или пароль.").wait_for()
    await page.get_by_label("Пароль").fill(DEFAULT_PASSWORD)
    await page.get_by_label("Пароль").press("Enter")
    await page.wait_for_url("**/chat?channel=*")
    await page.wait_for_selector('#conn-status[data-state="online"]')
    cookies = {c["name"]: c for c in await tab.context.cookies()}
    refresh = cookies["edutrack_refresh"]["value"]
    assert cookies["edutrack_refresh"]["httpOnly"] is True
    assert await page.evaluate("() => document.cookie.indexOf('edutrack_refresh')") == -1
    stored = await page.evaluate("() => JSON.stringify(Object.assign({}, sessionStorage, localStorage))")
    assert refresh not in stored  # nowhere a script could read it

    await page.get_by_role("button", name="Выйти").click()
    await page.wait_for_url("**/login")
    assert await page.evaluate("() => window.EduTrack.session") is None
    assert "edutrack_refresh" not in {c["name"] for c in await tab.context.cookies()}  # cleared by the server
    # Logging out revoked the refresh token on the server, not only in the tab.
    resp = await client.post("/api/v1/auth/refresh", json={"refresh_token": refresh})
    assert resp.status == 401
    await page.goto("/diary")
    await page.wait_for_url("**/login?next=%2Fdiary")
    tab.assert_clean()
