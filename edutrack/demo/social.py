"""News and chats of the demo school for a range of days: the school's news at the events of a Russian school
year (1 September, Teacher's Day, the breaks, olympiads, concerts, ВПР, 9 May, the last bell), each class's news
every two weeks, short exchanges in class chats, and private messages between parents and class teachers (a
welcome in September, a note when a child falls ill). Read markers leave the messages of the last day unread.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from edutrack.db.chat import ChatChannel, ChatMessage, ChatReadMarker
from edutrack.db.diary import News
from edutrack.db.models import Role
from edutrack.demo import texts
from edutrack.demo.bulk import copy_rows
from edutrack.demo.calendar import SchoolYear
from edutrack.demo.course import work_of
from edutrack.demo.days import Health, LessonRow
from edutrack.demo.school import SchoolState
from edutrack.demo.year import at_msk, local_day
from edutrack.queries import membership

MONTHS = ("января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября",
          "ноября", "декабря")
WEEKDAYS = ("в понедельник", "во вторник", "в среду", "в четверг", "в пятницу", "в субботу", "в воскресенье")
CHAT_DAYS = 0.3  # share of school days with a few messages in a class chat


def ru_date(day: date) -> str:
    return f"{day.day} {MONTHS[day.month - 1]}"


def _on_weekday(day: date) -> date:
    while day.weekday() > 4:
        day -= timedelta(days=1)
    return day


def school_news(year: SchoolYear) -> list[tuple[datetime, str, str, str | None]]:
    """(published at, title, body, role or None for everyone) of the whole school's year."""
    q1, q2, q3, q4 = year.quarters
    y, n = year.start_year, year.start_year + 1

    def brk(name: str, last: date, back: date) -> tuple[str, str]:
        return (f"{name} каникулы", f"{name} каникулы — с {ru_date(last + timedelta(days=1))} по "
                f"{ru_date(back - timedelta(days=1))}. Занятия начинаются {ru_date(back)}. Желаем хорошего отдыха!")

    items = [
        (year.starts_on, 8, "С Днём знаний!", "Дорогие ребята, уважаемые родители и коллеги! Поздравляем с началом "
         "учебного года! Торжественная линейка — 1 сентября в 9:00 на школьном дворе.", None),
        (q1.starts_on + timedelta(days=8), 10, "Запись в кружки и секции", "Открыта запись в кружки и секции: "
         "робототехника, шахматы, хор, волейбол, театральная студия. Расписание — у классных руководителей.", None),
        (date(y, 9, 22), 10, "Школьный этап Всероссийской олимпиады школьников", "С 25 сентября по 25 октября "
         "проходит школьный этап олимпиады. График и задания — у учителей-предметников. Приглашаем всех!", None),
        (_on_weekday(date(y, 10, 5)), 9, "С Днём учителя!", "Поздравляем наших учителей с профессиональным "
         "праздником! После шестого урока — концерт, подготовленный учениками 10-х классов.", None),
        (q1.ends_on - timedelta(days=3), 11, *brk("Осенние", q1.ends_on, q2.starts_on), None),
        (q1.ends_on + timedelta(days=3), 12, "Педагогический совет", "Педсовет по итогам первой четверти — "
         f"{ru_date(q2.starts_on)} в 15:00 в кабинете 204.", Role.TEACHER.value),
        (q2.starts_on + timedelta(days=12), 10, "Общешкольное родительское собрание", "Собрание состоится "
         f"{ru_date(_on_weekday(q2.starts_on + timedelta(days=16)))} в 18:30 в актовом зале. Тема: «Итоги первой "
         "четверти и "
         "безопасность детей зимой».", Role.PARENT.value),
        (date(y, 12, 1), 10, "Итоги школьного этапа олимпиады", "Подведены итоги школьного этапа. Победители и "
         "призёры приглашены на муниципальный этап. Поздравляем!", None),
        (_on_weekday(date(y, 12, 15)), 10, "Новогодний концерт", f"{ru_date(q2.ends_on - timedelta(days=2))} "
         "в 17:00 в актовом зале — новогодний концерт. Приглашаем учеников и родителей!", None),
        (q2.ends_on - timedelta(days=3), 11, *brk("Зимние", q2.ends_on, q3.starts_on), None),
        (q3.starts_on, 8, "С возвращением!", "Третья четверть начинается сегодня. Расписание уроков не изменилось, "
         "изменения в расписании кружков — у классных руководителей.", None),
        (_on_weekday(date(n, 2, 5)), 10, "Школьные соревнования по лыжным гонкам", "Соревнования пройдут в парке "
         "на следующей неделе. Форма одежды — по погоде, термос с чаем приветствуется.", None),
        (_on_weekday(date(n, 2, 19)), 10, "День защитника Отечества", "Смотр строя и песни для 5–8 классов — "
         "в спортзале после уроков.", None),
        (_on_weekday(date(n, 3, 6)), 9, "С Международным женским днём!", "Поздравляем учениц, мам, бабушек и "
         "наших учителей с 8 Марта!", None),
        (q3.ends_on - timedelta(days=3), 11, *brk("Весенние", q3.ends_on, q4.starts_on), None),
        (q4.starts_on + timedelta(days=2), 10, "Всероссийские проверочные работы", "ВПР пройдут в апреле на "
         "уроках по расписанию. График по классам — у классных руководителей.", None),
        (_on_weekday(date(n, 5, 6)), 10, "День Победы", "Приглашаем учеников и родителей в «Бессмертный полк». "
         "Концерт «Песни Победы» — в актовом зале в 12:00.", None),
        (q4.ends_on - timedelta(days=1), 10, "Последний звонок", "Праздник последнего звонка для выпускников "
         f"9-х классов — {ru_date(q4.ends_on)} в 11:00 в актовом зале.", None),
        (q4.ends_on + timedelta(days=2), 12, "Итоги учебного года", "Учебный год завершён. Оценки за четверть "
         "выставлены в электронном дневнике. Хорошего лета!", None),
    ]
    return [(at_msk(d, hh, 0), title, body, role) for d, hh, title, body, role in items]


@dataclass
class Message:
    channel: str
    sender: int
    text: str
    at: datetime


async def news(session: AsyncSession, state: SchoolState, year: SchoolYear, first: date, last: date,
               seed: int) -> int:
    rows: list[dict[str, Any]] = []

    def add(at: datetime, title: str, body: str, audience: str, class_id: int | None, role: str | None) -> None:
        if first <= local_day(at) <= last:
            rows.append({"school_id": state.school_id, "author_id": state.admin_id, "title": title, "body": body,
                         "audience": audience, "class_id": class_id, "role": role, "status": "published",
                         "published_at": at, "created_at": at, "updated_at": at})

    for at, title, body, role in school_news(year):
        add(at, title, body, "role" if role else "school", None, role)
    days = list(year.school_days())
    for c in state.classes:
        lead = state.people.get(c.class_teacher or 0)
        if lead is None:
            continue
        for n, k in enumerate(range(3 + c.index % 7, len(days) - 3, 10)):
            when_day = days[k + 3]
            title, body = texts.class_news(random.Random(f"{seed}:news:{c.name}:{n}"), n, c.name, lead,
                                           f"{WEEKDAYS[when_day.weekday()]}, {ru_date(when_day)}")
            add(at_msk(days[k], 9, 40 + c.index), title, body, "class", c.id, None)
    if rows:
        await session.execute(insert(News), rows)
    return len(rows)


def _messages(state: SchoolState, year: SchoolYear, lessons: list[LessonRow], health: Health, first: date,
              last: date, seed: int) -> list[Message]:
    days = [d for d in year.school_days(first, last)]
    by_day: dict[tuple[int, date], list[LessonRow]] = {}
    for lesson in lessons:
        by_day.setdefault((lesson.class_id, local_day(lesson.starts_at)), []).append(lesson)
    subject_of = {i: n for n, i in state.subject_ids.items()}
    out: list[Message] = []
    for c in state.classes:
        if c.class_teacher is None or len(c.students) < 2:
            continue
        lead = c.class_teacher
        channel = f"class:{c.id}"
        for d in days:
            rng = random.Random(f"{seed}:chat:{c.name}:{d}")
            if rng.random() >= CHAT_DAYS:
                continue
            today = by_day.get((c.id, d), [])
            later = [x for x in year.school_days(d + timedelta(days=1), d + timedelta(days=4))][:1]
            tomorrow = by_day.get((c.id, later[0]), []) if later else []
            tests_today = [(subject_of.get(x.subject_id, ""), work_of(x.topic or "") or "") for x in today
                           if work_of(x.topic or "") in texts.TEST_NAMES]
            tests_next = [(subject_of.get(x.subject_id, ""), work_of(x.topic or "") or "") for x in tomorrow
                          if work_of(x.topic or "") in texts.TEST_NAMES]
            with_homework = [(subject_of.get(x.subject_id, ""), x.homework) for x in today if x.homework]
            kids = rng.sample(c.students, 2)
            parents = [state.parents_of.get(k, [lead])[0] for k in kids]
            who = {"lead": lead, "s0": kids[0], "s1": kids[1], "p0": parents[0], "p1": parents[1]}
            for role, text, minutes in texts.chat_snippet(
                    rng, state.people[lead], [state.people[k] for k in kids],
                    rng.choice(with_homework) if with_homework else None, tests_next[0] if tests_next else None,
                    tests_today[0] if tests_today else None):
                out.append(Message(channel, who[role], text, at_msk(d, 15, 0) + timedelta(minutes=minutes)))
        for student in c.students:
            if not state.parents_of.get(student):
                continue
            parents = state.parents_of[student]
            mother, child, teacher = state.people[parents[0]], state.people[student], state.people[lead]
            channel = f"dm:{min(parents[0], lead)}:{max(parents[0], lead)}"
            if first <= year.quarters[0].starts_on <= last:
                hello, thanks = texts.dm_welcome(mother, child, teacher, c.name)
                out.append(Message(channel, lead, hello, at_msk(year.quarters[0].starts_on, 16, c.index)))
                out.append(Message(channel, parents[0], thanks, at_msk(year.quarters[0].starts_on, 19, 30)))
            for d in health.first_days_of_illness(student, days):
                note, answer = texts.dm_sick(mother, child, teacher)
                out.append(Message(channel, parents[0], note, at_msk(d, 7, 40)))
                out.append(Message(channel, lead, answer, at_msk(d, 8, 5)))
    return out


async def chats(session: AsyncSession, state: SchoolState, year: SchoolYear, lessons: list[LessonRow],
                health: Health, first: date, last: date, seed: int) -> int:
    messages = sorted(_messages(state, year, lessons, health, first, last, seed),
                      key=lambda m: (m.channel, m.at, m.sender))
    if not messages:
        return 0
    names = sorted({m.channel for m in messages})
    head = dict((n, i) for n, i in await session.execute(
        select(ChatChannel.name, ChatChannel.last_message_id).where(ChatChannel.name.in_(names))))
    records = []
    for m in messages:
        head[m.channel] = head.get(m.channel, 0) + 1
        records.append((m.channel, head[m.channel], m.sender, None, m.text, m.at))
    last_at = {m.channel: m.at for m in messages}
    first_at = {m.channel: m.at for m in reversed(messages)}
    bump = insert(ChatChannel).values([{"name": n, "last_message_id": head[n], "created_at": first_at[n],
                                        "last_message_at": last_at[n]} for n in names])
    await session.execute(bump.on_conflict_do_update(index_elements=[ChatChannel.name], set_={
        "last_message_id": bump.excluded.last_message_id,
        "last_message_at": func.greatest(ChatChannel.last_message_at, bump.excluded.last_message_at)}))
    await copy_rows(session, "chat_messages", ("channel", "id", "sender_id", "client_msg_id", "text", "created_at"),
                    records)
    return len(records)


async def mark_read(session: AsyncSession, state: SchoolState, today: date) -> None:
    """Everyone has read their chats up to the start of `today`: the last day's messages are the unread ones."""
    members = set(state.people)
    found = await session.execute(
        select(ChatMessage.channel, func.max(ChatMessage.id))
        .where(ChatMessage.sender_id.in_(list(members)), ChatMessage.created_at < at_msk(today, 0, 0))
        .group_by(ChatMessage.channel))
    rows: list[dict[str, Any]] = []
    for channel, last_id in found:
        kind, *ids = channel.split(":")
        if kind == "class":
            readers = await membership.class_chat_member_ids(session, int(ids[0]))
        else:
            readers = {int(i) for i in ids}
        rows.extend({"user_id": u, "channel": channel, "last_read_id": last_id} for u in sorted(readers))
    if rows:
        stmt = insert(ChatReadMarker).values(rows)
        await session.execute(stmt.on_conflict_do_update(
            index_elements=[ChatReadMarker.user_id, ChatReadMarker.channel],
            set_={"last_read_id": func.greatest(ChatReadMarker.last_read_id, stmt.excluded.last_read_id)}))
