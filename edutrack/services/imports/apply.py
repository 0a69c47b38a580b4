"""Writing a checked plan in the caller's transaction: subjects, people, classes, enrolment, parent links,
assignments, lessons, and the invitations of the people it creates.

New accounts share one Argon2 hash of a random secret nobody keeps (hashing per person would take minutes for a
school): no password opens them until their owner sets one through the invitation, which is a password-reset
token with a longer life (INVITATION_TTL) and its email, written to the outbox in this same transaction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from edutrack.context import AppContext
from edutrack.db.diary import Lesson, ParentChild, SchoolClass, Subject, TeachingAssignment
from edutrack.db.models import Profile, Role, TokenPurpose, User
from edutrack.i18n import for_recipients
from edutrack.i18n.names import PersonName, address_name
from edutrack.queries import imports as q
from edutrack.security.tokens import hash_token, new_opaque_token
from edutrack.services.imports.plan import Plan, SchoolState, key
from edutrack.services.imports.timetable import LessonPlan
from edutrack.services.invitations import invitation_email

Progress = Callable[[str, int, int], Awaitable[None]]


@dataclass
class Written:
    invitations: int
    class_ids: set[int]  # classes whose members changed (their chats)


class Writer:
    def __init__(self, ctx: AppContext, session: AsyncSession, state: SchoolState, progress: Progress) -> None:
        self.ctx = ctx
        self.session = session
        self.state = state
        self.progress = progress
        self.user_ids = {email: p.id for email, p in state.people.items() if p.id is not None}
        self.class_ids = {name: c.id for name, c in state.classes.items()}
        self.subject_ids = {name: s.id for name, s in state.subjects.items()}

    async def write(self, plan: Plan, password_hash: str) -> Written:
        s, st = self.session, self.state
        rows = await q.insert_returning_ids(s, Subject, [{"school_id": st.school_id, "name": n}
                                                         for n in plan.new_subjects], Subject.name)
        self.subject_ids.update({key(r.name): r.id for r in rows})
        invitations = await self._people(plan, password_hash)
        await self.progress("writing", 1, 4)
        await self._classes(plan)
        year_classes = set(self.class_ids.values())
        placements = [(self.user_ids[email], self.class_ids[key(name)]) for email, name in plan.enrol]
        await q.move_students(s, placements, year_classes)
        await q.insert_ignoring_duplicates(s, ParentChild, [
            {"parent_id": self.user_ids[p], "child_id": self.user_ids[c]} for p, c in plan.new_links])
        await q.insert_ignoring_duplicates(s, TeachingAssignment, [
            {"class_id": self.class_ids[key(c)], "subject_id": self.subject_ids[key(sub)],
             "teacher_id": self.user_ids[t]} for c, sub, t in plan.new_assignments])
        await self.progress("writing", 2, 4)
        if plan.lessons is not None:
            await self._lessons(plan.lessons)
        await self.progress("writing", 3, 4)
        return Written(invitations, self._chats_changed(plan, placements))

    def _chats_changed(self, plan: Plan, placements: list[tuple[int, int]]) -> set[int]:
        """Classes whose chat has other members now: students moved, parents linked to a child of the class,
        teachers assigned, a class teacher changed."""
        placed = dict(placements)
        touched = set(placed.values()) | {self.class_ids[key(c)] for c, _sub, _t in plan.new_assignments}
        touched |= {class_id for class_id, changes in plan.changed_classes if "class_teacher_email" in changes}
        for _parent, child in plan.new_links:
            child_id = self.user_ids[child]
            touched |= {placed[child_id]} if child_id in placed else self.state.enrolments.get(child_id, set())
        return touched

    async def _people(self, plan: Plan, password_hash: str) -> int:
        s, st = self.session, self.state
        rows = await q.insert_returning_ids(s, User, [
            {"email": p.email, "password_hash": password_hash, "role": p.role, "school_id": st.school_id}
            for p in plan.new_people], User.email)
        self.user_ids.update({r.email: r.id for r in rows})
        await q.insert_profiles(s, [
            {"user_id": self.user_ids[p.email], "first_name": p.first_name, "last_name": p.last_name,
             "middle_name": p.middle_name, "birthday": p.birthday} for p in plan.new_people])
        await q.update_rows(s, Profile, "user_id", [{"_key": uid, **changes} for uid, changes in plan.changed_people])
        await self._invite(plan)
        return len(plan.new_people)

    async def _invite(self, plan: Plan) -> None:
        """The same invitation an administrator sends from the people page (services/invitations.py)."""
        ttl = self.ctx.settings.invitation_ttl
        expires = datetime.now(UTC) + timedelta(seconds=ttl)
        tokens, emails = [], []
        with for_recipients():
            for person in plan.new_people:
                token = new_opaque_token()
                user_id = self.user_ids[person.email]
                tokens.append({"user_id": user_id, "token_hash": hash_token(token), "expires_at": expires,
                               "purpose": TokenPurpose.INVITE.value})
                # Children are addressed by their first name, adults with the patronymic.
                name = address_name(PersonName(person.first_name, person.last_name, None
                                               if person.role == Role.STUDENT.value else person.middle_name))
                mail = invitation_email(self.ctx, email=person.email, role=person.role, name=name,
                                        school_name=self.state.school_name, token=token)
                emails.append({"user_id": user_id, "recipient": person.email, "subject": mail.subject,
                               "body_text": mail.text, "body_html": mail.html, "kind": "invitation"})
        await q.insert_invitations(self.session, tokens, emails)

    async def _classes(self, plan: Plan) -> None:
        s, st = self.session, self.state
        rows = await q.insert_returning_ids(s, SchoolClass, [
            {"school_id": st.school_id, "academic_year_id": st.year_id, "name": c["name"],
             "grade_level": c["grade_level"],
             "class_teacher_id": self.user_ids[c["class_teacher_email"]] if c["class_teacher_email"] else None}
            for c in plan.new_classes], SchoolClass.name)
        self.class_ids.update({key(r.name): r.id for r in rows})
        updates = []
        for class_id, changes in plan.changed_classes:
            row: dict[str, Any] = {"_key": class_id}
            if "grade_level" in changes:
                row["grade_level"] = changes["grade_level"]
            if "class_teacher_email" in changes:
                row["class_teacher_id"] = self.user_ids[changes["class_teacher_email"]]
            updates.append(row)
        await q.update_rows(s, SchoolClass, "id", updates)

    async def _lessons(self, plan: LessonPlan) -> None:
        s, st = self.session, self.state
        await q.delete_lessons(s, plan.deletes)
        updates = []
        for lesson_id, changes in plan.updates:
            row: dict[str, Any] = {"_key": lesson_id}
            if "subject" in changes:
                row["subject_id"] = self.subject_ids[key(changes["subject"])]
            if "teacher_email" in changes:
                row["teacher_id"] = self.user_ids[changes["teacher_email"]]
            if "room" in changes:
                row["room"] = changes["room"]
            if "ends_at" in changes:
                row["ends_at"] = changes["ends_at"]
            updates.append(row)
        await q.update_rows(s, Lesson, "id", updates)
        await q.insert_lessons(s, [
            {"school_id": st.school_id, "class_id": self.class_ids[key(i["row"].class_name)],
             "subject_id": self.subject_ids[key(i["row"].subject)], "teacher_id": self.user_ids[i["row"].teacher_email],
             "room": i["row"].room, "starts_at": i["starts_at"], "ends_at": i["ends_at"]} for i in plan.inserts])
