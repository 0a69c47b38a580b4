"""The email pipeline's fixtures (a real aiosmtpd server, short delays, in-process workers) for these tests."""

from tests.email.conftest import mail_settings, queue_type, smtp, workers

__all__ = ["mail_settings", "queue_type", "smtp", "workers"]
