from __future__ import annotations

import dataclasses
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from edutrack import cache, errors
from edutrack.context import AppContext
from edutrack.db import gate
from edutrack.db.models import Role, User
from edutrack.i18n import _, ngettext
from edutrack.queries import accounts as q
from edutrack.queries import membership
from edutrack.queries.driver import driver
from edutrack.security import password_policy
from edutrack.security.tokens import Principal
from edutrack.services import chat_rooms, token_cutoffs
from edutrack.uow import AfterCommit, unit_of_work

PASSWORD_MIN = 8
PASSWORD_MAX = 128
SELF_REGISTRATION_ROLES = (Role.STUDENT.value, Role.PARENT.value)
PROFILE_FIELDS = ("first_name", "last_name", "middle_name", "birthday", "show_birthday", "avatar_url",
                  "email_notifications")
# Shown in cached diary answers (grade lists, term sheets, weeks): changing them invalidates the school's.
NAME_FIELDS = ("first_name", "last_name", "middle_name")


def _invalidate_schools(uow: AfterCommit, *school_ids: int | None) -> None:
    """A user's role, school, activity or name is part of cached answers and of the facts their
    authorization checks use (see edutrack/cache.py): drop the school's after the change."""
    schools = {s for s in school_ids if s is not None}
    uow.invalidate(*(cache.school_ref_bucket(s) for s in schools), *(cache.school_schedule_bucket(s) for s in schools))


def check_password_policy(password: str, email: str, field: str = "password",
                          names: Iterable[str | None] = ()) -> None:
    """Before any hashing: a refused password costs no Argon2 work. `names`: the account's first, last and
    middle names, which a password must not be (or be close to)."""
    problems = []
    if len(password) < PASSWORD_MIN:
        problems.append(ngettext("Password must be at least %(num)s character long.",
                                 "Password must be at least %(num)s characters long.", PASSWORD_MIN))
    if len(password) > PASSWORD_MAX:
        problems.append(ngettext("Password must be at most %(num)s character long.",
                                 "Password must be at most %(num)s characters long.", PASSWORD_MAX))
    if password.strip().lower() == email.strip().lower():
        problems.append(_("Password must not be the same as the email."))
    elif not problems and password_policy.is_like_account(password, email, names):
        problems.append(_(password_policy.LIKE_ACCOUNT))
    if not problems and password_policy.is_common(password):
        problems.append(_(password_policy.COMMON))
    if problems:
        raise errors.ValidationFailed(_("This password will not do"), code="weak_password", details={field: problems})


def names_of(user: User) -> tuple[str | None, ...]:
    return user.profile.first_name, user.profile.last_name, user.profile.middle_name


def avatar_for(avatar_url: str | None, first_name: str, last_name: str, email: str) -> str:
    """The user's own avatar, or one drawn from their initials by UI Avatars."""
    if avatar_url:
        return avatar_url
    name = f"{first_name} {last_name}".strip() or email
    # urlencode's bytes, without its general path (a tenth of `/profile/me`'s CPU in a profile)
    return f"https://ui-avatars.com/api/?name={urllib.parse.quote_plus(name)}{_AVATAR_TAIL}"


_AVATAR_TAIL = "&" + urllib.parse.urlencode({"background": "random", "size": 128, "format": "png"})


def user_view(user: User) -> dict[str, Any]:
    profile = user.profile
    return account_view({
        "id": user.id, "email": user.email, "role": user.role, "is_superuser": user.is_superuser,
        "is_active": user.is_active, "school_id": user.school_id, "created_at": user.created_at,
        **{name: getattr(profile, name) for name in PROFILE_FIELDS},
    })


def account_view(row: Any) -> dict[str, Any]:
    """UserSchema's shape from a user's columns and their profile's (`PROFILE_FIELDS`) by name: a dict, or a
    record of `queries.accounts.account_raw`."""
    first, last, middle = row["first_name"], row["last_name"], row["middle_name"]
    return {
        "id": row["id"],
        "email": row["email"],
        "role": row["role"],
        "is_superuser": row["is_superuser"],
        "is_active": row["is_active"],
        "school_id": row["school_id"],
        "created_at": row["created_at"],
        "profile": {
            "first_name": first,
            "last_name": last,
            "middle_name": middle,
            "full_name": " ".join(p for p in (last, first, middle) if p),
            "birthday": row["birthday"],
            "show_birthday": row["show_birthday"],
            "avatar_url": avatar_for(row["avatar_url"], first, last, row["email"]),
            "has_custom_avatar": row["avatar_url"] is not None,
            "email_notifications": row["email_notifications"],
        },
    }


@dataclass(frozen=True, slots=True)
class NewUser:
    email: str
    password: str
    role: str
    first_name: str
    last_name: str
    middle_name: str | None = None
    birthday: Any = None
    school_id: int | None = None
    is_superuser: bool = False


async def _create(ctx: AppContext, new: NewUser) -> User:
    email = new.email.strip().lower()
    check_password_policy(new.password, email, names=(new.first_name, new.last_name, new.middle_name))
    # Refusals first, hashing last: a taken address costs no Argon2 work. The 409 says as much as its timing.
    # A full hash queue refuses before the database read too: under a registration flood the refused requests
    # then take no place at the database gate, which logins and every other request need.
    ctx.passwords.refuse_if_full()
    async with ctx.reads() as session:
        if await q.email_taken(session, email):
            raise _email_taken()
    gate.step_out()  # no connection is held while the hash waits for a worker
    password_hash = await ctx.passwords.hash(new.password)
    try:
        async with ctx.sessions.begin() as session:
            if new.school_id is not None:
                await _require_school(session, new.school_id)
            user = await q.insert_user(
                session,
                {
                    "email": email,
                    "password_hash": password_hash,
                    "role": new.role,
                    "school_id": new.school_id,
                    "is_superuser": new.is_superuser,
                },
                {
                    "first_name": new.first_name.strip(),
                    "last_name": new.last_name.strip(),
                    "middle_name": (new.middle_name or "").strip() or None,
                    "birthday": new.birthday,
                },
            )
            await session.refresh(user, ["created_at", "is_active", "profile"])
    except IntegrityError as exc:
        # Two concurrent registrations of one email: the unique index decides. Anything else (a school deleted
        # at this very moment) is not an email conflict and must not be reported as one.
        if "email" not in str(exc.orig):
            raise
        raise _email_taken() from exc
    return user


def _email_taken() -> errors.Conflict:
    return errors.Conflict(_("A user with this email already exists"), code="email_taken")


async def _require_school(session: AsyncSession, school_id: int) -> None:
    if not await q.school_exists(session, school_id):
        raise errors.ValidationFailed(_("No such school"), details={"school_id": [_("No such school.")]})


async def register(ctx: AppContext, new: NewUser, ip: str) -> User:
    s = ctx.settings
    if not s.allow_self_registration:
        raise errors.Forbidden(_("Self-registration is disabled; ask your school administrator"),
                               code="registration_disabled")
    # Every attempt counts, refused ones too: each may cost a hash, and each 409 tells whether an address exists.
    count, ttl = await ctx.limiter.hit(f"register:ip:{ip}", s.register_ip_window)
    if count > s.register_max_per_ip:
        raise errors.TooManyRequests(ttl, _("Too many registrations from this address. Try again later."))
    if new.role not in SELF_REGISTRATION_ROLES:
        raise errors.ValidationFailed(
            _("Only students and parents may register themselves"),
            details={"role": [_("Must be one of: %(choices)s.", choices=", ".join(SELF_REGISTRATION_ROLES))]},
        )
    return await _create(ctx, dataclasses.replace(new, school_id=None, is_superuser=False))


def _require_admin(actor: Principal) -> None:
    if not actor.is_admin:
        raise errors.Forbidden(_("Only school administrators can manage users"))


async def create_by_admin(ctx: AppContext, actor: Principal, new: NewUser) -> User:
    _require_admin(actor)
    if not actor.is_superuser:
        if new.is_superuser or new.role == Role.ADMIN.value:
            raise errors.Forbidden(_("Only a superuser can create administrators"))
        if actor.school_id is None:
            raise errors.Forbidden(_("You are not attached to a school"))
        if new.school_id is not None and new.school_id != actor.school_id:
            raise errors.Forbidden(_("You can only add users to your own school"))
        new = dataclasses.replace(new, school_id=actor.school_id)
    return await _create(ctx, new)


async def create_superuser(ctx: AppContext, email: str, password: str, first_name: str, last_name: str) -> User:
    return await _create(
        ctx, NewUser(email=email, password=password, role=Role.ADMIN.value, first_name=first_name,
                     last_name=last_name, is_superuser=True)
    )


def _visible(actor: Principal, user: User) -> bool:
    if actor.is_superuser or actor.user_id == user.id:
        return True
    return actor.role == Role.ADMIN.value and actor.school_id is not None and actor.school_id == user.school_id


async def get_user(ctx: AppContext, actor: Principal, user_id: int) -> User:
    async with ctx.reads() as session:
        user = await q.user_by_id(session, user_id)
    if user is None or not _visible(actor, user):
        raise errors.NotFound(_("User not found"))
    return user


async def list_users(
    ctx: AppContext, actor: Principal, *, role: str | None, q_text: str | None, school_id: int | None,
    limit: int, offset: int,
) -> tuple[list[User], int]:
    _require_admin(actor)
    if not actor.is_superuser:
        school_id = actor.school_id
        if school_id is None:
            return [], 0
    async with ctx.reads() as session:
        return await q.list_users(session, school_id=school_id, role=role, q=q_text, limit=limit, offset=offset)


async def update_user(ctx: AppContext, actor: Principal, user_id: int, changes: dict[str, Any]) -> User:
    _require_admin(actor)
    async with unit_of_work(ctx) as uow:
        session = uow.session
        user = await q.user_by_id(session, user_id, for_update=True)
        if user is None or not _visible(actor, user):
            raise errors.NotFound(_("User not found"))
        if user.id == actor.user_id and changes.get("is_active") is False:
            raise errors.Conflict(_("You cannot deactivate yourself"), code="self_deactivation")
        if not actor.is_superuser:
            if user.is_superuser or (user.role == Role.ADMIN.value and user.id != actor.user_id):
                raise errors.Forbidden(_("Only a superuser can change administrators"))
            if changes.get("role") == Role.ADMIN.value or "school_id" in changes:
                raise errors.Forbidden(_("Only a superuser can make administrators or move users between schools"))
        if changes.get("school_id") is not None:
            await _require_school(session, changes["school_id"])
        old_school, old_role = user.school_id, user.role
        # Tokens carry the role and the school: issued before a change, they would keep the old powers.
        claims_changed = any(key in changes and changes[key] != getattr(user, key) for key in ("role", "school_id"))
        for key in ("role", "is_active", "school_id"):
            if key in changes:
                setattr(user, key, changes[key])
        cutoff: float | None = None
        if changes.get("is_active") is False:
            cutoff = await token_cutoffs.end_sessions(session, user.id)
        elif claims_changed:
            cutoff = await token_cutoffs.cut(session, user.id)
        # Class chats count active users only: a (de)activation changes who is in them.
        chats_changed: set[int] = set()
        rooms: list[str] = []
        if "is_active" in changes or "role" in changes or "school_id" in changes:
            was = Principal(user.id, old_role, old_school, user.is_superuser)
            chats_changed = await membership.visible_class_ids(session, was) or set()
            rooms = await chat_rooms.rooms_of_account(session, user.id, {old_school, user.school_id},
                                                      Role.ADMIN.value in (old_role, user.role))
        await session.flush()
        await session.refresh(user, ["updated_at", "profile"])
        if cutoff is not None:
            # Access tokens and open sockets go now, on every node, rather than when the access token expires.
            # First: the cache invalidation below may wait on Redis.
            token_cutoffs.announce(uow, user.id, cutoff, relogin=not user.is_active)
        _invalidate_schools(uow, old_school, user.school_id)
        uow.membership_changed(chats_changed)
        uow.membership_changed_channels(rooms)
    return user


async def get_me(ctx: AppContext, actor: Principal) -> dict[str, Any]:
    """The caller's account view: one statement on the driver connection (queries/driver.py), the floor of
    every authenticated request."""
    async with ctx.engine.connect() as conn:
        row = await q.account_raw(await driver(conn), actor.user_id)
    if row is None or not row["is_active"]:
        raise errors.Unauthorized(_("This account no longer exists or is disabled"), code="account_disabled")
    return account_view(row)


async def update_me(ctx: AppContext, actor: Principal, changes: dict[str, Any]) -> User:
    async with unit_of_work(ctx) as uow:
        session = uow.session
        user = await q.user_by_id(session, actor.user_id, for_update=True)
        if user is None or not user.is_active:
            raise errors.Unauthorized(_("This account no longer exists or is disabled"), code="account_disabled")
        for key in PROFILE_FIELDS:
            if key in changes:
                value = changes[key]
                if isinstance(value, str):
                    value = value.strip() or None if key in ("middle_name", "avatar_url") else value.strip()
                setattr(user.profile, key, value)
        await session.flush()
        await session.refresh(user.profile)
        if any(key in changes for key in NAME_FIELDS):
            _invalidate_schools(uow, user.school_id)
    return user
