"""An onboarding school as import files: the rows of every kind, written as one XLSX workbook or as CSV files.

    school = OnboardingSchool.make(classes=4, students_per_class=5, tag="a1")
    workbook = school.xlsx()           # every sheet, Russian headers (as the template has them)
    files = school.csv_files()         # kind -> bytes, UTF-8 with BOM and ';' (as Excel in Russia saves)

The timetable gives each class `lessons_per_day` lessons a day, Monday to Friday, each subject taught by the
teacher assigned to it; teachers each take their own classes, so nothing clashes (a test plants clashes itself).
Used by the import tests and scripts/bench/import.py.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from openpyxl import Workbook

SUBJECTS = ("Математика", "Русский язык", "Литература", "История", "Биология", "География", "Физика",
            "Английский язык")
HEADERS = {
    "subjects": ["Предмет"],
    "teachers": ["Фамилия", "Имя", "Отчество", "Email"],
    "classes": ["Класс", "Параллель", "Email классного руководителя"],
    "students": ["Фамилия", "Имя", "Отчество", "Email", "Класс", "Дата рождения"],
    "parents": ["Фамилия", "Имя", "Отчество", "Email", "Email детей"],
    "assignments": ["Класс", "Предмет", "Email учителя"],
    "timetable": ["Учебный период", "Класс", "День недели", "Начало", "Конец", "Предмет", "Email учителя", "Кабинет"],
}
SHEETS = {"subjects": "Предметы", "teachers": "Учителя", "classes": "Классы", "students": "Ученики",
          "parents": "Родители", "assignments": "Нагрузка", "timetable": "Расписание"}
DAYS = ("понедельник", "вторник", "среда", "четверг", "пятница")
BELLS = ("08:30", "09:25", "10:20", "11:25", "12:20", "13:15")


def _ends(starts: str) -> str:
    hours, minutes = map(int, starts.split(":"))
    total = hours * 60 + minutes + 45
    return f"{total // 60:02d}:{total % 60:02d}"


@dataclass
class OnboardingSchool:
    rows: dict[str, list[list[Any]]] = field(default_factory=dict)

    @classmethod
    def make(cls, *, classes: int, students_per_class: int, parents_per_student: int = 2, teachers: int | None = None,
             subjects: int = 4, term: str = "1 четверть", lessons_per_day: int = 4, tag: str = "x",
             timetable: bool = True) -> OnboardingSchool:
        school = cls()
        r = school.rows
        subject_names = list(SUBJECTS[:subjects])
        r["subjects"] = [[s] for s in subject_names]
        n_teachers = teachers if teachers is not None else classes * subjects
        r["teachers"] = [[f"Учителева{i}", "Анна", "Ивановна", f"teacher{i}.{tag}@example.test"]
                         for i in range(n_teachers)]
        class_names = [f"{5 + i % 7}{'АБВГДЕЖИКЛМН'[i // 7]}" for i in range(classes)]
        r["classes"] = [[name, "", f"teacher{i % n_teachers}.{tag}@example.test"]
                        for i, name in enumerate(class_names)]
        r["students"], r["parents"], r["assignments"], r["timetable"] = [], [], [], []
        for ci, name in enumerate(class_names):
            for si in range(students_per_class):
                n = ci * students_per_class + si
                email = f"student{n}.{tag}@example.test"
                r["students"].append([f"Ученикова{n}", "Мария", "Петровна", email, name, "14.03.2014"])
                for pi in range(parents_per_student):
                    r["parents"].append([f"Ученикова{n}", "Ольга" if pi == 0 else "Пётр", "Сергеевна",
                                         f"parent{n}-{pi}.{tag}@example.test", email])
            for si, subject in enumerate(subject_names):
                teacher = (ci * subjects + si) % n_teachers
                r["assignments"].append([name, subject, f"teacher{teacher}.{tag}@example.test"])
        if timetable:
            school._timetable(class_names, subject_names, n_teachers, term, lessons_per_day, tag)
        return school

    def _timetable(self, class_names: list[str], subjects: list[str], n_teachers: int, term: str,
                   per_day: int, tag: str) -> None:
        for ci, name in enumerate(class_names):
            for day_index, day in enumerate(DAYS):
                for slot in range(per_day):
                    si = (day_index + slot + ci) % len(subjects)  # teachers shared by classes never meet
                    teacher = (ci * len(subjects) + si) % n_teachers
                    starts = BELLS[slot]
                    self.rows["timetable"].append([term, name, day, starts, _ends(starts), subjects[si],
                                                   f"teacher{teacher}.{tag}@example.test", f"{100 + ci}"])

    def xlsx(self, kinds: list[str] | None = None) -> bytes:
        book = Workbook(write_only=True)
        for kind in kinds or list(SHEETS):
            sheet = book.create_sheet(SHEETS[kind])
            sheet.append(HEADERS[kind])
            for row in self.rows.get(kind, []):
                sheet.append(row)
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()

    def csv(self, kind: str, *, delimiter: str = ";", bom: bool = True) -> bytes:
        out = io.StringIO()
        writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
        writer.writerow(HEADERS[kind])
        writer.writerows(self.rows.get(kind, []))
        return out.getvalue().encode("utf-8-sig" if bom else "utf-8")

    def csv_files(self, **options: Any) -> dict[str, bytes]:
        return {kind: self.csv(kind, **options) for kind in SHEETS}
