"""Turning a user's notification rows into the structure the digest templates render.

Lines are grouped by child (which student each line is about: a parent of two children must see whose
grade it is) and then by subject; news and private messages have sections of their own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from edutrack.db.diary import ABSENCE_REASON_TITLES
from edutrack.db.models import Notification
from edutrack.i18n import N_, _, day_month, ngettext
from edutrack.i18n.names import PersonName, first_last

KIND_LABELS = {
    "grade": N_("New grade"),
    "grade_changed": N_("Grade changed"),
    "grade_deleted": N_("Grade deleted"),
    "homework": N_("Homework"),
    "attendance": N_("Attendance"),
    "absence_note": N_("Absence note"),
    "lesson_changed": N_("Schedule change"),
    "final_mark": N_("Final mark"),
    "homework_submitted": N_("Homework handed in"),
    "homework_returned": N_("Homework returned for rework"),
}
ATTENDANCE_STATUS = {"absent": N_("absence"), "late": N_("late arrival"), "present": N_("present")}
DIARY_KINDS = frozenset(KIND_LABELS)
# The news section: news, someone asking to confirm (also a `news` row written before `ack_request` existed),
# a reminder to confirm.
NEWS_KINDS = frozenset({"news", "ack_request", "reminder"})
MESSAGE_KINDS = frozenset({"message", "chat_message"})  # private messages and messages in the user's rooms
NO_SUBJECT = N_("No subject")


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
    news: list[dict[str, str]]  # title, summary, ack_link (empty unless the item asks to confirm)
    messages: list[dict[str, str]]  # sender, text, room ("" for a private message)
    count: int


def _s(payload: Mapping[str, Any], key: str) -> str:
    value = payload.get(key)
    return "" if value is None else str(value).strip()


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _day(payload: Mapping[str, Any]) -> str:
    raw = _s(payload, "date")
    try:
        return day_month(date.fromisoformat(raw))
    except ValueError:
        return raw


def _label(table: Mapping[str, str], code: str) -> str:
    """A code's words; a code we do not know (an old row) is shown as it is rather than dropped."""
    return _(table[code]) if code in table else code


def describe(row: Notification) -> str:
    p = row.payload or {}
    if row.kind in ("grade", "grade_changed", "grade_deleted"):
        text = _s(p, "value")
        if _s(p, "work_type"):
            text = _("%(grade)s (%(work_type)s)", grade=text, work_type=_s(p, "work_type"))
        if _s(p, "date"):
            text = _("%(grade)s for %(date)s", grade=text, date=_day(p))
        if _s(p, "teacher"):
            text += f", {_s(p, 'teacher')}"
        if _s(p, "comment"):
            text += f": {_short(_s(p, 'comment'))}"
        return text or _s(p, "title")
    if row.kind == "homework":
        text = _short(_s(p, "text") or _s(p, "title"), 300)
        return _("for %(date)s: %(text)s", date=_day(p), text=text) if _s(p, "date") else text
    if row.kind == "attendance":
        status = _label(ATTENDANCE_STATUS, _s(p, "status"))
        text = _("%(date)s: %(status)s", date=_day(p), status=status) if _s(p, "date") else status
        if _s(p, "reason"):
            text += f" ({_label(ABSENCE_REASON_TITLES, _s(p, 'reason'))})"
        return text
    return _s(p, "title")


def build_digest(rows: Sequence[Notification], recipient_id: int, names: Mapping[int, PersonName],
                 ack_link: Callable[[Mapping[str, Any]], str] | None = None) -> Digest:
    """`ack_link(payload)`: the recipient's link to confirm a news item or an announcement that asks them to
    ("" for a row that asks nothing)."""
    children: dict[int | None, ChildGroup] = {}
    news: list[dict[str, str]] = []
    messages: list[dict[str, str]] = []
    for row in rows:
        p = row.payload or {}
        if row.kind in NEWS_KINDS:
            news.append({"title": _s(p, "title"), "summary": _short(_s(p, "summary"), 300),
                         "ack_link": ack_link(p) if ack_link is not None else ""})
        elif row.kind in MESSAGE_KINDS:
            messages.append({"sender": _s(p, "sender") or _("Someone"), "text": _short(_s(p, "text")),
                             "room": _s(p, "room") if row.kind == "chat_message" else ""})
        else:
            about = row.about_user_id
            own = about is None or about == recipient_id
            key = None if own else about
            if key not in children:
                known = names.get(about or 0)
                name = None if own else (first_last(known) if known else _s(p, "student_name")
                                         or _("student no. %(id)s", id=about))
                children[key] = ChildGroup(name=name)
            subject = _s(p, "subject") or _(NO_SUBJECT)
            group = children[key].subjects.setdefault(subject, SubjectGroup(subject))
            label = _(KIND_LABELS[row.kind]) if row.kind in KIND_LABELS else _s(p, "title") or row.kind
            group.lines.append({"label": label, "text": describe(row)})
    ordered = sorted(children.values(), key=lambda c: (c.name is not None, c.name or ""))
    return Digest(children=ordered, news=news, messages=messages, count=len(rows))


def plural_notifications(n: int) -> str:
    return ngettext("%(num)s new notification", "%(num)s new notifications", n)
