"""Russian names of the demo school's people: first names, patronymics from the father's name, and surnames in
the form of the person's gender (Крылов, Крылова; Вишневский, Вишневская; Черных for both)."""

from __future__ import annotations

import random
from dataclasses import dataclass

# Children born in the 2010s.
MALE = ["Александр", "Дмитрий", "Максим", "Артём", "Михаил", "Иван", "Кирилл", "Матвей", "Егор", "Никита",
        "Илья", "Андрей", "Тимофей", "Роман", "Арсений", "Даниил", "Марк", "Лев", "Глеб", "Фёдор", "Степан",
        "Ярослав", "Тимур", "Владимир", "Макар", "Платон", "Богдан", "Сергей", "Алексей", "Георгий"]
FEMALE = ["Анастасия", "Мария", "Анна", "Виктория", "Полина", "София", "Дарья", "Алиса", "Ксения",
          "Александра", "Елизавета", "Вероника", "Варвара", "Ульяна", "Алёна", "Маргарита", "Ева", "Василиса",
          "Арина", "Милана", "Таисия", "Кира", "Валерия", "Екатерина", "Злата", "Есения", "Мирослава"]
# Parents and teachers, born in the 1960s-1990s.
ADULT_MALE = ["Александр", "Сергей", "Андрей", "Алексей", "Дмитрий", "Михаил", "Евгений", "Владимир", "Павел",
              "Денис", "Роман", "Николай", "Олег", "Юрий", "Константин", "Виктор", "Игорь", "Антон", "Вадим",
              "Илья", "Павел", "Максим", "Василий", "Анатолий", "Валерий", "Григорий", "Пётр", "Иван", "Лев"]
ADULT_FEMALE = ["Елена", "Ольга", "Татьяна", "Ирина", "Наталья", "Светлана", "Марина", "Юлия", "Екатерина",
                "Анна", "Людмила", "Надежда", "Галина", "Оксана", "Валентина", "Евгения", "Лариса", "Инна"]
SURNAMES = ["Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов", "Михайлов", "Новиков",
            "Фёдоров", "Морозов", "Волков", "Алексеев", "Лебедев", "Семёнов", "Егоров", "Павлов", "Козлов",
            "Степанов", "Николаев", "Орлов", "Андреев", "Макаров", "Никитин", "Захаров", "Зайцев", "Соловьёв",
            "Борисов", "Яковлев", "Григорьев", "Романов", "Воробьёв", "Сергеев", "Кузьмин", "Фролов",
            "Александров", "Дмитриев", "Королёв", "Гусев", "Киселёв", "Ильин", "Максимов", "Поляков", "Сорокин",
            "Виноградов", "Ковалёв", "Белов", "Медведев", "Антонов", "Тарасов", "Жуков", "Баранов", "Филиппов",
            "Комаров", "Давыдов", "Беляев", "Герасимов", "Богданов", "Осипов", "Сидоров", "Матвеев", "Титов",
            "Марков", "Миронов", "Крылов", "Куликов", "Карпов", "Власов", "Мельников", "Денисов", "Гаврилов",
            "Тихонов", "Казаков", "Афанасьев", "Данилов", "Савельев", "Тимофеев", "Фомин", "Чернов", "Абрамов",
            "Мартынов", "Ефимов", "Федотов", "Щербаков", "Назаров", "Калинин", "Исаев", "Чернышёв", "Быков",
            "Маслов", "Родионов", "Коновалов", "Лазарев", "Воронин", "Климов", "Филатов", "Пономарёв", "Голубев",
            "Кудрявцев", "Прохоров", "Наумов", "Потапов", "Журавлёв", "Овчинников", "Трофимов", "Леонов",
            "Соболев", "Ермаков", "Колесников", "Гончаров", "Емельянов", "Никифоров", "Грачёв", "Котов",
            "Вишневский", "Ковальский", "Островский", "Покровский", "Соколовский", "Рождественский",
            "Белецкий", "Городецкий", "Заречный", "Толстой", "Лановой", "Черных", "Белых", "Долгих",
            "Шевченко", "Бондаренко", "Ткаченко", "Коваленко", "Кравчук", "Мельник", "Гайдамак"]


def female(surname: str) -> str:
    """The feminine form of a Russian surname; surnames that do not change (Черных, Шевченко) stay as they are."""
    if surname.endswith(("ов", "ев", "ёв", "ин", "ын")):
        return surname + "а"
    if surname.endswith(("ский", "цкий", "ный")):
        return surname[:-2] + "ая"
    if surname.endswith("ой"):
        return surname[:-2] + "ая"
    return surname


# Fathers' names whose patronymics do not follow the regular endings: (male, female).
IRREGULAR_PATRONYMICS = {"Илья": ("Ильич", "Ильинична"), "Лев": ("Львович", "Львовна"),
                         "Никита": ("Никитич", "Никитична"), "Павел": ("Павлович", "Павловна"),
                         "Михаил": ("Михайлович", "Михайловна"), "Пётр": ("Петрович", "Петровна"),
                         "Дмитрий": ("Дмитриевич", "Дмитриевна"), "Георгий": ("Георгиевич", "Георгиевна")}


def patronymic(father: str, is_female: bool) -> str:
    if father in IRREGULAR_PATRONYMICS:
        return IRREGULAR_PATRONYMICS[father][is_female]
    if father.endswith("ий"):  # Евгений -> Евгеньевич, Юрий -> Юрьевич, Василий -> Васильевич
        return father[:-2] + ("ьевна" if is_female else "ьевич")
    if father.endswith("ь"):  # Игорь -> Игоревич
        return father[:-1] + ("евна" if is_female else "евич")
    if father.endswith("й"):  # Сергей -> Сергеевич, Андрей -> Андреевич, Тимофей -> Тимофеевич
        return father[:-1] + ("евна" if is_female else "евич")
    return father + ("овна" if is_female else "ович")


@dataclass(frozen=True)
class Person:
    first: str
    middle: str
    last: str
    is_female: bool

    @property
    def address(self) -> str:
        """How a child or a parent addresses a teacher: "Ирина Петровна"."""
        return f"{self.first} {self.middle}"


def adult(rng: random.Random, is_female: bool, family: str | None = None) -> Person:
    """A grown-up (teacher or parent); `family` is the surname in its masculine form."""
    family = family or rng.choice(SURNAMES)
    father = rng.choice(ADULT_MALE)
    if is_female:
        return Person(rng.choice(ADULT_FEMALE), patronymic(father, True), female(family), True)
    return Person(rng.choice(ADULT_MALE), patronymic(father, False), family, False)


def child(rng: random.Random, is_female: bool, family: str, father: str) -> Person:
    first = rng.choice(FEMALE if is_female else MALE)
    return Person(first, patronymic(father, is_female), female(family) if is_female else family, is_female)
