"""Words of the demo: teachers' comments on grades, notes on absences, news, and chat messages."""

from __future__ import annotations

import random

from edutrack.demo.names import Person

TEST_WORKS = frozenset({"Контрольная работа", "Диктант", "Сочинение", "Проверочная работа"})
OVERRIDE_REASONS = ("Учтены результаты итоговой контрольной работы", "С учётом активной работы на уроках",
                    "Исправлены неудовлетворительные оценки за четверть", "Учтены результаты олимпиады")

# "{a}" is the feminine ending of a past-tense verb or a short adjective: "Не готов{a}" -> "Не готова".
_ORDINARY = {
    2: ("Не выполнено домашнее задание", "Не готов{a} к уроку", "Нет тетради с домашней работой",
        "Нужно повторить правило и переделать работу"),
    3: ("Ответ неполный", "Неаккуратное оформление", "Есть ошибки, будь внимательнее"),
    4: ("Хороший ответ, но есть неточности", "Небольшие недочёты в оформлении"),
    5: ("Отличная работа!", "Молодец, подробный ответ", "Активная работа на уроке", "Интересное сообщение"),
}
_TESTS: dict[str, dict[int, tuple[str, ...]]] = {
    "Контрольная работа": {2: ("Нужно повторить тему и переписать работу", "Не решены задачи 2–4"),
                           3: ("Ошибки в вычислениях", "Не решена последняя задача"),
                           4: ("Вычислительная ошибка в задании 3",), 5: ("Все задания решены верно",)},
    "Сочинение": {2: ("Тема не раскрыта",), 3: ("Тема раскрыта не полностью, много речевых ошибок",),
                  4: ("Есть речевые недочёты",), 5: ("Тема раскрыта глубоко, хороший язык",)},
    "Лабораторная работа": {3: ("Нет выводов в отчёте",), 4: ("Погрешность измерений не оценена",),
                            5: ("Отчёт оформлен аккуратно",)},
    "Норматив": {2: ("Норматив не выполнен",), 3: ("Норматив выполнен на «удовлетворительно»",),
                 5: ("Отличный результат!",)},
}


def grade_comment(rng: random.Random, work: str, value: int, is_female: bool) -> str | None:
    """A teacher's comment, or None: most grades have none, dictations usually count the mistakes."""
    if work == "Диктант":
        if rng.random() < 0.6:
            spelling, punctuation = {5: (0, rng.randint(0, 1)), 4: (rng.randint(1, 2), rng.randint(1, 2)),
                                     3: (rng.randint(3, 4), rng.randint(2, 4))}.get(value, (rng.randint(5, 8), 5))
            return f"Ошибки: орфографических — {spelling}, пунктуационных — {punctuation}"
        return None
    options = _TESTS.get(work, {}).get(value, ())
    if options and rng.random() < 0.25:
        return str(rng.choice(options))
    chance = {2: 0.35, 3: 0.05, 4: 0.03, 5: 0.06}[value]
    return rng.choice(_ORDINARY[value]).format(a="а" if is_female else "") if rng.random() < chance else None


ILLNESS_NOTES = ("Справка из поликлиники", "ОРВИ, справка от врача", "Справка от врача", None)
EXCUSED_NOTES = ("Заявление родителей: семейные обстоятельства", "Соревнования по плаванию",
                 "Муниципальный этап олимпиады", "Приём у врача", "Концерт в музыкальной школе")

EXCURSIONS = ("Политехнический музей", "Третьяковскую галерею", "Музей космонавтики", "Бородинскую панораму",
              "музей-заповедник «Коломенское»", "Дарвиновский музей", "Музей Победы")
TALKS = ("Безопасный интернет", "Профилактика гриппа и ОРВИ", "Правила дорожного движения зимой",
         "Выбор профессии: с чего начать", "Итоги четверти", "Как готовиться к контрольным")


def class_news(rng: random.Random, n: int, class_name: str, lead: Person, when: str) -> tuple[str, str]:
    """The n-th news item of a class (a parents' meeting, an excursion, a class hour...): title and body."""
    sign = f"Классный руководитель {lead.first} {lead.middle} {lead.last}"
    kinds = (
        (f"Родительское собрание {class_name}",
         f"Уважаемые родители! Собрание {class_name} класса состоится {when} в 18:00. На повестке: успеваемость, "
         f"посещаемость, планы на следующую четверть. {sign}."),
        (f"Экскурсия {class_name} в {rng.choice(EXCURSIONS)}",
         f"{when.capitalize()} едем на экскурсию. Сбор у школы в 9:00, возвращение к 15:00. Согласие родителей "
         f"нужно сдать заранее. {sign}."),
        (f"Классный час «{rng.choice(TALKS)}»",
         f"{when.capitalize()} после шестого урока — классный час. Присутствие обязательно. {sign}."),
        ("Фотографирование класса",
         f"{when.capitalize()} — фотографирование для школьного альбома. Форма одежды парадная. {sign}."),
        ("Плановый медицинский осмотр",
         f"{when.capitalize()} в медицинском кабинете — плановый осмотр {class_name} класса. Нужна сменная обувь. "
         f"{sign}."),
    )
    return kinds[n % len(kinds)]


def dm_sick(parent: Person, child: Person, lead: Person) -> tuple[str, str]:
    """A parent tells the class teacher the child is ill; the teacher's answer."""
    verb = "заболела" if child.is_female else "заболел"
    return (f"Здравствуйте, {lead.address}! {child.first} {verb}, сегодня в школу не придёт. Справку принесём.",
            f"Здравствуйте, {parent.address}! Спасибо, что предупредили. Пусть выздоравливает!")


def dm_welcome(parent: Person, child: Person, lead: Person, class_name: str) -> tuple[str, str]:
    return (f"Здравствуйте, {parent.address}! Я классный руководитель {class_name}, {lead.first} {lead.middle} "
            f"{lead.last}. По всем вопросам о {'дочери' if child.is_female else 'сыне'} пишите мне сюда.",
            f"Здравствуйте, {lead.address}! Спасибо, очень приятно. Будем на связи.")


# "по ..." as pupils say it: "что задали по алгебре?"
PO = {"Русский язык": "русскому", "Литература": "литературе", "Английский язык": "английскому",
      "Математика": "математике", "Алгебра": "алгебре", "Геометрия": "геометрии",
      "Вероятность и статистика": "вероятности и статистике", "Информатика": "информатике", "История": "истории",
      "Обществознание": "обществознанию", "География": "географии", "Биология": "биологии", "Физика": "физике",
      "Химия": "химии", "Музыка": "музыке", "Изобразительное искусство": "ИЗО", "Труд (технология)": "труду",
      "ОБЗР": "ОБЗР", "ОДНКНР": "ОДНКНР", "Физическая культура": "физкультуре",
      "Индивидуальный проект": "проекту"}
# A test by the work type that grades it: (nominative, accusative).
TEST_NAMES = {"Контрольная работа": ("контрольная", "контрольную"), "Проверочная работа": ("проверочная",
              "проверочную"), "Диктант": ("диктант", "диктант"), "Сочинение": ("сочинение", "сочинение")}


def chat_snippet(rng: random.Random, lead: Person, students: list[Person],
                 homework: tuple[str, str] | None, test_tomorrow: tuple[str, str] | None,
                 test_today: tuple[str, str] | None) -> list[tuple[str, str, int]]:
    """A short exchange in a class chat: (who, text, minutes after 15:00) where who is "lead", "s0", "s1",
    "p0" or "p1" (two students and a parent of each, picked by the caller). Tests are (subject, work type)."""
    s0, s1 = students[0], students[1]
    if test_today and rng.random() < 0.5:
        subject, work = test_today
        return [("lead", f"Ребята, {TEST_NAMES[work][1]} по {PO[subject]} большинство написали хорошо. "
                         "Оценки — в дневнике.", 10)]
    if test_tomorrow and rng.random() < 0.6:
        subject, work = test_tomorrow
        return [("s0", f"А {TEST_NAMES[work][0]} по {PO[subject]} точно завтра?", 190),
                ("s1", "Да, надо повторить всю тему", 196), ("s0", "Понятно, спасибо", 198)]
    if homework and rng.random() < 0.6:
        subject, text = homework
        return [("s0", f"Кто записал, что задали по {PO[subject]}?", 230),
                ("s1", text, 234), ("s0", f"Спасибо, {s1.first}!", 236)]
    options: list[list[tuple[str, str, int]]] = [
        [("lead", "Ребята, завтра после шестого урока классный час, не расходитесь.", 0)],
        [("lead", "Напоминаю про сменную обувь: без неё в класс не пускаем.", 5)],
        [("p0", "Добрый вечер! Подскажите, завтра нужна спортивная форма?", 210),
         ("lead", "Добрый вечер! Да, физкультура будет на улице, если не будет дождя.", 225)],
        [("lead", "Уважаемые родители, напоминаю: до пятницы нужно сдать согласия на экскурсию.", 60),
         ("p1", "Спасибо, передадим!", 95)],
        [("p0", f"Коллеги, никто не находил синюю шапку? Потерялась у {'дочки' if s0.is_female else 'сына'} "
                "после физкультуры.", 200),
         ("p1", "Посмотрите в раздевалке у спортзала, там лежат забытые вещи.", 215)],
        [("s1", "Кто идёт сегодня на тренировку по волейболу?", 120), ("s0", "Я иду!", 123)],
        [("lead", f"{s0.first} и {s1.first} — дежурные на этой неделе. Спасибо за порядок в классе!", 30)],
    ]
    return rng.choice(options)
