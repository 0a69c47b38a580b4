"""The settings of the scaling pieces: parsed, normalised, refused with a message that names them."""

from __future__ import annotations

import pytest

from edutrack.i18n import use_locale
from edutrack.settings import Settings, SettingsError, load_settings


def test_defaults_keep_one_machine_as_it_was() -> None:
    defaults = Settings()
    assert (defaults.rabbitmq_queue_type, defaults.database_pool_mode) == ("classic", "session")
    assert defaults.database_read_url == ""
    assert defaults.database_read_wait == 0.5


def test_values_are_parsed_and_normalised() -> None:
    settings = load_settings({"RABBITMQ_QUEUE_TYPE": " Quorum ", "DATABASE_POOL_MODE": "TRANSACTION",
                              "DATABASE_READ_URL": "postgres://reader@replica:5432/edutrack",
                              "DATABASE_READ_WAIT": "0.2"}, env_file=None)
    assert settings.rabbitmq_queue_type == "quorum"
    assert settings.database_pool_mode == "transaction"
    assert settings.database_read_url == "postgresql+asyncpg://reader@replica:5432/edutrack"
    assert settings.database_read_wait == 0.2


@pytest.mark.parametrize(("env", "needle"), [
    ({"RABBITMQ_QUEUE_TYPE": "stream"}, "RABBITMQ_QUEUE_TYPE must be one of classic, quorum"),
    ({"DATABASE_POOL_MODE": "statement"}, "DATABASE_POOL_MODE must be one of session, transaction"),
    ({"DATABASE_READ_URL": "mysql://replica/db"}, "DATABASE_READ_URL must be empty or a PostgreSQL URL"),
    ({"DATABASE_READ_WAIT": "0"}, "DATABASE_READ_WAIT must be positive"),
])
def test_bad_values_are_refused(env: dict[str, str], needle: str) -> None:
    with use_locale("en"), pytest.raises(SettingsError) as caught:
        load_settings(env, env_file=None)
    assert any(needle in problem for problem in caught.value.problems), caught.value.problems
