"""Names per context, Russian declension and gender (petrovich rules via pytrovich), gendered attendance texts,
the gender API, digest and chat emails in Russian."""

from __future__ import annotations

from datetime import date

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select, update

from edutrack.context import AppContext
from edutrack.db.models import EmailOutbox, Notification, Profile
from edutrack.digest.scheduler import DigestScheduler
from edutrack.i18n import use_locale
from edutrack.i18n.names import (
    PersonName,
    address_name,
    declined,
    first_last,
    full_name,
    infer_gender,
    list_name,
    sender_name,
    short_name,
)
from edutrack.services.diary.attendance import attendance_title
from tests.email.test_digest import notify
from tests.support.factories import Factory
from tests.support.school import BuiltSchool, add_lessons, build_school

ILYA = PersonName("Илья", "Кузнецов", "Кузьмич")
LYUBOV = PersonName("Любовь", "Соколова", "Никитична")
ANASTASIA = PersonName("Анастасия", "Крылова")
PYOTR = PersonName("Пётр", "Чайковский", "Ильич")
IRINA = PersonName("Ирина", "Крылова", "Петровна")


@pytest.mark.parametrize(("name", "genitive", "dative"), [
    (ILYA, "Ильи Кузнецова", "Илье Кузнецову"),
    (LYUBOV, "Любови Соколовой", "Любови Соколовой"),
    (ANASTASIA, "Анастасии Крыловой", "Анастасии Крыловой"),
    (PYOTR, "Петра Чайковского", "Петру Чайковскому"),
    (IRINA, "Ирины Крыловой", "Ирине Крыловой"),
])
def test_declension_of_tricky_names(name: PersonName, genitive: str, dative: str) -> None:
    assert first_last(declined(name, "genitive")) == genitive
    assert first_last(declined(name, "dative")) == dative


def test_patronymics_decline_too() -> None:
    assert full_name(declined(ILYA, "genitive")) == "Кузнецова Ильи Кузьмича"
    assert full_name(declined(LYUBOV, "genitive")) == "Соколовой Любови Никитичны"
    assert full_name(declined(PYOTR, "instrumental")) == "Чайковским Петром Ильичом"


@pytest.mark.parametrize(("first", "middle", "last", "gender"), [
    ("Илья", "Кузьмич", "Кузнецов", "male"),  # an -а/-я first name that is male
    ("Любовь", "Никитична", "Соколова", "female"),  # a soft-sign first name that is female
    ("Анастасия", None, "Крылова", "female"),
    ("Никита", None, None, "male"),
    ("Пётр", "Ильич", None, "male"),
    ("Саша", None, "Ким", None),  # the name does not tell
    ("John", None, "Smith", None),
])
def test_gender_is_inferred_from_the_name(first: str, middle: str | None, last: str | None,
                                          gender: str | None) -> None:
    assert infer_gender(first, middle, last) == gender


def test_a_stored_gender_wins_over_the_name() -> None:
    sasha = PersonName("Саша", "Ким", gender="female")
    assert sasha.grammatical_gender == "female"
    assert first_last(declined(sasha, "genitive")) == "Саши Ким"


def test_one_function_per_context() -> None:
    assert list_name(IRINA) == "Крылова Ирина"
    assert full_name(IRINA) == "Крылова Ирина Петровна"
    assert first_last(IRINA) == "Ирина Крылова"
    assert address_name(IRINA) == "Ирина Петровна"
    assert address_name(ANASTASIA) == "Анастасия"
    assert short_name(IRINA) == "Крылова И. П."
    assert short_name(ANASTASIA) == "Крылова А."
    with use_locale("ru"):
        assert sender_name(IRINA) == "Ирины Крыловой"
        assert sender_name(PersonName("John", "Smith")) == "John Smith"  # a Latin name is left alone
    with use_locale("en"):
        assert sender_name(IRINA) == "Ирина Крылова"
    admin = PersonName("Администратор", "")
    assert list_name(admin) == full_name(admin) == address_name(admin) == "Администратор"


@pytest.mark.parametrize(("student", "status", "reason", "text"), [
    (ANASTASIA, "late", None, "Анастасия Крылова опоздала на урок: Физика, 12 ноября"),
    (PersonName("Иван", "Петров"), "late", None, "Иван Петров опоздал на урок: Физика, 12 ноября"),
    (LYUBOV, "absent", "illness", "Любовь Соколова отсутствовала на уроке: Физика, 12 ноября (по болезни)"),
    (ILYA, "absent", None, "Илья Кузнецов отсутствовал на уроке: Физика, 12 ноября"),
    (PersonName("Саша", "Ким"), "late", None, "Саша Ким: опоздание на урок: Физика, 12 ноября"),
])
def test_gendered_attendance_texts(student: PersonName, status: str, reason: str | None, text: str) -> None:
    with use_locale("ru"):
        assert attendance_title(status, reason, student, "Физика", date(2026, 11, 12)) == text
    with use_locale("en"):
        assert attendance_title("late", None, student, "Physics", date(2026, 11, 12)).endswith(
            "was late for Physics on 12 November")


async def _rename(ctx: AppContext, user_id: int, first: str, last: str, middle: str | None = None,
                  gender: str | None = None) -> None:
    async with ctx.sessions.begin() as session:
        await session.execute(update(Profile).where(Profile.user_id == user_id).values(
            first_name=first, last_name=last, middle_name=middle, gender=gender))


async def test_attendance_notifications_agree_with_each_students_gender(
        client: TestClient, ctx: AppContext, factory: Factory) -> None:
    school: BuiltSchool = await build_school(ctx, classes=1, students_per_class=2, parents_per_student=1)
    cls = school.classes[0]
    maths = school.subject(0)
    (lesson,) = await add_lessons(ctx, school, cls.id, maths, [date(2026, 11, 12)])
    girl, boy = cls.student_ids
    await _rename(ctx, girl, "Анастасия", "Крылова")
    await _rename(ctx, boy, "Илья", "Кузнецов", "Кузьмич")
    teacher = await factory.login(school.teacher_of(cls.id, maths))
    # The teacher's browser speaks English; the parents still read Russian.
    resp = await client.put(f"/api/v1/lessons/{lesson}/attendance", headers={**teacher.headers,
                            "Accept-Language": "en"}, json={"marks": [
                                {"student_id": girl, "status": "late"},
                                {"student_id": boy, "status": "absent", "reason": "unexcused"}]})
    assert resp.status == 200, await resp.text()
    async with ctx.sessions() as session:
        titles = {n.about_user_id: n.payload["title"] for n in (await session.execute(
            select(Notification).where(Notification.kind == "attendance"))).scalars()}
    assert titles[girl] == "Анастасия Крылова опоздала на урок: Математика, 12 ноября"
    assert titles[boy] == "Илья Кузнецов отсутствовал на уроке: Математика, 12 ноября (без уважительной причины)"


async def test_gender_is_set_by_the_person_or_their_schools_admin(
        client: TestClient, ctx: AppContext, factory: Factory) -> None:
    school = await build_school(ctx, classes=1, students_per_class=1, parents_per_student=1)
    other = await build_school(ctx, classes=1, students_per_class=1, parents_per_student=1)
    student = school.student(0, 0)
    await _rename(ctx, student.id, "Саша", "Ким")
    me = await factory.login(student)
    resp = await client.put(f"/api/v1/users/{student.id}/gender", json={"gender": "female"}, headers=me.headers)
    assert resp.status == 200, await resp.text()
    assert await resp.json() == {"user_id": student.id, "gender": "female", "grammatical_gender": "female"}
    resp = await client.put(f"/api/v1/users/{student.id}/gender", json={"gender": None}, headers=me.headers)
    assert (await resp.json())["grammatical_gender"] is None  # Саша Ким: the name does not tell
    admin = await factory.login(await factory.user("admin", school_id=school.id))
    resp = await client.put(f"/api/v1/users/{student.id}/gender", json={"gender": "male"}, headers=admin.headers)
    assert resp.status == 200
    assert (await resp.json())["gender"] == "male"
    # An admin of another school, a classmate's parent, a bad value: refused, nothing changed.
    stranger = await factory.login(await factory.user("admin", school_id=other.id))
    resp = await client.put(f"/api/v1/users/{student.id}/gender", json={"gender": "female"},
                            headers=stranger.headers)
    assert resp.status == 404
    assert (await resp.json())["error"]["message"] == "Пользователь не найден"
    parent = await factory.login(other.parents(other.student(0, 0).id)[0])
    resp = await client.put(f"/api/v1/users/{student.id}/gender", json={"gender": "female"}, headers=parent.headers)
    assert resp.status == 404
    resp = await client.put(f"/api/v1/users/{student.id}/gender", json={"gender": "other"}, headers=admin.headers)
    body = await resp.json()
    assert resp.status == 422
    assert body["error"]["details"]["gender"] == ["Допустимые значения: male, female."]
    resp = await client.put(f"/api/v1/users/{student.id}/gender", json={}, headers=admin.headers)
    assert (await resp.json())["error"]["details"]["gender"] == ["Обязательное поле не заполнено."]
    async with ctx.sessions() as session:
        assert (await session.get(Profile, student.id)).gender == "male"  # type: ignore[union-attr]
    resp = await client.put(f"/api/v1/users/{student.id}/gender", json={"gender": "male"})
    assert resp.status == 401


async def test_digest_email_is_russian_with_words_not_codes(ctx: AppContext, factory: Factory) -> None:
    parent = await factory.user("parent", first_name="Ирина", last_name="Крылова", middle_name="Петровна")
    child = await factory.user("student", first_name="Анастасия", last_name="Крылова")
    for reason in ("unexcused", "illness"):
        await notify(ctx, parent, "attendance", {"subject": "Физика", "date": "2026-11-12", "status": "absent",
                                                 "reason": reason, "student_name": "Анастасия Крылова"},
                     about=child)
    await notify(ctx, parent, "grade", {"subject": "Физика", "value": "5", "work_type": "Контрольная работа",
                                        "date": "2026-11-13"}, about=child)
    assert await DigestScheduler(ctx).queue_digest(parent.id)
    async with ctx.sessions() as session:
        row = (await session.execute(select(EmailOutbox).where(EmailOutbox.recipient == parent.email))).scalar_one()
    assert row.subject == "EduTrack: 3 новых уведомления"
    for body in (row.body_text, row.body_html or ""):
        assert "Здравствуйте, Ирина Петровна!" in body
        assert "Пока вас не было, в EduTrack появилось 3 новых уведомления." in body
        assert "12 ноября: отсутствие (без уважительной причины)" in body
        assert "12 ноября: отсутствие (по болезни)" in body
        assert "5 (Контрольная работа) за 13 ноября" in body
        assert "Анастасия Крылова" in body
        assert "unexcused" not in body
        assert "illness" not in body
        assert "absent" not in body


async def test_emailed_chat_message_names_the_sender_in_the_genitive(
        client: TestClient, ctx: AppContext, factory: Factory) -> None:
    school = await build_school(ctx, classes=1, students_per_class=1, parents_per_student=1)
    cls = school.classes[0]
    teacher_user = school.teacher_of(cls.id, school.subject(0))
    student_user = school.student(0, 0)
    await _rename(ctx, teacher_user.id, "Ирина", "Крылова", "Петровна")
    await _rename(ctx, student_user.id, "Пётр", "Иванов", "Ильич")
    teacher = await factory.login(teacher_user)
    channel = f"class:{cls.id}"
    sent = await client.post(f"/api/v1/chats/{channel}/messages", json={"text": "Завтра контрольная"},
                             headers=teacher.headers)
    assert sent.status in (200, 201), await sent.text()
    message_id = (await sent.json())["id"]
    resp = await client.post(f"/api/v1/messages/{message_id}/send-email", json={"channel": channel},
                             headers={**teacher.headers, "Accept-Language": "en"})
    assert resp.status in (200, 202), await resp.text()
    async with ctx.sessions() as session:
        row = (await session.execute(select(EmailOutbox).where(EmailOutbox.recipient == student_user.email))
               ).scalar_one()
    assert row.subject == "Сообщение от Ирины Крыловой (чат класса 5А)"
    assert "Здравствуйте, Пётр Ильич!" in row.body_text
    assert "Сообщение от Ирины Крыловой (чат класса 5А):" in row.body_text
    assert "Завтра контрольная" in row.body_text
    assert "Ответить можно в EduTrack" in row.body_text
