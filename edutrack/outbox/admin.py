"""Admin visibility of the outbox: list rows by status, and send dead rows again.

An admin sees the rows addressed to users of their school; a superuser sees every row.
"""

from __future__ import annotations

from edutrack import errors
from edutrack.context import AppContext
from edutrack.db.models import EmailOutbox, OutboxStatus
from edutrack.i18n import _
from edutrack.queries import outbox as q
from edutrack.security.tokens import Principal


def _require_admin(actor: Principal) -> None:
    if not actor.is_admin:
        raise errors.Forbidden(_("Only administrators can see the email outbox"))
    if not actor.is_superuser and actor.school_id is None:
        raise errors.Forbidden(_("This administrator account is not attached to a school"))


async def list_outbox(ctx: AppContext, actor: Principal, *, status: str | None, limit: int,
                      offset: int) -> tuple[list[EmailOutbox], int]:
    _require_admin(actor)
    async with ctx.sessions() as session:
        return await q.list_rows(session, status=status, limit=limit, offset=offset, school_id=actor.school_id,
                                 all_schools=actor.is_superuser)


async def retry_dead(ctx: AppContext, actor: Principal, outbox_id: int) -> EmailOutbox:
    _require_admin(actor)
    async with ctx.sessions.begin() as session:
        row = await q.row_for_update(session, outbox_id, school_id=actor.school_id, all_schools=actor.is_superuser)
        if row is None:
            raise errors.NotFound(_("No such email in the outbox"))
        if row.status != OutboxStatus.DEAD.value:
            raise errors.Conflict(_("Only emails that failed for good can be sent again; this one is “%(status)s”",
                                    status=row.status),
                                  code="not_dead")
        await q.requeue(session, row)
        await session.refresh(row)
        return row
