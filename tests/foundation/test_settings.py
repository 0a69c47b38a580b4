"""Settings are validated at start-up with every problem listed; bad config never starts a server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from edutrack.i18n import use_locale
from edutrack.settings import MIN_JWT_SECRET_LENGTH, Settings, SettingsError, load_settings

GOOD_SECRET = "k" * MIN_JWT_SECRET_LENGTH


def _load(**env: str) -> Settings:
    return load_settings(env, env_file=None)


def _problems(**env: str) -> list[str]:
    with use_locale("en"), pytest.raises(SettingsError) as caught:
        _load(**env)
    return caught.value.problems


def test_defaults_work_without_any_environment():
    settings = _load()
    assert settings.environment == "development"
    assert settings.database_url.startswith("postgresql+asyncpg://")
    # Development generates a throwaway secret (and says so) instead of refusing to start.
    assert settings.jwt_secret_generated
    assert len(settings.jwt_secret) >= MIN_JWT_SECRET_LENGTH
    assert _load().jwt_secret != settings.jwt_secret


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"JWT_SECRET": "short-secret"}, "at least 32 characters"),
        ({"JWT_SECRET": GOOD_SECRET[:-1]}, "at least 32 characters"),
        ({"JWT_SECRET": "your-super-secret-jwt-key-minimum-32-characters-long"}, "placeholder"),
        ({"JWT_SECRET": "CHANGE-ME"}, "placeholder"),
        ({"CORS_ORIGINS": "*"}, "'*' is refused"),
        ({"CORS_ORIGINS": "http://a.example, https://*.example"}, "'*' is refused"),
        ({"CORS_ORIGINS": "a.example"}, "must start with http"),
        ({"DATABASE_URL": "mysql://root@localhost/db"}, "DATABASE_URL"),
        ({"DATABASE_URL": "sqlite:///x.db"}, "DATABASE_URL"),
        ({"REDIS_URL": "http://127.0.0.1:6379"}, "REDIS_URL"),
        ({"RABBITMQ_URL": "redis://127.0.0.1"}, "RABBITMQ_URL"),
        ({"PUBLIC_URL": "school.example"}, "PUBLIC_URL must start with http"),
        ({"ENVIRONMENT": "staging"}, "ENVIRONMENT"),
        ({"ENVIRONMENT": "production"}, "JWT_SECRET is required in production"),
        ({"ENVIRONMENT": "production", "JWT_SECRET": GOOD_SECRET, "DEBUG": "true"}, "DEBUG must be off"),
        ({"DEBUG": "maybe"}, "DEBUG must be a boolean"),
        ({"PORT": "eighty"}, "PORT must be an integer"),
        ({"PORT": "0"}, "PORT must be >= 1"),
        ({"ACCESS_TOKEN_TTL": "5"}, "ACCESS_TOKEN_TTL must be >= 30"),
        ({"SMTP_SECURITY": "ssl3"}, "SMTP_SECURITY"),
        ({"SMTP_TIMEOUT": "-1"}, "SMTP_TIMEOUT must be positive"),
        ({"NAMESPACE": "has space"}, "NAMESPACE"),
        ({"LOG_LEVEL": "chatty"}, "LOG_LEVEL"),
        ({"TRUSTED_PROXIES": "10.0.0.0/8, proxy.local"}, "TRUSTED_PROXIES entry 'proxy.local'"),
    ],
)
def test_bad_values_are_refused(env, needle):
    problems = _problems(**env)
    assert any(needle in p for p in problems), problems


def test_every_problem_is_reported_at_once():
    problems = _problems(JWT_SECRET="short", CORS_ORIGINS="*", REDIS_URL="nope", PORT="x")
    assert len(problems) == 4
    with use_locale("en"):
        message = str(SettingsError(problems))
    assert message.startswith("invalid configuration:")
    assert "REDIS_URL" in message
    assert "CORS_ORIGINS" in message


def test_problems_are_told_in_russian_by_default():
    with pytest.raises(SettingsError) as caught:
        _load(PORT="eighty", REDIS_URL="http://127.0.0.1:6379")
    assert caught.value.problems == ["PORT: нужно целое число, указано 'eighty'",
                                     "REDIS_URL должен начинаться с redis://, rediss:// или unix://"]
    assert str(caught.value).startswith("ошибки в настройках:\n  - PORT")


def test_good_values_are_parsed():
    settings = _load(
        ENVIRONMENT="prod",
        JWT_SECRET=" " + GOOD_SECRET + " ",
        DATABASE_URL="postgres://u:p@db:5432/school",
        CORS_ORIGINS="https://a.example/, http://b.example:8080",
        DEBUG="no",
        PORT="9000",
        LOGIN_FREE_FAILURES="7",
        SMTP_TIMEOUT="2.5",
        LOG_LEVEL="debug",
        TRUSTED_PROXIES="10.1.2.3/8, 127.0.0.1, ::1",
    )
    assert settings.is_production
    assert settings.jwt_secret == GOOD_SECRET
    assert not settings.jwt_secret_generated
    assert settings.database_url == "postgresql+asyncpg://u:p@db:5432/school"
    assert settings.cors_origins == ("https://a.example", "http://b.example:8080")
    assert settings.port == 9000
    assert settings.login_free_failures == 7
    assert settings.smtp_timeout == 2.5
    assert settings.log_level == "DEBUG"
    assert settings.trusted_proxies == ("10.0.0.0/8", "127.0.0.1/32", "::1/128")
    # Production never starts the development mail catcher unless asked to.
    assert settings.dev_mail_catcher is False


def test_environment_wins_over_env_file(tmp_path: Path):
    env_file = tmp_path / "custom.env"
    env_file.write_text(f"PORT=7000\nJWT_SECRET={GOOD_SECRET}\nNAMESPACE=fromfile\n")
    settings = load_settings({"PORT": "7100"}, env_file=env_file)
    assert settings.port == 7100
    assert settings.namespace == "fromfile"
    assert settings.jwt_secret == GOOD_SECRET
    # A missing env file is not an error.
    assert load_settings({}, env_file=tmp_path / "absent.env").port == 8000


def _run_cli(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    # Only what a shell needs: no DATABASE_URL/JWT_SECRET/... leaking in from the developer's environment.
    clean = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "LC_ALL", "PYTHONPATH", "TMPDIR") if k in os.environ}
    return subprocess.run(
        [sys.executable, "-m", "edutrack", "--env-file", str(tmp_path / "none.env"), *args],
        env={**clean, **env}, cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )


def test_cli_refuses_to_start_with_bad_settings(tmp_path: Path):
    result = _run_cli(tmp_path, "api", "--port", "1", JWT_SECRET="short", CORS_ORIGINS="*")
    assert result.returncode == 2, result
    # Told in the default language, Russian, like everything a person reads.
    assert "ошибки в настройках" in result.stderr
    assert "JWT_SECRET: нужно не меньше 32 символов, указано 5" in result.stderr
    assert "'*' не допускается" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_refuses_production_without_secret(tmp_path: Path):
    result = _run_cli(tmp_path, "migrate", ENVIRONMENT="production")
    assert result.returncode == 2, result
    assert "JWT_SECRET обязателен в рабочей среде" in result.stderr
