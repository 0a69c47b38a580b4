"""SMTP over STARTTLS and implicit TLS, with login, against an aiosmtpd server that holds a certificate from a
throwaway CA (trustme): delivered when SMTP_CA_FILE names that CA, refused (never sent in clear or unverified)
when it does not."""

from __future__ import annotations

import asyncio
import ssl
import warnings
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from edutrack.context import AppContext
from edutrack.notifier.worker import notifier_worker
from edutrack.outbox.relay import relay_worker
from edutrack.settings import Settings
from tests.email.conftest import ScriptedHandler, Workers, wait_for
from tests.email.helpers import add_emails, row

USER, PASSWORD = "edutrack-mailer", "s3cret-smtp-pass"


@dataclass
class TlsHandler(ScriptedHandler):
    """Records, per accepted message, whether the session was encrypted and authenticated."""

    sessions: list[tuple[bool, bool]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        # session.ssl is set by a STARTTLS upgrade only; an implicit-TLS connection shows on its transport.
        encrypted = session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None
        self.sessions.append((encrypted, bool(session.authenticated)))
        return await super().handle_DATA(server, session, envelope)


def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == \
        (USER.encode(), PASSWORD.encode())
    return AuthResult(success=ok, handled=False)


@dataclass
class TlsServer:
    handler: TlsHandler
    port: int
    ca_file: Path


@pytest.fixture
def ca(tmp_path: Path) -> tuple[trustme.CA, Path]:
    authority = trustme.CA()
    ca_file = tmp_path / "smtp-ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    return authority, ca_file


async def _serve(ca: tuple[trustme.CA, Path], *, implicit: bool) -> AsyncIterator[TlsServer]:
    authority, ca_file = ca
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    handler = TlsHandler()

    def protocol() -> SMTP:
        # STARTTLS server: refuses mail and login until the client upgrades. Implicit TLS: encrypted from the start
        # (aiosmtpd only counts a STARTTLS upgrade as TLS for AUTH, hence auth_require_tls off there; the handler
        # still checks that the session was encrypted).
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS", UserWarning)
            return SMTP(handler, hostname="tls-smtp", authenticator=authenticate, auth_required=True,
                        auth_require_tls=not implicit, tls_context=None if implicit else context,
                        require_starttls=not implicit)

    loop = asyncio.get_running_loop()
    server = await loop.create_server(protocol, "127.0.0.1", 0, ssl=context if implicit else None)
    try:
        yield TlsServer(handler, server.sockets[0].getsockname()[1], ca_file)
    finally:
        server.close()
        await server.wait_closed()


@pytest.fixture
async def starttls_server(ca: tuple[trustme.CA, Path]) -> AsyncIterator[TlsServer]:
    async for server in _serve(ca, implicit=False):
        yield server


@pytest.fixture
async def implicit_tls_server(ca: tuple[trustme.CA, Path]) -> AsyncIterator[TlsServer]:
    async for server in _serve(ca, implicit=True):
        yield server


async def _deliver_one(ctx: AppContext, settings: Settings, workers: Workers) -> int:
    [outbox_id] = await add_emails(ctx, 1)
    workers.start(relay_worker, settings)
    workers.start(notifier_worker, settings)

    async def settled() -> bool:
        return (await row(ctx, outbox_id)).status in ("sent", "dead")

    await wait_for(settled)
    return outbox_id


@pytest.mark.parametrize("security", ["starttls", "tls"])
async def test_delivered_encrypted_and_logged_in(
    ctx: AppContext, mail_settings: Settings, workers: Workers, security: str,
    starttls_server: TlsServer, implicit_tls_server: TlsServer,
) -> None:
    server = starttls_server if security == "starttls" else implicit_tls_server
    settings = mail_settings.replace(smtp_port=server.port, smtp_security=security,
                                     smtp_ca_file=str(server.ca_file), smtp_user=USER, smtp_password=PASSWORD)
    outbox_id = await _deliver_one(ctx, settings, workers)

    final = await row(ctx, outbox_id)
    assert final.status == "sent", final.last_error
    assert server.handler.outbox_ids() == [outbox_id]
    assert server.handler.sessions == [(True, True)]  # encrypted and authenticated


async def test_untrusted_certificate_is_refused_not_sent(
    ctx: AppContext, mail_settings: Settings, workers: Workers, starttls_server: TlsServer,
) -> None:
    # No SMTP_CA_FILE: the throwaway CA is not in the system's trust store, so the upgrade must fail.
    settings = mail_settings.replace(smtp_port=starttls_server.port, smtp_security="starttls",
                                     smtp_user=USER, smtp_password=PASSWORD, email_max_attempts=2)
    outbox_id = await _deliver_one(ctx, settings, workers)

    final = await row(ctx, outbox_id)
    assert final.status == "dead"
    assert "CERTIFICATE_VERIFY_FAILED" in (final.last_error or ""), final.last_error
    assert starttls_server.handler.received == []


async def test_wrong_smtp_password_is_not_delivered(
    ctx: AppContext, mail_settings: Settings, workers: Workers, starttls_server: TlsServer,
) -> None:
    settings = mail_settings.replace(smtp_port=starttls_server.port, smtp_security="starttls",
                                     smtp_ca_file=str(starttls_server.ca_file), smtp_user=USER,
                                     smtp_password="wrong-password", email_max_attempts=2)
    outbox_id = await _deliver_one(ctx, settings, workers)

    final = await row(ctx, outbox_id)
    assert final.status == "dead"
    assert "authentication failed" in (final.last_error or ""), final.last_error
    assert starttls_server.handler.received == []
