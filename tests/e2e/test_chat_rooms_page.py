"""The chat page with every room kind: a parent sees the parents' room and the read-only announcements (school, class
and parallel; no composer), a teacher's message reaches the parent's open page live with the teacher's role label
and the parent's reaction goes back live, a search in Russian word forms finds a message and opens its chat, the
page fits a phone and passes axe (with search results, and with messages, labels and reactions), and a pin and slow
mode show live."""

from __future__ import annotations

import asyncio

from aiohttp.test_utils import TestClient
from playwright.async_api import Route, expect

from tests.e2e.conftest import Browsers
from tests.e2e.quality import assert_accessible, assert_fits
from tests.support.factories import Factory
from tests.support.school import BuiltSchool


async def test_a_parent_sees_the_parents_room_and_reads_announcements_without_a_composer(
    browsers: Browsers, school: BuiltSchool,
) -> None:
    cls = school.classes[0]
    parent = school.parents(school.student(0, 0).id)[0]
    tab = await browsers.login(parent.email, expect_path="/diary")
    page = tab.page
    await page.goto(f"/chat?channel=parents:{cls.id}")
    channels = page.locator("#channels")
    await expect(channels).to_contain_text("Родители 5А")
    await expect(channels).to_contain_text("Объявления школы")
    await expect(channels).to_contain_text("Объявления 5А")
    await expect(page.locator("#send-form")).to_be_visible()

    await channels.get_by_role("link", name="Объявления школы").click()
    await expect(page.locator("#room-title")).to_have_text("Объявления школы")
    await expect(page.locator("#read-only")).to_have_text("Здесь пишут только учителя и администрация")
    await expect(page.locator("#send-form")).to_be_hidden()

    # The parallel's announcements (every 5th grade of the school) read the same way.
    await channels.get_by_role("link", name="Объявления 5-х классов").click()
    await expect(page.locator("#room-title")).to_have_text("Объявления 5-х классов")
    await expect(page.locator("#read-only")).to_be_visible()
    await expect(page.locator("#send-form")).to_be_hidden()
    tab.assert_clean()


async def test_a_teachers_message_reaches_the_parents_open_room_with_the_role_label(
    browsers: Browsers, school: BuiltSchool,
) -> None:
    cls = school.classes[0]
    parent = school.parents(school.student(0, 0).id)[0]
    teacher = school.teacher_of(cls.id, school.subject(0))
    label = "классный руководитель" if teacher.id == cls.class_teacher_id else "учитель"
    p_tab = await browsers.login(parent.email, expect_path="/diary")
    t_tab = await browsers.login(teacher.email, expect_path="/teacher")
    for tab in (p_tab, t_tab):
        await tab.page.goto(f"/chat?channel=parents:{cls.id}")
        await tab.page.locator("#message-list .empty").wait_for()
        # A reaction is not replayed: it reaches a page subscribed to the chat, which says who is online from then on.
        await expect(tab.page.locator("#online")).not_to_be_empty()

    await t_tab.page.get_by_label("Сообщение", exact=True).fill("Собрание в пятницу в 18:00")
    await t_tab.page.get_by_role("button", name="Отправить").click()
    arrived = p_tab.page.locator(".message").filter(has_text="Собрание в пятницу в 18:00")
    await arrived.wait_for()
    await expect(arrived.locator(".role-label")).to_have_text(label)

    # The parent reacts; the teacher's open page sees the count live.
    await arrived.get_by_role("button", name="Нравится").click()
    await expect(arrived.get_by_role("button", name="Нравится (1)")).to_have_attribute("aria-pressed", "true")
    mine = t_tab.page.locator(".message.mine").filter(has_text="Собрание в пятницу в 18:00")
    await expect(mine.get_by_role("button", name="Нравится (1)")).to_have_attribute("aria-pressed", "false")
    p_tab.assert_clean()
    t_tab.assert_clean()


async def test_a_search_finds_other_word_forms_opens_the_chat_and_the_page_fits(
    browsers: Browsers, school: BuiltSchool, client: TestClient, factory: Factory,
) -> None:
    cls = school.classes[0]
    parent = school.parents(school.student(0, 0).id)[0]
    teacher = await factory.login(school.teacher_of(cls.id, school.subject(0)))
    resp = await client.post(f"/api/v1/chats/parents:{cls.id}/messages", headers=teacher.headers,
                             json={"text": "Во вторник контрольная по алгебре & геометрии"})
    assert resp.status == 201, await resp.text()
    tab = await browsers.login(parent.email, expect_path="/diary")
    page = tab.page

    # The chat page gets its access token by a refresh after it loads; on a busy machine that answer came after
    # the search was sent, without a token (401, no hit). A slow refresh makes that order certain: the search
    # waits for the page's start.
    async def slow_refresh(route: Route) -> None:
        await asyncio.sleep(1.5)
        await route.continue_()

    await page.route("**/api/v1/auth/refresh", slow_refresh)
    await page.goto("/chat?channel=announcements:" + str(school.id))
    await page.get_by_label("Поиск по сообщениям").fill("контрольной")
    await page.get_by_role("button", name="Найти").click()
    hit = page.locator(".search-hit")
    await expect(hit).to_have_count(1)
    await expect(hit.locator("mark")).to_have_text("контрольная")
    await expect(hit.locator(".search-snippet")).to_contain_text("алгебре & геометрии")  # unescaped once
    await expect(hit.locator(".search-chat")).to_have_text("Родители 5А")

    await assert_fits(page, (375, 768, 1280))
    await assert_accessible(page)
    await hit.locator("a").click()
    await expect(page.locator("#room-title")).to_have_text("Родители 5А")
    await expect(page.locator(".message.found")).to_contain_text("контрольная")
    await page.locator(".message.found .reaction").first.wait_for()
    await assert_fits(page, (375, 768, 1280))
    await assert_accessible(page)
    tab.assert_clean()


async def test_a_pin_and_slow_mode_set_by_the_admin_show_on_the_parents_open_room(
    browsers: Browsers, school: BuiltSchool, client: TestClient, factory: Factory,
) -> None:
    cls = school.classes[0]
    parent = school.parents(school.student(0, 0).id)[0]
    admin = await factory.login(school.admin)
    resp = await client.post(f"/api/v1/chats/parents:{cls.id}/messages", headers=admin.headers,
                             json={"text": "Родительское собрание переносится на четверг"})
    assert resp.status == 201, await resp.text()
    message_id = (await resp.json())["id"]
    tab = await browsers.login(parent.email, expect_path="/diary")
    page = tab.page
    await page.goto(f"/chat?channel=parents:{cls.id}")
    await page.locator(f'.message[data-id="{message_id}"]').wait_for()
    await expect(page.locator("#pins")).to_be_hidden()
    # The pin and the slow mode are not replayed: they reach a page subscribed to the chat, which says who is online
    # from then on (the history above comes by REST, before that).
    await expect(page.locator("#online")).not_to_be_empty()

    resp = await client.put(f"/api/v1/chats/parents:{cls.id}/messages/{message_id}/pin", headers=admin.headers)
    assert resp.status == 204, await resp.text()
    await expect(page.locator("#pin-list")).to_contain_text("Родительское собрание переносится на четверг")
    await expect(page.get_by_role("heading", name="Закреплённые сообщения")).to_be_visible()

    resp = await client.put(f"/api/v1/chats/parents:{cls.id}/slow-mode", headers=admin.headers, json={"seconds": 30})
    assert resp.status == 200, await resp.text()
    await expect(page.locator("#chat-mode")).to_have_text("Медленный режим: одно сообщение раз в 30 секунд.")
    tab.assert_clean()
