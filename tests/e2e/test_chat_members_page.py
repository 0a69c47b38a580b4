"""The chat page and the chat's members: everyone shown online is named (parents and teachers too), and someone
who leaves the class while the page is open sees the chat go."""

from __future__ import annotations

from aiohttp.test_utils import TestClient
from playwright.async_api import expect

from tests.e2e.conftest import Browsers
from tests.support.factories import Factory
from tests.support.school import BuiltSchool


async def test_a_parent_and_a_teacher_online_in_the_class_chat_are_named(browsers: Browsers,
                                                                         school: BuiltSchool) -> None:
    cls = school.classes[0]
    student = school.student(0, 1)
    parent = school.parents(school.student(0, 0).id)[0]
    teacher = school.users[cls.class_teacher_id or cls.teacher_by_subject[school.subject(0)]]
    tabs = {}
    for who, email, start in (("student", student.email, "/diary"), ("parent", parent.email, "/diary"),
                              ("teacher", teacher.email, "/teacher")):
        tab = await browsers.login(email, expect_path=start)
        await tab.page.goto(f"/chat?channel=class:{cls.id}")
        await tab.page.locator("#message-list .empty").wait_for()
        tabs[who] = tab
    page = tabs["student"].page
    online = page.locator("#online")
    await online.filter(has_text="Школьников Родитель0").wait_for()
    await online.filter(has_text="Педагогов Учитель").wait_for()
    assert "Участник №" not in await online.inner_text()
    for tab in tabs.values():
        tab.assert_clean()


async def test_a_student_unenrolled_while_the_chat_is_open_sees_it_go(
    browsers: Browsers, school: BuiltSchool, client: TestClient, factory: Factory,
) -> None:
    cls = school.classes[0]
    student = school.student(0, 2)
    tab = await browsers.login(student.email, expect_path="/diary")
    page = tab.page
    await page.goto(f"/chat?channel=class:{cls.id}")
    await page.locator("#message-list .empty").wait_for()
    await expect(page.locator("#channels")).to_contain_text("Класс")  # the class chat is its only chat
    # The removal reaches the open page only once its socket is subscribed to the chat (it is not replayed); the
    # page says who is online from that moment on.
    await expect(page.locator("#online")).not_to_be_empty()

    admin = await factory.login(school.admin)
    resp = await client.delete(f"/api/v1/classes/{cls.id}/students/{student.id}", headers=admin.headers)
    assert resp.status == 204, await resp.text()

    await expect(page.locator("#chat-notice")).to_contain_text("больше не участник")
    await expect(page.locator("#send-form")).to_be_hidden()
    await expect(page.locator("#channels")).not_to_contain_text("Класс")
    # A message sent to the class afterwards never shows here.
    teacher = await factory.login(school.users[cls.teacher_by_subject[school.subject(0)]])
    resp = await client.post(f"/api/v1/chats/class:{cls.id}/messages", headers=teacher.headers,
                             json={"text": "Только для класса"})
    assert resp.status == 201
    await page.wait_for_timeout(500)
    assert "Только для класса" not in await page.locator("body").inner_text()
    tab.assert_clean()
