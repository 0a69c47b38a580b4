"""The MIME message the notifier builds, parsed back the way a mail client would."""

from __future__ import annotations

import email
import email.policy

from edutrack.db.models import EmailOutbox
from edutrack.notifier.smtp import build_message, message_id, valid_address
from edutrack.settings import Settings


def test_long_russian_subject_and_display_name_survive_a_round_trip(settings: Settings) -> None:
    subject = "Сообщение от Петровой Анны Ивановны (чат класса 7Б): родительское собрание переносится на четверг"
    row = EmailOutbox(id=42, recipient="mama@example.test", subject=subject, body_text="Текст\nвторая строка",
                      body_html="<p>Текст</p>", kind="chat_message")
    raw = build_message(row, settings.replace(smtp_from="Школа №5 <noreply@school5.example>"))
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Subject"] == subject
    assert parsed["From"].addresses[0].display_name == "Школа №5"
    assert parsed["Message-ID"] == f"<outbox-42.{settings.namespace}@school5.example>"
    assert message_id(42, settings) == f"<outbox-42.{settings.namespace}@edutrack.local>"
    plain = parsed.get_body(preferencelist=("plain",))
    html = parsed.get_body(preferencelist=("html",))
    assert plain is not None
    assert plain.get_content() == "Текст\nвторая строка"
    assert html is not None
    assert html.get_content() == "<p>Текст</p>"


def test_text_only_message(settings: Settings) -> None:
    row = EmailOutbox(id=7, recipient="a@example.test", subject="Hi", body_text="Привет", body_html=None, kind="x")
    parsed = email.message_from_bytes(build_message(row, settings), policy=email.policy.default)
    assert parsed.get_content_type() == "text/plain"
    assert parsed.get_content() == "Привет"


def test_address_validation() -> None:
    assert valid_address("parent@example.test")
    for bad in ("not an address", "a@", "@b.ru", "a@b..ru", "a@b.ru\r\nBcc: x@y.z", "a,b@c.ru", "a@.b.ru", ""):
        assert not valid_address(bad), bad
