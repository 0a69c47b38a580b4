"""Login, token rotation, logout, password change and reset."""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from edutrack import errors
from edutrack.context import AppContext
from edutrack.db import gate
from edutrack.db.models import User
from edutrack.i18n import _, for_recipients, ngettext
from edutrack.i18n.names import PersonName, address_name
from edutrack.queries import accounts as q
from edutrack.security.tokens import Principal, hash_token, new_opaque_token, new_reset_code, reset_code_key
from edutrack.services import token_cutoffs
from edutrack.services.accounts import check_password_policy, names_of
from edutrack.settings import Settings
from edutrack.uow import unit_of_work

log = logging.getLogger(__name__)

RESET_REQUESTS_PER_HOUR = 3


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    access_expires_at: int
    refresh_token: str
    refresh_expires_at: int
    token_type: str = "Bearer"  # noqa: S105 - the OAuth token type, not a secret


def _now() -> datetime:
    return datetime.now(UTC)


def _key_for(email: str) -> str:
    # Hash so that addresses never sit in Redis in the clear.
    return hashlib.sha256(email.encode()).hexdigest()[:32]


async def _issue(ctx: AppContext, session: AsyncSession, user: User, family: uuid.UUID | None,
                 user_agent: str | None, *, verified_hash: str | None = None) -> TokenPair:
    """A token pair for the account as it is now. The row is read again under a share lock in the issuing
    transaction: every change that cuts tokens (deactivation, role, school, password, logout-all) holds it FOR
    UPDATE until it commits, so a pair is issued either wholly before that change (and cut by it) or after its
    commit, from the changed account, with an iat later than the cut-off. `verified_hash`: the login checked the
    password against this hash; a reset or change committed since then refuses the login."""
    fresh = await q.user_by_id(session, user.id, for_share=True)
    if verified_hash is not None and (fresh is None or not fresh.is_active or fresh.password_hash != verified_hash):
        raise errors.Unauthorized(_("Email or password is incorrect"), code="invalid_credentials")
    if fresh is None or not fresh.is_active:
        raise errors.Unauthorized(_("This account no longer exists or is disabled"), code="account_disabled")
    user = fresh
    family = family or uuid.uuid4()
    access, access_exp = ctx.tokens.issue_access(user.id, user.role, user.school_id, user.is_superuser,
                                                 session_id=str(family))
    refresh = new_opaque_token()
    refresh_exp = _now() + timedelta(seconds=ctx.settings.refresh_token_ttl)
    await q.insert_refresh_token(
        session,
        user_id=user.id,
        token_hash=hash_token(refresh),
        family_id=family,
        expires_at=refresh_exp,
        user_agent=(user_agent or "")[:300] or None,
    )
    return TokenPair(access, access_exp, refresh, int(refresh_exp.timestamp()))


async def start_session(ctx: AppContext, user: User, user_agent: str | None) -> TokenPair:
    async with ctx.sessions.begin() as session:
        return await _issue(ctx, session, user, None, user_agent)


@dataclass(frozen=True, slots=True)
class SignIn:
    user: User
    tokens: TokenPair
    device_token: str


def _throttle_records(s: Settings, account: str, ip: str, device: str | None) -> dict[str, int]:
    """The failure records an attempt counts against, with their free failures (see README, "Accounts and
    sign-in"). A device that signed in to this account before answers only for itself: nobody else's failures
    slow it down. Anyone else also counts against its address (over all accounts: password spraying) and the
    account (over all addresses: a botnet on one account)."""
    if device is not None:
        return {f"login:{account}:device:{device}": s.login_free_failures}
    return {
        f"login:{account}:ip:{ip}": s.login_free_failures,
        f"login-ip:{ip}": s.login_ip_free_failures,
        f"login:{account}": s.login_account_free_failures,
    }


async def login(ctx: AppContext, email: str, password: str, ip: str, user_agent: str | None,
                device_token: str | None = None) -> SignIn:
    s = ctx.settings
    email = email.strip().lower()
    account = _key_for(email)
    ip_count, ip_ttl = await ctx.limiter.hit(f"login:ip:{ip}", s.login_ip_window)
    if ip_count > s.login_max_attempts_per_ip:
        raise errors.TooManyRequests(ip_ttl, _("Too many login attempts from this address; try again later"))
    # Keyed by the address typed, never by whether it is registered, and decided before any lookup or hash: an
    # unknown account is throttled exactly like a real one, and a refused attempt costs no Argon2 work.
    records = _throttle_records(s, account, ip, ctx.tokens.device_id(device_token, account))
    wait = await ctx.throttle.reserve(records, s.login_failure_window, s.login_max_delay)
    if wait:
        raise errors.TooManyRequests(wait, ngettext(
            "Too many failed sign-in attempts. Try again in %(num)s second.",
            "Too many failed sign-in attempts. Try again in %(num)s seconds.", wait))

    async with ctx.reads() as session:
        user = await q.user_by_email(session, email)
    gate.step_out()  # no connection is held while the check waits for a worker
    ok, needs_rehash = await ctx.passwords.verify(password, user.password_hash if user else None)
    if user is None or not ok or not user.is_active:
        raise errors.Unauthorized(_("Email or password is incorrect"), code="invalid_credentials")
    first, *others = records
    await ctx.throttle.succeeded(forget=[first], uncount=others)

    new_hash = await ctx.passwords.hash_if_idle(password) if needs_rehash else None
    async with ctx.sessions.begin() as session:
        verified = user.password_hash
        if new_hash:
            locked = await q.user_by_id(session, user.id, for_update=True)
            if locked is None or locked.password_hash != verified:
                raise errors.Unauthorized(_("Email or password is incorrect"), code="invalid_credentials")
            locked.password_hash = verified = new_hash
        pair = await _issue(ctx, session, user, None, user_agent, verified_hash=verified)
    return SignIn(user, pair, ctx.tokens.issue_device(account, s.device_token_ttl))


async def refresh(ctx: AppContext, refresh_token: str, user_agent: str | None) -> SignIn:
    """A new pair for the login of `refresh_token`, with the account it belongs to (device_token empty)."""
    token_hash = hash_token(refresh_token)
    async with unit_of_work(ctx) as uow:
        session = uow.session
        owner = await q.refresh_token_owner(session, token_hash)
        if owner is None:
            raise errors.Unauthorized(_("Refresh token is invalid"), code="invalid_refresh_token")
        # The account first, then the token: the order of every change that revokes tokens (logout, logout-all,
        # password, deactivation). Locking the token first let a refresh in flight insert its new token after a
        # logout-all had read which tokens to revoke, and the new one survived it.
        await q.user_by_id(session, owner, for_share=True)
        row = await q.refresh_token_for_update(session, token_hash)
        if row is None:
            raise errors.Unauthorized(_("Refresh token is invalid"), code="invalid_refresh_token")
        reuse = False
        family, user_id = row.family_id, row.user_id
        # Revoked itself, or a sibling of a family that was ended (logout, reuse detected, logout-all): only whole
        # families are ever revoked, so a live token beside a revoked one was issued by a refresh that raced the
        # revocation (two refreshes of one family, one of them detecting reuse, hold only share locks).
        if row.revoked_at is not None or await q.family_has_revoked(session, row.family_id):
            await q.revoke_refresh_family(session, row.family_id)
            reuse = True
        elif row.rotated_at is not None:
            grace = timedelta(seconds=ctx.settings.refresh_reuse_grace)
            if _now() - row.rotated_at > grace:
                # A rotated token presented again means it leaked: end every session of that login.
                log.warning("refresh token reuse detected; revoking family", extra={"user_id": row.user_id})
                await q.revoke_refresh_family(session, row.family_id)
                reuse = True
            else:
                # Moments after its rotation: a retry whose answer was lost, or a second tab refreshing at the
                # same time. Logging everyone out would punish an honest client; give it a sibling token instead.
                log.info("rotated refresh token presented again within the grace period",
                         extra={"user_id": row.user_id})
        if not reuse and row.expires_at <= _now():
            raise errors.Unauthorized(_("Refresh token has expired"), code="refresh_token_expired")
        if not reuse:
            user = await q.user_by_id(session, row.user_id)
            if user is None or not user.is_active:
                raise errors.Unauthorized(_("This account no longer exists or is disabled"), code="account_disabled")
            if row.rotated_at is None:
                row.rotated_at = _now()
            return SignIn(user, await _issue(ctx, session, user, row.family_id, user_agent), "")
        # That login's access tokens end everywhere once the revocation has committed.
        token_cutoffs.announce_session_end(uow, user_id, str(family))
    # The revocation must commit before we refuse, hence outside the transaction block.
    raise errors.Unauthorized(_("Refresh token has been revoked"), code="invalid_refresh_token")


async def logout(ctx: AppContext, refresh_token: str) -> None:
    token_hash = hash_token(refresh_token)
    async with unit_of_work(ctx) as uow:
        session = uow.session
        owner = await q.refresh_token_owner(session, token_hash)
        if owner is None:
            return
        # Waits for a refresh in flight to commit, so the token it rotates to is revoked with the family.
        await q.user_by_id(session, owner, for_update=True)
        row = await q.refresh_token_for_update(session, token_hash)
        if row is None:
            return
        family = row.family_id
        await q.revoke_refresh_family(session, family)
        # This device's access tokens go too, on every node (its open sockets close), not when they expire.
        token_cutoffs.announce_session_end(uow, owner, str(family))


async def logout_everywhere(ctx: AppContext, actor: Principal) -> None:
    async with unit_of_work(ctx) as uow:
        cutoff = await token_cutoffs.end_sessions(uow.session, actor.user_id)
        token_cutoffs.announce(uow, actor.user_id, cutoff, relogin=True)


async def change_password(ctx: AppContext, actor: Principal, current: str, new: str,
                          user_agent: str | None) -> TokenPair:
    async with ctx.reads() as session:
        user = await q.user_by_id(session, actor.user_id)
    if user is None or not user.is_active:
        raise errors.Unauthorized(_("This account no longer exists or is disabled"), code="account_disabled")
    gate.step_out()
    ok, _rehash = await ctx.passwords.verify(current, user.password_hash)
    if not ok:
        raise errors.ValidationFailed(_("Current password is incorrect"),
                                      details={"current_password": [_("Current password is incorrect.")]})
    check_password_policy(new, user.email, field="new_password", names=names_of(user))
    new_hash = await ctx.passwords.hash(new)
    async with unit_of_work(ctx) as uow:
        session = uow.session
        locked = await q.user_by_id(session, user.id, for_update=True)
        assert locked is not None
        locked.password_hash = new_hash
        # Other devices must log in again with the new password; this one gets a fresh pair (issued after the
        # cut-off, so it is not refused with the others' access tokens).
        cutoff = await token_cutoffs.end_sessions(session, user.id)
        pair = await _issue(ctx, session, locked, None, user_agent)
        token_cutoffs.announce(uow, user.id, cutoff, relogin=False)
    return pair


async def admit_reset_request(ctx: AppContext, ip: str) -> None:
    """Per client address, before the 202: each request may send an email. The per-address limit inside
    `request_password_reset` runs after the answer, so that it reveals nothing about the account."""
    s = ctx.settings
    count, ttl = await ctx.limiter.hit(f"reset:ip:{ip}", s.reset_ip_window)
    if count > s.reset_max_per_ip:
        raise errors.TooManyRequests(ttl, _("Too many password reset requests from this address. Try again later."))


async def request_password_reset(ctx: AppContext, email: str) -> None:
    """Runs after the 202 has been sent, so its duration tells the caller nothing."""
    email = email.strip().lower()
    count, _ttl = await ctx.limiter.hit(f"reset:{_key_for(email)}", 3600)
    if count > RESET_REQUESTS_PER_HOUR:
        log.info("password reset request throttled")
        return
    token = new_reset_code()
    ttl = ctx.settings.password_reset_ttl
    async with ctx.sessions.begin() as session:
        user = await q.user_by_email(session, email)
        if user is None or not user.is_active:
            return
        await q.insert_reset_token(
            session, user_id=user.id, token_hash=_reset_hash(token), expires_at=_now() + timedelta(seconds=ttl)
        )
        link = f"{ctx.settings.public_url.rstrip('/')}/reset-password?token={token}"
        with for_recipients():
            mail = ctx.mail.render("password_reset", _("EduTrack password reset"),
                                   name=address_name(PersonName.of(user.profile)) or user.email, link=link,
                                   token=token, ttl_minutes=max(ttl // 60, 1))
        # Same transaction as the token: either both exist or neither does.
        await q.insert_outbox_email(
            session, recipient=user.email, subject=mail.subject, body_text=mail.text, body_html=mail.html,
            kind="password_reset", user_id=user.id,
        )


def _reset_hash(token: str) -> str:
    """A reset email's code is stored as typed canonically (see security.tokens.reset_code_key); an invitation's
    token, which is no such code, as it is."""
    return hash_token(reset_code_key(token) or token)


async def confirm_password_reset(ctx: AppContext, token: str, new_password: str) -> None:
    async with ctx.reads() as session:
        row = await q.reset_token_for_update(session, _reset_hash(token))
        user = await q.user_by_id(session, row.user_id) if row is not None else None
    invalid = errors.BadRequest(_("This reset link is invalid or has expired"), code="invalid_reset_token")
    if row is None or user is None or row.used_at is not None or row.expires_at <= _now():
        raise invalid
    check_password_policy(new_password, user.email, field="new_password", names=names_of(user))
    gate.step_out()
    new_hash = await ctx.passwords.hash(new_password)
    async with unit_of_work(ctx) as uow:
        session = uow.session
        # Re-check under the row lock: two confirmations racing must not both succeed.
        row = await q.reset_token_for_update(session, _reset_hash(token))
        if row is None or row.used_at is not None or row.expires_at <= _now():
            raise invalid
        row.used_at = _now()
        locked = await q.user_by_id(session, row.user_id, for_update=True)
        if locked is None:
            raise invalid
        locked.password_hash = new_hash
        await q.invalidate_reset_tokens(session, locked.id)
        cutoff = await token_cutoffs.end_sessions(session, locked.id)
        # Whoever knew the old password is out, everywhere, now.
        token_cutoffs.announce(uow, locked.id, cutoff, relogin=True)
        # The owner proved the mailbox: guesses at the old password no longer slow down sign-ins from new devices.
        forget = f"login:{_key_for(locked.email)}"
        uow.after_commit(lambda: ctx.throttle.succeeded(forget=[forget], uncount=[]), "throttle.forget")
