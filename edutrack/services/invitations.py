"""Adding people by invitation, and sending a person the link that sets their password.

An administrator never types anyone's password. An invited account gets a password nobody knows (a hash of a
random secret, so signing in to it costs and answers exactly like a wrong password), and, in the same
transaction, an invitation link and its email in the outbox: the person sets their first password through the
link, as with a password reset. Until they do, the directory shows the invitation as waiting, and sending the
link again sends a new invitation; afterwards it sends a password reset. The link reaches only the person's own
mailbox, so an administrator can open no one's account.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from edutrack import errors
from edutrack.context import AppContext
from edutrack.db import gate
from edutrack.db.models import Role, TokenPurpose, User
from edutrack.i18n import N_, _, for_recipients
from edutrack.i18n.names import PersonName, address_name
from edutrack.mail.templates import RenderedEmail
from edutrack.queries import accounts as account_q
from edutrack.queries import directory as q
from edutrack.queries import schools as school_q
from edutrack.security.tokens import Principal, hash_token, new_opaque_token
from edutrack.services import directory
from edutrack.uow import unit_of_work

INVITES_PER_HOUR = 300  # a school's people are added in one sitting at the start of a year
LINKS_PER_ACCOUNT_PER_HOUR = 3  # as many as a person may ask for themselves (services/auth.py)
ADMIN_MANAGED_ROLES = (Role.TEACHER.value, Role.STUDENT.value, Role.PARENT.value)
INVITATION_LINES = {
    Role.ADMIN.value: N_("You have been added to EduTrack, the electronic diary of %(school)s, as an administrator."),
    Role.TEACHER.value: N_("You have been added to EduTrack, the electronic diary of %(school)s, as a teacher."),
    Role.STUDENT.value: N_("You have been added to EduTrack, the electronic diary of %(school)s, as a student."),
    Role.PARENT.value: N_("You have been added to EduTrack, the electronic diary of %(school)s, as a parent."),
}


@dataclasses.dataclass(frozen=True, slots=True)
class Invitee:
    email: str
    role: str
    first_name: str
    last_name: str
    middle_name: str | None = None
    birthday: date | None = None
    gender: str | None = None
    school_id: int | None = None


def _target_school(actor: Principal, new: Invitee) -> int:
    """Administrators add teachers, students and parents to their own school; a superuser anyone to any school."""
    if actor.is_superuser:
        if new.school_id is None:
            message = _("Choose the school.")
            raise errors.ValidationFailed(message, details={"school_id": [message]})
        return new.school_id
    school_id = directory.school_in_reach(actor, new.school_id)
    assert school_id is not None
    if new.role not in ADMIN_MANAGED_ROLES:
        raise errors.Forbidden(_("Only a superuser can add administrators"))
    return school_id


async def _admit(ctx: AppContext, key: str, limit: int) -> None:
    count, retry_after = await ctx.limiter.hit(key, 3600)
    if count > limit:
        raise errors.TooManyRequests(retry_after)


def _email_taken() -> errors.Conflict:
    message = _("A person with this email is already registered.")
    return errors.Conflict(message, code="email_taken", details={"email": [message]})


def invitation_email(ctx: AppContext, *, email: str, role: str, name: str, school_name: str,
                     token: str) -> RenderedEmail:
    """The email that asks a new person to set their first password (an admin's invitation or an import's), in
    the recipients' language; the caller is inside `for_recipients()`."""
    link = f"{ctx.settings.public_url.rstrip('/')}/reset-password?token={token}"
    return ctx.mail.render(
        "invitation", _("Invitation to EduTrack"), name=name or email, link=link, token=token, email=email,
        intro=_(INVITATION_LINES[role], school=school_name), ttl_days=max(ctx.settings.invitation_ttl // 86400, 1))


def _link_email(ctx: AppContext, user: User, school_name: str, token: str, purpose: str) -> RenderedEmail:
    """The invitation or reset email, in the recipients' language."""
    link = f"{ctx.settings.public_url.rstrip('/')}/reset-password?token={token}"
    with for_recipients():
        name = address_name(PersonName.of(user.profile)) or user.email
        if purpose == TokenPurpose.INVITE.value:
            return invitation_email(ctx, email=user.email, role=user.role, name=name, school_name=school_name,
                                    token=token)
        return ctx.mail.render("password_reset", _("EduTrack password reset"), name=name, link=link, token=token,
                               ttl_minutes=max(ctx.settings.password_reset_ttl // 60, 1))


async def _queue_link(ctx: AppContext, session: AsyncSession, user: User, school_name: str, purpose: str) -> None:
    """A fresh link and its email in the outbox, in the caller's transaction: both are written, or neither."""
    token = new_opaque_token()
    ttl = ctx.settings.invitation_ttl if purpose == TokenPurpose.INVITE.value else ctx.settings.password_reset_ttl
    await q.insert_link_token(session, user_id=user.id, token_hash=hash_token(token),
                              expires_at=datetime.now(UTC) + timedelta(seconds=ttl), purpose=purpose)
    mail = _link_email(ctx, user, school_name, token, purpose)
    kind = "invitation" if purpose == TokenPurpose.INVITE.value else "password_reset"
    await account_q.insert_outbox_email(session, recipient=user.email, subject=mail.subject, body_text=mail.text,
                                        body_html=mail.html, kind=kind, user_id=user.id)


async def invite(ctx: AppContext, actor: Principal, new: Invitee) -> dict[str, Any]:
    """Create the account and email its owner the link that sets their first password."""
    school_id = _target_school(actor, new)
    await _admit(ctx, f"invite:{actor.user_id}", INVITES_PER_HOUR)
    email = new.email.strip().lower()
    async with ctx.reads() as session:
        if await account_q.email_taken(session, email):
            raise _email_taken()
    # Nobody knows this password: the account opens only through the link.
    gate.step_out()
    unusable = await ctx.passwords.hash(new_opaque_token())
    try:
        async with unit_of_work(ctx) as uow:
            session = uow.session
            school = await school_q.school_by_id(session, school_id)
            if school is None:
                message = _("No such school.")
                raise errors.ValidationFailed(message, details={"school_id": [message]})
            user = await account_q.insert_user(
                session, {"email": email, "password_hash": unusable, "role": new.role, "school_id": school_id},
                {"first_name": new.first_name.strip(), "last_name": new.last_name.strip(),
                 "middle_name": (new.middle_name or "").strip() or None, "birthday": new.birthday,
                 "gender": new.gender})
            await session.refresh(user, ["profile"])
            await _queue_link(ctx, session, user, school.name, TokenPurpose.INVITE.value)
            view = await directory.person_view(session, user.id)
    except IntegrityError as exc:
        # Two invitations of one address at once: the unique index decides.
        if "email" not in str(exc.orig):
            raise
        raise _email_taken() from exc
    return view


async def send_link(ctx: AppContext, actor: Principal, user_id: int) -> dict[str, Any]:
    """Email a person the link that sets their password: the invitation again while it is still waiting,
    otherwise a password reset."""
    directory.require_admin(actor)
    await _admit(ctx, f"access-link:{actor.user_id}", INVITES_PER_HOUR)
    async with unit_of_work(ctx) as uow:
        session = uow.session
        user = await account_q.user_by_id(session, user_id, for_update=True)
        if user is None or not (actor.is_superuser or (user.school_id is not None
                                                       and user.school_id == actor.school_id)):
            raise errors.NotFound(_("No such user"))
        if not user.is_active:
            raise errors.Conflict(_("The account is switched off; switch it on first."), code="account_disabled")
        await _admit(ctx, f"access-link-to:{user.id}", LINKS_PER_ACCOUNT_PER_HOUR)
        school = await school_q.school_by_id(session, user.school_id) if user.school_id is not None else None
        waiting = user.id in await q.pending_invitations(session, [user.id])
        purpose = TokenPurpose.INVITE.value if waiting else TokenPurpose.RESET.value
        await _queue_link(ctx, session, user, school.name if school else "EduTrack", purpose)
    return {"status": "accepted", "kind": "invitation" if waiting else "password_reset"}
