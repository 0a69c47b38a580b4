"""One SMTP connection of a notifier, and how its failures are classified.

Transient (retry later): 4xx replies, refused/dropped/timed-out connections.
Permanent (dead-letter): 5xx replies and addresses that are not addresses at all.
"""

from __future__ import annotations

import contextlib
import logging
import ssl
from dataclasses import dataclass
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import formataddr, formatdate, parseaddr
from typing import Protocol

import aiosmtplib

from edutrack.settings import Settings

log = logging.getLogger(__name__)

SMTP_COMPAT = compat32.clone(linesep="\r\n")
FORBIDDEN_IN_ADDRESS = set(" \t\r\n,;<>()[]\\\"")
# Header fields an outbox row may add (digest/scheduler.py); anything else in `headers` is ignored.
EXTRA_HEADERS = frozenset({"Message-ID", "In-Reply-To", "References", "List-Id", "List-Unsubscribe",
                           "List-Unsubscribe-Post"})


class MailRow(Protocol):
    """An outbox row as far as sending goes (a Core row of the notifier, or an ORM EmailOutbox)."""

    @property
    def id(self) -> int: ...
    @property
    def recipient(self) -> str: ...
    @property
    def subject(self) -> str: ...
    @property
    def body_text(self) -> str: ...
    @property
    def body_html(self) -> str | None: ...
    @property
    def kind(self) -> str: ...


@dataclass(frozen=True, slots=True)
class SendFailure:
    permanent: bool
    reason: str


def valid_address(address: str) -> bool:
    if len(address) > 254 or any(c in FORBIDDEN_IN_ADDRESS for c in address):
        return False
    local, at, domain = address.rpartition("@")
    return bool(at and local and domain) and "@" not in local and not domain.startswith(".") \
        and not domain.endswith(".") and ".." not in domain


def message_id(row_id: int, settings: Settings) -> str:
    # Stable per outbox row: a resend after a crash carries the same Message-ID, so receiving systems
    # (and our tests) can recognise the duplicate.
    domain = parseaddr(settings.smtp_from)[1].rpartition("@")[2] or "edutrack.local"
    return f"<outbox-{row_id}.{settings.namespace}@{domain}>"


def build_message(row: MailRow, settings: Settings) -> bytes:
    """The message as bytes, ready for SMTP DATA.

    Built with the compat32 MIME classes: they produce the same standard MIME as EmailMessage at about a
    quarter of the CPU (header objects of the modern API dominate a notifier's profile otherwise)."""
    text = MIMEText(row.body_text, "plain", "utf-8")
    msg: MIMEText | MIMEMultipart = text
    if row.body_html:
        msg = MIMEMultipart("alternative")
        msg.attach(text)
        msg.attach(MIMEText(row.body_html, "html", "utf-8"))
    name, address = parseaddr(settings.smtp_from)
    msg["From"] = formataddr((name, address), charset="utf-8")
    msg["To"] = row.recipient
    # compat32 takes a Header object and folds it knowing the field name; typeshed only allows str here.
    msg["Subject"] = Header(row.subject, "utf-8", header_name="Subject")  # type: ignore[assignment]
    msg["Date"] = formatdate(usegmt=True)
    extra: dict[str, str] = getattr(row, "headers", None) or {}
    msg["Message-ID"] = extra.get("Message-ID") or message_id(row.id, settings)
    msg["X-EduTrack-Outbox-Id"] = str(row.id)
    msg["X-EduTrack-Kind"] = row.kind
    for name, value in extra.items():
        if name != "Message-ID" and name in EXTRA_HEADERS:
            msg[name] = value
    return msg.as_bytes(policy=SMTP_COMPAT)


class SmtpSender:
    """Keeps one connection open across emails (connecting per email would dominate the cost)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._smtp: aiosmtplib.SMTP | None = None

    async def _connection(self) -> aiosmtplib.SMTP:
        if self._smtp is not None and self._smtp.is_connected:
            return self._smtp
        s = self.settings
        smtp = aiosmtplib.SMTP(
            hostname=s.smtp_host,
            port=s.smtp_port,
            timeout=s.smtp_timeout,
            use_tls=s.smtp_security == "tls",
            # False, not None: "plain" must never upgrade on its own; "starttls" must insist on it.
            start_tls=s.smtp_security == "starttls",
            username=s.smtp_user or None,
            password=s.smtp_password or None,
            tls_context=self._tls_context(),
        )
        await smtp.connect()
        self._smtp = smtp
        return smtp

    def _tls_context(self) -> ssl.SSLContext | None:
        # None lets aiosmtplib build its default (verifying, system CAs); a private CA still verifies.
        if self.settings.smtp_security == "plain" or not self.settings.smtp_ca_file:
            return None
        return ssl.create_default_context(cafile=self.settings.smtp_ca_file)

    async def send(self, row: MailRow) -> SendFailure | None:
        if not valid_address(row.recipient):
            return SendFailure(True, f"invalid recipient address {row.recipient!r}")
        sender = parseaddr(self.settings.smtp_from)[1]
        try:
            smtp = await self._connection()
            await smtp.sendmail(sender, [row.recipient], build_message(row, self.settings))
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refused = exc.recipients[0] if exc.recipients else None
            code = refused.code if refused is not None else 550
            await self._reset()
            return SendFailure(code >= 500, f"SMTP {code}: {refused.message if refused else 'recipient refused'}")
        except aiosmtplib.SMTPConnectError as exc:
            # Includes a server that greets with an error: the server's state, not the recipient's.
            await self.close()
            return SendFailure(False, f"SMTP connection problem: {exc!r}")
        except aiosmtplib.SMTPAuthenticationError as exc:
            # Wrong credentials are our configuration, not the recipient's fault: retry, never blame the row.
            await self.close()
            return SendFailure(False, f"SMTP authentication failed: {exc.code} {exc.message}")
        except aiosmtplib.SMTPResponseException as exc:
            await self._reset()
            return SendFailure(exc.code >= 500, f"SMTP {exc.code}: {exc.message}")
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            await self.close()
            return SendFailure(False, f"SMTP connection problem: {exc!r}")
        return None

    async def _reset(self) -> None:
        # After a refused transaction the connection may still be usable; if RSET fails, start over.
        if self._smtp is None:
            return
        try:
            await self._smtp.rset()
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            await self.close()

    async def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None and smtp.is_connected:
            try:
                await smtp.quit()
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                with contextlib.suppress(Exception):
                    smtp.close()
