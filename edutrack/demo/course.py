"""A subject's year for one class: the topic of every lesson, the works that grade the whole class (tests,
dictations, lab works...) and the homework, spread over as many lessons as the timetable gives the subject.

Topics come from the curriculum lists in order; each gets an equal share of the lessons (a lab or practical
work gets one). Subjects with tests close a topic with one every so many lessons; maths and Russian also have
an entry test in September and a final one in May. Homework follows the textbook: paragraph and exercise
numbers grow through the year, and the lesson before a test says what to revise.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from edutrack.demo import topics_humanities, topics_languages, topics_maths, topics_sciences

TOPICS: dict[tuple[str, int], list[str]] = {
    key: [line.strip() for line in text.strip().splitlines() if line.strip()]
    for module in (topics_languages, topics_maths, topics_sciences, topics_humanities)
    for key, text in module.TOPICS.items()
}


@dataclass(frozen=True)
class Test:
    work: str  # the work type the whole class is graded with
    title: str  # "{n}" is the test's number in the year, "{t}" the topic
    every: int  # at least this many lessons between two tests
    entry: str | None = None  # the September test, closing the first topic
    final: str | None = None


_MATHS = "Контрольная работа № {n} по теме «{t}»"
_CHECK = Test("Проверочная работа", "Проверочная работа по теме «{t}»", 8, final="Итоговая проверочная работа")
TESTS: dict[str, Test] = {
    "Математика": Test("Контрольная работа", _MATHS, 10, "Входная контрольная работа", "Итоговая контрольная работа"),
    "Алгебра": Test("Контрольная работа", _MATHS, 9, "Входная контрольная работа", "Итоговая контрольная работа"),
    "Геометрия": Test("Контрольная работа", _MATHS, 8, final="Итоговая контрольная работа"),
    "Русский язык": Test("Диктант", "Контрольный диктант № {n} по теме «{t}»", 12, "Входной контрольный диктант",
                         "Итоговый контрольный диктант"),
    "Литература": Test("Сочинение", "Сочинение: {t}", 12),
    "Английский язык": Test("Контрольная работа", "Контрольная работа № {n}: {t}", 12,
                            final="Итоговая контрольная работа"),
    "Физика": Test("Контрольная работа", _MATHS, 10, final="Итоговая контрольная работа"),
    "Химия": Test("Контрольная работа", _MATHS, 10, final="Итоговая контрольная работа"),
    **{s: _CHECK for s in ("История", "Обществознание", "География", "Биология", "Информатика",
                           "Вероятность и статистика", "ОБЗР")},
}
_TEST_PREFIXES = sorted({(text.split("{")[0], t.work) for t in TESTS.values()
                         for text in (t.title, t.entry, t.final) if text}, key=lambda p: -len(p[0]))
SOLVING = {"Математика", "Алгебра", "Геометрия", "Вероятность и статистика", "Физика", "Химия"}
PREPARE = {"Контрольная работа": "к контрольной работе", "Диктант": "к контрольному диктанту",
           "Сочинение": "к сочинению", "Проверочная работа": "к проверочной работе"}


@dataclass(frozen=True)
class PlannedLesson:
    topic: str
    work: str | None  # the work type that grades everyone present, or None for an ordinary lesson
    homework: str | None


def _own_work(title: str) -> str | None:
    """Lessons that are a graded work by themselves."""
    if title.startswith("Лабораторная работа"):
        return "Лабораторная работа"
    if title.startswith("Практическая работа"):
        return "Практическая работа"
    if "на результат" in title or "нормативов" in title:
        return "Норматив"
    return None


def work_of(topic: str) -> str | None:
    """The work type that grades the whole class on a lesson with this topic (None: an ordinary lesson)."""
    return _own_work(topic) or next((work for prefix, work in _TEST_PREFIXES if topic.startswith(prefix)), None)


def _single(title: str) -> bool:
    """Topics that take exactly one lesson: graded works of their own and the closing lesson of the year."""
    return _own_work(title) is not None or title.startswith("Итоговый урок")


def _blocks(topics: list[str], n: int) -> list[str]:
    """The topic of each of `n` lessons: one lesson for a lab or practical work, equal shares for the rest."""
    single = [_single(t) for t in topics]
    shared = single.count(False)
    rest = max(n - single.count(True), 0)
    out: list[str] = []
    j = 0
    for topic, alone in zip(topics, single, strict=True):
        if alone:
            out.append(topic)
        else:
            out.extend([topic] * ((j + 1) * rest // shared - j * rest // shared))
            j += 1
    return out[:n]


def _quote(topic: str) -> str:
    # Quotes inside «» are „“ in Russian typography.
    return topic.replace("«", "„").replace("»", "“")


def course(subject: str, grade: int, n: int, rng: random.Random) -> list[PlannedLesson]:
    """The `n` lessons of `subject` in a class of `grade` over the year, in order."""
    titles = _blocks(TOPICS[(subject, grade)], n)
    works: list[str | None] = [_own_work(t) for t in titles]
    shown = list(titles)
    test = TESTS.get(subject)
    since, number, start = 0, 0, 0
    for k, topic in enumerate(titles):
        since += 1
        if k + 1 < len(titles) and titles[k + 1] == topic:
            continue  # not the last lesson of its topic
        block, first_block = k + 1 - start, start == 0
        start = k + 1
        if works[k] is not None or block < 2:
            continue
        if test is not None and first_block and test.entry:
            shown[k], works[k], since = test.entry, test.work, 0
        elif test is not None and since >= test.every and not topic.startswith(("Повторение", "Итогов")):
            number += 1
            shown[k], works[k], since = test.title.format(n=number, t=_quote(topic)), test.work, 0
        elif block >= 3 and subject in SOLVING:
            shown[k] = f"{topic}. Решение задач"
    if test is not None and test.final and len(titles) >= 10:
        shown[-3], works[-3] = test.final, test.work
        for k in (-4, -2):  # no two tests in a row: the final one replaces its neighbours
            if works[k] in PREPARE:
                shown[k], works[k] = titles[k], _own_work(titles[k])
    homework = _homework_writer(subject, grade, len(titles), rng)
    return [PlannedLesson(shown[k], works[k],
                          None if works[k] in PREPARE else homework(k, titles[k], works[k + 1] if k + 1 < n else None))
            for k in range(len(titles))]


Writer = Callable[[int, str, str | None], str | None]


def _homework_writer(subject: str, grade: int, n: int, rng: random.Random) -> Writer:
    """Homework given at lesson k (0-based) of the year, from its topic and the work of the next lesson."""
    paragraphs, exercises = TEXTBOOKS.get(subject, (30, 300))
    chance, patterns = HOMEWORK.get(subject, (0.0, ()))
    # Geometry exercises are numbered through grades 7-9 in one textbook.
    offset = (grade - 7) * exercises if subject == "Геометрия" and grade <= 9 else 0

    def write(k: int, topic: str, next_work: str | None) -> str | None:
        p = 1 + k * paragraphs // n
        if next_work in PREPARE:
            return f"Подготовиться {PREPARE[next_work]}: {_revise(subject, p, topic)}"
        if topic.startswith("Итогов") or rng.random() >= chance:
            return None
        e = 1 + offset + k * exercises // n
        x = rng.randint(1, 9)
        page = 6 + k * 240 // n
        return rng.choice(patterns).format(p=p, e=e, e2=e + rng.choice((1, 2)), e3=e + rng.choice((3, 4, 5)), x=x,
                                           x2=x + 2, page=page, wp=page // 3 + 2, t=topic)

    return write


def _revise(subject: str, p: int, topic: str) -> str:
    if subject == "Литература":
        return f"перечитать: {topic}"
    if subject == "Английский язык":
        return "повторить слова и грамматику раздела"
    sign = "п." if subject in ("Алгебра", "Геометрия") else "§"
    return f"повторить {sign} {p}" if p <= 2 else f"повторить {sign} {p - 2}–{p}"


# subject -> (paragraphs of the textbook, exercises done over the year)
TEXTBOOKS: dict[str, tuple[int, int]] = {
    "Математика": (38, 1500), "Алгебра": (40, 1000), "Геометрия": (26, 330), "Вероятность и статистика": (30, 200),
    "Русский язык": (100, 650), "Физика": (60, 40), "Химия": (45, 200), "История": (28, 0), "Биология": (40, 0),
}
# subject -> (share of lessons with homework, patterns)
HOMEWORK: dict[str, tuple[float, tuple[str, ...]]] = {
    "Математика": (0.95, ("№ {e}, {e2}, {e3}", "П. {p}, № {e}, {e2}", "№ {e} (а, б), {e2}, {e3}")),
    "Алгебра": (0.95, ("П. {p}, № {e}, {e2}, {e3}", "№ {e}, {e2} (а, в), {e3}")),
    "Геометрия": (0.9, ("П. {p}, № {e}, {e2}", "Выучить теорему п. {p}, № {e}")),
    "Вероятность и статистика": (0.7, ("§ {p}, задачи {x}–{x2}", "§ {p}, вопросы после параграфа")),
    "Русский язык": (0.9, ("§ {p}, упр. {e}", "Упр. {e}, выучить правило в § {p}", "§ {p}, упр. {e}, {e2}",
                           "Словарные слова, упр. {e}")),
    "Литература": (0.85, ("Прочитать: {t}", "{t}: ответить на вопросы на с. {page}", "Выразительное чтение: {t}",
                          "Прочитать: {t}; пересказ эпизода")),
    "Английский язык": (0.9, ("Учебник с. {page}, упр. {x}; рабочая тетрадь с. {wp}",
                              "Выучить новые слова на с. {page}", "Рабочая тетрадь с. {wp}, упр. 1–3")),
    "История": (0.85, ("§ {p}, вопросы 1–3 на с. {page}", "§ {p}, выучить даты", "§ {p}, заполнить таблицу в тетради")),
    "Обществознание": (0.8, ("§ {p}, вопросы в рубрике «Проверим себя»", "§ {p}, задания 1–2 на с. {page}")),
    "География": (0.85, ("§ {p}, задание в контурной карте", "§ {p}, вопросы на с. {page}")),
    "Биология": (0.85, ("§ {p}, вопросы 1–4 в конце параграфа", "§ {p}, зарисовать рисунок в тетрадь")),
    "Физика": (0.9, ("§ {p}, упр. {x} (1, 2)", "§ {p}, ответить на вопросы после параграфа")),
    "Химия": (0.9, ("§ {p}, задания 2–4 на с. {page}", "§ {p}, упр. {x}")),
    "Информатика": (0.6, ("§ {p}, вопросы и задания 1–3", "§ {p}, задания в рабочей тетради")),
    "ОБЗР": (0.6, ("§ {p}, вопросы после параграфа",)),
    "Индивидуальный проект": (0.8, ("Работа над проектом: {t}",)),
    "ОДНКНР": (0.4, ("Подготовить сообщение по теме урока",)),
    "Музыка": (0.15, ("Подготовить сообщение о композиторе",)),
    "Изобразительное искусство": (0.3, ("Принести альбом и гуашь", "Закончить рисунок")),
    "Труд (технология)": (0.25, ("Принести материалы для практической работы",)),
}
