"""Operations run from the command line, outside any web app: they build a short-lived context."""

from __future__ import annotations

from edutrack.errors import Conflict
from edutrack.queries import accounts as q
from edutrack.resources import open_context
from edutrack.services import accounts, token_cutoffs
from edutrack.settings import Settings
from edutrack.uow import unit_of_work


async def create_superuser(settings: Settings, email: str, password: str, first_name: str, last_name: str,
                           update_existing: bool) -> tuple[int, bool]:
    async with open_context(settings, role="cli", connect_amqp=False, small_pool=True) as ctx:
        try:
            user = await accounts.create_superuser(ctx, email, password, first_name, last_name)
            return user.id, True
        except Conflict:
            if not update_existing:
                raise
        accounts.check_password_policy(password, email)
        new_hash = await ctx.passwords.hash(password)
        async with unit_of_work(ctx) as uow:
            session = uow.session
            existing = await q.user_by_email(session, email)
            assert existing is not None
            existing.password_hash = new_hash
            existing.is_superuser = True
            existing.is_active = True
            existing.role = "admin"
            # A new password: whoever held a session of this account (with the old one) is out, as after a reset.
            cutoff = await token_cutoffs.end_sessions(session, existing.id)
            token_cutoffs.announce(uow, existing.id, cutoff, relogin=True)
        return existing.id, False
