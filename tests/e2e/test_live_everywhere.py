"""Live on every page, with a second browser context seeing the result: a teacher's grade reaches a parent's open
diary (toast and feed badge), a chat message moves the menu's chat badge on a page that is not the chat, news
written on the news page reach an open news page, a private chat is started from a name in a chat's member list,
and edits and deletes of one's own message reach the other side."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiohttp.test_utils import TestClient
from playwright.async_api import expect
from sqlalchemy import func, update

from edutrack.context import AppContext
from edutrack.db.diary import News
from edutrack.services.diary import news
from tests.e2e.conftest import Browsers, shot
from tests.e2e.quality import assert_accessible, assert_fits
from tests.support.factories import Factory
from tests.support.school import BuiltSchool, build_school


async def test_a_grade_reaches_the_parents_open_diary_with_a_toast_and_the_feed_badge(
    browsers: Browsers, school: BuiltSchool, client: TestClient, factory: Factory,
) -> None:
    cls = school.classes[0]
    child = school.student(0, 0)
    parent = school.parents(child.id)[0]
    maths = school.subject_ids["Математика"]
    teacher = await factory.login(school.teacher_of(cls.id, maths))
    tab = await browsers.login(parent.email, expect_path="/diary")
    page = tab.page
    await expect(page.locator("#feed-badge")).to_be_hidden()

    resp = await client.post("/api/v1/grades", headers=teacher.headers, json={
        "student_id": child.id, "subject_id": maths, "work_type_id": school.work_type_ids["Контрольная работа"],
        "date": datetime.now(UTC).date().isoformat(), "value": 5})
    assert resp.status == 201, await resp.text()
    grade_id = (await resp.json())["id"]

    await page.locator(".toast").filter(has_text="Новая оценка: Математика: 5").wait_for()
    await expect(page.locator("#feed-badge")).to_have_text("1", use_inner_text=True)
    await page.locator(f'.grade[data-grade-id="{grade_id}"].fresh').wait_for()
    tab.assert_clean()


async def test_a_chat_message_moves_the_menu_badge_on_a_page_that_is_not_the_chat(
    browsers: Browsers, school: BuiltSchool, client: TestClient, factory: Factory,
) -> None:
    cls = school.classes[0]
    student = school.student(0, 0)
    teacher = school.teacher_of(cls.id, school.subject(0))
    s_tab = await browsers.login(student.email, expect_path="/diary")
    t_tab = await browsers.login(teacher.email, expect_path="/teacher")
    badge = s_tab.page.locator("#chat-unread-total")
    await expect(badge).to_be_hidden()

    await t_tab.page.goto(f"/chat?channel=class:{cls.id}")
    for n, text in enumerate(("Завтра контрольная", "Не забудьте линейки"), start=1):
        await t_tab.page.get_by_label("Сообщение", exact=True).fill(text)
        await t_tab.page.get_by_role("button", name="Отправить").click()
        await t_tab.page.locator(".message.mine").filter(has_text=text).wait_for()
        await expect(badge).to_have_text(str(n), use_inner_text=True)

    # Read on another device of the same user: the badge on the diary goes back to nothing.
    device = await factory.login(student)
    resp = await client.post(f"/api/v1/chats/class:{cls.id}/read", headers=device.headers, json={"up_to": 2})
    assert resp.status == 200, await resp.text()
    await expect(badge).to_be_hidden()
    s_tab.assert_clean()
    t_tab.assert_clean()


async def test_news_written_on_the_news_page_appear_on_open_news_pages_labelled_by_audience(
    browsers: Browsers, school: BuiltSchool,
) -> None:
    cls = school.classes[0]
    parent = school.parents(school.student(0, 0).id)[0]
    a_tab = await browsers.login(school.admin.email, expect_path="/admin")
    p_tab = await browsers.login(parent.email, expect_path="/diary")
    admin, reader = a_tab.page, p_tab.page
    await reader.get_by_role("link", name="Новости").click()
    await reader.locator("#news-list").filter(has_text="Новостей пока нет.").wait_for()
    await assert_fits(reader)
    await assert_accessible(reader)

    await admin.goto("/news")
    await admin.get_by_label("Заголовок").fill("Экскурсия в музей")
    await admin.get_by_label("Текст").fill("В пятницу класс едет в музей.")
    await admin.get_by_label("Для кого").select_option("class")
    await admin.get_by_label("Класс", exact=True).select_option(str(cls.id))
    await admin.get_by_role("button", name="Сохранить").click()
    await admin.locator(".toast").filter(has_text="Черновик сохранён.").wait_for()
    draft = admin.locator(".news-item").filter(has_text="Экскурсия в музей")
    await expect(draft.locator(".news-meta")).to_contain_text("Черновик")
    await reader.wait_for_timeout(300)
    assert await reader.locator(".news-item").count() == 0  # a draft reaches nobody

    await draft.get_by_role("button", name="Опубликовать сейчас").click()
    item = reader.locator(".news-item").filter(has_text="Экскурсия в музей")
    await item.wait_for()
    await expect(item.locator(".news-audience")).to_have_text("Новости класса 5А", use_inner_text=True)
    await reader.locator(".toast").filter(has_text="Новость: Экскурсия в музей").wait_for()

    await admin.get_by_label("Заголовок").fill("Каникулы")
    await admin.get_by_label("Текст").fill("Зимние каникулы с 29 декабря.")
    await admin.get_by_label("Публикация").select_option("published")
    await admin.get_by_role("button", name="Сохранить").click()
    school_item = reader.locator(".news-item").filter(has_text="Каникулы")
    await school_item.wait_for()
    await expect(school_item.locator(".news-audience")).to_have_text("Новости школы", use_inner_text=True)
    assert await reader.get_by_role("button", name="Изменить").count() == 0  # readers do not edit
    await assert_fits(admin)
    await assert_accessible(admin)
    await shot(admin, "news-admin")
    a_tab.assert_clean()
    p_tab.assert_clean()


async def test_a_private_chat_started_from_a_name_and_edits_and_deletes_seen_by_the_other_side(
    browsers: Browsers, school: BuiltSchool,
) -> None:
    cls = school.classes[0]
    parent = school.parents(school.student(0, 0).id)[0]
    teacher = school.teacher_of(cls.id, school.subject(0))
    p_tab = await browsers.login(parent.email, expect_path="/diary")
    t_tab = await browsers.login(teacher.email, expect_path="/teacher")
    mine, theirs = p_tab.page, t_tab.page

    await mine.goto(f"/chat?channel=class:{cls.id}")
    await mine.locator("#message-list .empty").wait_for()
    await mine.locator("#members-box summary").click()
    await mine.get_by_role("button", name="Написать лично: Педагогов Учитель").first.click()
    await expect(mine.locator("#room-title")).to_contain_text("Педагогов")
    await mine.get_by_label("Сообщение", exact=True).fill("Добрый день! Можно вопрос?")
    await mine.get_by_role("button", name="Отправить").click()
    sent = mine.locator(".message.mine").filter(has_text="Можно вопрос?")
    await sent.wait_for()

    # The teacher, on the journal, sees the chat badge move; the new chat is in the list of the chat page.
    await expect(theirs.locator("#chat-unread-total")).to_have_text("1", use_inner_text=True)
    await theirs.get_by_role("link", name="Чаты").click()
    await theirs.locator(".channel-link").filter(has_text="Родитель").click()
    other = theirs.locator(".message").filter(has_text="Добрый день!")
    await other.wait_for()
    # The edit and the deletion are not replayed: they reach a page subscribed to the chat, which says who is online
    # from then on (the message above comes by REST, before that).
    await expect(theirs.locator("#online")).not_to_be_empty()

    await sent.get_by_role("button", name="Изменить").click()
    await mine.get_by_label("Текст сообщения").fill("Добрый день! Можно два вопроса?")
    await mine.get_by_role("button", name="Сохранить").click()
    edited = theirs.locator(".message").filter(has_text="Можно два вопроса?")
    await edited.wait_for()
    await expect(edited.locator(".message-meta")).to_contain_text("(изменено)")
    assert await edited.get_by_role("button", name="Изменить").count() == 0  # not theirs to edit

    mine_now = mine.locator(".message.mine").filter(has_text="Можно два вопроса?")
    await mine_now.get_by_role("button", name="Удалить").click()
    await mine_now.get_by_role("button", name="Удалить насовсем?").click()
    await theirs.locator(".message.deleted").filter(has_text="Сообщение удалено").wait_for()
    assert await theirs.locator(".message").filter(has_text="два вопроса").count() == 0
    await assert_fits(mine)
    await assert_accessible(mine)
    p_tab.assert_clean()
    t_tab.assert_clean()


async def test_the_class_teacher_writes_privately_to_a_parent_from_the_class_list(
    browsers: Browsers, school: BuiltSchool,
) -> None:
    cls = school.classes[0]
    lead = school.user(cls.class_teacher_id or 0)
    [parent] = school.parents(cls.student_ids[0])
    p_tab = await browsers.login(parent.email, expect_path="/diary")
    t_tab = await browsers.login(lead.email, expect_path="/teacher")
    page = t_tab.page
    await page.get_by_role("link", name="Ведомость и родители: 5А").click()
    await page.locator(f'#parents tr[data-parent-id="{parent.id}"] a.person-chat').click()
    await page.wait_for_url("**/chat?channel=dm:*")
    assert str(parent.id) in page.url
    await page.get_by_label("Сообщение", exact=True).fill("Здравствуйте! Зайдите, пожалуйста, в школу.")
    await page.get_by_role("button", name="Отправить").click()
    await page.locator(".message.mine").filter(has_text="Зайдите").wait_for()

    # The parent, on the diary, sees the toast of the private message and the chat badge.
    await p_tab.page.locator(".toast").filter(has_text="Зайдите, пожалуйста").wait_for()
    await expect(p_tab.page.locator("#chat-unread-total")).to_have_text("1", use_inner_text=True)
    p_tab.assert_clean()
    t_tab.assert_clean()


async def test_signing_out_everywhere_sends_an_open_news_page_to_the_login_page(
    browsers: Browsers, school: BuiltSchool, client: TestClient, factory: Factory,
) -> None:
    teacher = school.teachers[0]
    tab = await browsers.login(teacher.email, expect_path="/teacher")
    page = tab.page
    await page.get_by_role("link", name="Новости").click()
    await page.locator("#news-list").filter(has_text="Новостей пока нет.").wait_for()

    phone = await factory.login(teacher)  # another device
    resp = await client.post("/api/v1/auth/logout-all", headers=phone.headers)
    assert resp.status in (200, 204), await resp.text()
    await page.wait_for_url("**/login?next=%2Fnews")
    tab.assert_clean()


async def test_a_private_chat_with_someone_of_another_school_is_refused_in_russian(
    browsers: Browsers, school: BuiltSchool, ctx: AppContext,
) -> None:
    other = await build_school(ctx, classes=1, students_per_class=1, parents_per_student=0)
    stranger = other.teachers[0]
    tab = await browsers.login(school.parents(school.student(0, 0).id)[0].email, expect_path="/diary")
    await tab.page.goto(f"/chat?with={stranger.id}")
    await tab.page.locator(".toast").filter(has_text="Вы не участник этого чата.").wait_for()
    await expect(tab.page.locator("#send-form")).to_be_hidden()
    tab.assert_clean()


async def test_news_scheduled_on_the_news_page_appear_on_open_pages_when_published(
    browsers: Browsers, school: BuiltSchool, ctx: AppContext,
) -> None:
    student = school.student(0, 0)
    a_tab = await browsers.login(school.admin.email, expect_path="/admin")
    s_tab = await browsers.login(student.email, expect_path="/diary")
    admin, reader = a_tab.page, s_tab.page
    await reader.goto("/news")
    await reader.locator("#news-list").filter(has_text="Новостей пока нет.").wait_for()

    await admin.goto("/news")
    await admin.get_by_label("Заголовок").fill("Ёлка в актовом зале")
    await admin.get_by_label("Текст").fill("Праздник для 5-х классов.")
    await admin.get_by_label("Публикация").select_option("scheduled")
    when = datetime.now() + timedelta(days=1)  # the browser's local time, as the input takes it
    await admin.get_by_label("Время публикации").fill(when.strftime("%Y-%m-%dT%H:%M"))
    await admin.get_by_role("button", name="Сохранить").click()
    await admin.locator(".toast").filter(has_text="Новость будет опубликована в заданное время.").wait_for()
    item = admin.locator(".news-item").filter(has_text="Ёлка в актовом зале")
    await expect(item.locator(".news-meta")).to_contain_text("Будет опубликована")

    # Its time comes (moved to the past here) and the relay's job publishes it: the open page shows it.
    async with ctx.sessions.begin() as session:
        await session.execute(update(News).where(News.title == "Ёлка в актовом зале")
                              .values(publish_at=func.now() - timedelta(minutes=1)))
    assert await news.publish_due(ctx) == 1
    await reader.locator(".news-item").filter(has_text="Ёлка в актовом зале").wait_for()
    await reader.locator(".toast").filter(has_text="Новость: Ёлка в актовом зале").wait_for()
    a_tab.assert_clean()
    s_tab.assert_clean()
