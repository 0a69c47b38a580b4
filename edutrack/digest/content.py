"""Turning a user's notification rows into the structure the digest templates render.

Lines are grouped by child (which student each line is about: a parent of two children must see whose
grade it is) and then by subject; news and private messages have sections of their own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from edutrack.db.models import Notification

KIND_LABELS = {
    "grade": "Новая оценка",
    "grade_changed": "Оценка изменена",
    "grade_deleted": "Оценка удалена",
    "homework": "Домашнее задание",
    "attendance": "Посещаемость",
}
ATTENDANCE_STATUS = {
    "absent": "отсутствие",
    "late": "опоздание",
    "excused": "отсутствие по уважительной причине",
    "sick": "отсутствие по болезни",
    "present": "присутствие",
}
DIARY_KINDS = frozenset(KIND_LABELS)
NO_SUBJECT = "Без предмета"


@dataclass
class SubjectGroup:
    subject: str
    lines: list[dict[str, str]] = field(default_factory=list)


@dataclass
class ChildGroup:
    name: str | None  # None: the recipient's own diary (a student), no "about whom" heading needed
    subjects: dict[str, SubjectGroup] = field(default_factory=dict)


@dataclass
class Digest:
    children: list[ChildGroup]
    news: list[dict[str, str]]
    messages: list[dict[str, str]]
    count: int


def _s(payload: Mapping[str, Any], key: str) -> str:
    value = payload.get(key)
    return "" if value is None else str(value).strip()


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def describe(row: Notification) -> str:
    p = row.payload or {}
    if row.kind in ("grade", "grade_changed", "grade_deleted"):
        text = _s(p, "value")
        if _s(p, "work_type"):
            text += f" ({_s(p, 'work_type')})"
        if _s(p, "date"):
            text += f" за {_s(p, 'date')}"
        if _s(p, "teacher"):
            text += f", {_s(p, 'teacher')}"
        if _s(p, "comment"):
            text += f": {_short(_s(p, 'comment'))}"
        return text or _s(p, "title")
    if row.kind == "homework":
        when = f"на {_s(p, 'date')}: " if _s(p, "date") else ""
        return when + _short(_s(p, "text") or _s(p, "title"), 300)
    if row.kind == "attendance":
        status = ATTENDANCE_STATUS.get(_s(p, "status"), _s(p, "status"))
        text = f"{_s(p, 'date')}: {status}".strip(": ")
        if _s(p, "reason"):
            text += f" ({_short(_s(p, 'reason'))})"
        return text
    return _s(p, "title")


def build_digest(rows: Sequence[Notification], recipient_id: int, names: Mapping[int, str]) -> Digest:
    children: dict[int | None, ChildGroup] = {}
    news: list[dict[str, str]] = []
    messages: list[dict[str, str]] = []
    for row in rows:
        p = row.payload or {}
        if row.kind == "news":
            news.append({"title": _s(p, "title"), "summary": _short(_s(p, "summary"), 300)})
        elif row.kind == "message":
            messages.append({"sender": _s(p, "sender") or "Собеседник", "text": _short(_s(p, "text"))})
        else:
            about = row.about_user_id
            own = about is None or about == recipient_id
            key = None if own else about
            if key not in children:
                name = None if own else (_s(p, "student_name") or names.get(about or 0) or f"ученик #{about}")
                children[key] = ChildGroup(name=name)
            subject = _s(p, "subject") or NO_SUBJECT
            group = children[key].subjects.setdefault(subject, SubjectGroup(subject))
            group.lines.append({"label": KIND_LABELS.get(row.kind, _s(p, "title") or row.kind),
                                "text": describe(row)})
    ordered = sorted(children.values(), key=lambda c: (c.name is not None, c.name or ""))
    return Digest(children=ordered, news=news, messages=messages, count=len(rows))


def plural_notifications(n: int) -> str:
    if n % 10 == 1 and n % 100 != 11:
        return f"{n} новое уведомление"
    if n % 10 in (2, 3, 4) and n % 100 not in (12, 13, 14):
        return f"{n} новых уведомления"
    return f"{n} новых уведомлений"
