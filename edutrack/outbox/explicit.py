"""Explicit emails: a teacher or admin emails a chat message to the people in its chat, through the outbox.

Chat message ids are numbered per channel (edutrack.db.chat), so a message is named by channel + id.
Recipients are the channel's members except the sender; members who turned email off ('off') are
skipped and counted. All outbox rows commit in one transaction: all recipients get it, or none do.
Asking again for the same message emails only the members who have not had it yet (someone who joined the
class since): each row carries a per-recipient dedupe key, so a double click never emails anyone twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from edutrack import errors
from edutrack.context import AppContext
from edutrack.db.models import EmailPreference, Role
from edutrack.i18n import _, for_recipients
from edutrack.i18n.names import PersonName, address_name, sender_name
from edutrack.mail.templates import RenderedEmail
from edutrack.queries import chat as chat_q
from edutrack.queries import outbox as q
from edutrack.queries.people import person_names
from edutrack.security.tokens import Principal
from edutrack.services import chat_channels
from edutrack.services.chat import parse_channel

KIND = "chat_message"


@dataclass(frozen=True, slots=True)
class Queued:
    outbox_ids: list[int]
    skipped_opted_out: int
    already_emailed: int


def _chat_email(ctx: AppContext, people: dict[int, PersonName], sender_id: int, recipient_id: int, address: str,
                class_name: object, text: str, room: bool = False) -> RenderedEmail:
    """"Сообщение от Ирины Крыловой (чат класса 5А)": the sender declined, the recipient addressed by name."""
    sender = sender_name(people[sender_id]) if sender_id in people else "EduTrack"
    if class_name is not None:
        where = _("class %(name)s chat", name=class_name)
    else:
        where = _("school chat") if room else _("private message")
    recipient = people.get(recipient_id)
    return ctx.mail.render(
        "chat_message", _("A message from %(sender)s (%(where)s)", sender=sender, where=where),
        name=(address_name(recipient) if recipient else "") or address, sender=sender, where=where, text=text,
        link=ctx.settings.public_url.rstrip("/") + "/",
    )


async def email_chat_message(ctx: AppContext, actor: Principal, channel_name: str, message_id: int) -> Queued:
    if not (actor.is_superuser or actor.role in (Role.TEACHER.value, Role.ADMIN.value)):
        raise errors.Forbidden(_("Only teachers and administrators can email a message"))
    channel = parse_channel(channel_name)
    if not channel.is_chat:
        raise errors.BadRequest(_("Only chat messages (class:{id} or dm:{a}:{b}) can be emailed"),
                                code="invalid_channel", details={"channel": channel_name})
    async with ctx.sessions.begin() as session:
        message = await chat_q.message_by_id(session, channel.name, message_id)
        if message is None or message.deleted_at is not None:
            raise errors.NotFound(_("No such message in this channel"))
        if channel.derived:  # a room: its members now (a class chat, a parents' room, a group, ...)
            message_school = await chat_channels.school_of_channel(session, channel)
            members = await chat_channels.member_ids(session, channel)
        else:
            facts = await chat_q.user_facts(session, [message.sender_id])
            message_school = facts[message.sender_id][0] if message.sender_id in facts else None
            members = set(channel.ids)
        school_admin = actor.role == Role.ADMIN.value and actor.school_id is not None \
            and actor.school_id == message_school
        if not (actor.is_superuser or actor.user_id == message.sender_id or school_admin):
            # Do not reveal the message to someone who could not read it anyway.
            raise errors.Forbidden(_("Only the message's sender or an administrator of its school can email it"))

        people = await q.email_recipients(session, sorted(members - {message.sender_id}))
        wanted = [p for p in people if p[3] != EmailPreference.OFF.value]
        names = await person_names(session, [message.sender_id, *(p[0] for p in wanted)])
        class_name = (await chat_q.class_names(session, [channel.ids[0]])).get(channel.ids[0], channel.ids[0]) \
            if channel.kind == "class" else None
        rows: list[dict[str, object]] = []
        for _user_id, address, _first_name, _extra in wanted:
            with for_recipients():
                mail = _chat_email(ctx, names, message.sender_id, _user_id, address, class_name, message.text,
                                   room=channel.derived)
            rows.append({"recipient": address, "subject": mail.subject[:300], "body_text": mail.text,
                         "body_html": mail.html, "kind": KIND, "user_id": _user_id,
                         "dedupe_key": f"{KIND}:{channel.name}:{message_id}:{_user_id}"})
        inserted = await q.insert_new(session, rows)
    return Queued(outbox_ids=sorted(i for i, _ in inserted), skipped_opted_out=len(people) - len(wanted),
                  already_emailed=len(rows) - len(inserted))
