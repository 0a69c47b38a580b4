"""Settings read from the environment (and an optional `.env`), validated once at start-up.

Every value has a local default so that `edutrack run` works on a developer machine with no `.env`.
Production (`ENVIRONMENT=production`) refuses the development conveniences instead of guessing.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values

log = logging.getLogger(__name__)

# Values people copy from examples and forget to change.
KNOWN_PLACEHOLDER_SECRETS = frozenset(
    {
        "change-me",
        "changeme",
        "secret",
        "your-super-secret-jwt-key-minimum-32-characters-long",
        "please-change-me-to-a-long-random-string-of-64-chars",
        "replace-with-a-random-string-of-at-least-32-characters",
    }
)
MIN_JWT_SECRET_LENGTH = 32
ENVIRONMENTS = ("development", "test", "production")
SMTP_SECURITY = ("plain", "starttls", "tls")


class SettingsError(ValueError):
    """Raised with every problem found, so a misconfigured deploy is fixed in one go."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid configuration:\n  - " + "\n  - ".join(problems))


@dataclass(frozen=True, slots=True)
class Settings:
    environment: str = "development"
    debug: bool = False
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = "http://127.0.0.1:8000"

    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/edutrack"
    db_pool_size: int = 10
    db_max_overflow: int = 10
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_max_connections: int = 100
    # Prefix of every Redis key and pub/sub channel, and of every RabbitMQ exchange/queue:
    # lets several deployments (or test runs) share one Redis/RabbitMQ without seeing each other.
    namespace: str = "edutrack"
    rabbitmq_url: str = "amqp://guest:guest@127.0.0.1:5672/"

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_security: str = "plain"
    # PEM file of the CA(s) that sign the SMTP server's certificate, for a server with a private CA;
    # empty: the system's trust store. Certificates are always verified for "starttls" and "tls".
    smtp_ca_file: str = ""
    smtp_from: str = "EduTrack <noreply@edutrack.local>"
    smtp_timeout: float = 10.0
    # Development convenience: `edutrack run` starts an aiosmtpd catcher on smtp_host:smtp_port
    # that saves every message under mail_catcher_dir instead of sending it anywhere.
    dev_mail_catcher: bool = True
    mail_catcher_dir: str = "var/mail"
    # Email pipeline (issue 5). Digests go out for notifications unread this long (seconds) by an offline user;
    # the scheduler looks every digest_interval seconds.
    digest_delay: int = 600
    digest_interval: float = 60.0
    # Waits (seconds) before each SMTP retry after a transient failure; the last value repeats.
    email_retry_delays: tuple[float, ...] = (30.0, 120.0, 600.0, 1800.0)
    # SMTP attempts per email before it is dead-lettered.
    email_max_attempts: int = 5
    relay_batch_size: int = 200
    # A row claimed by a relay that died is reclaimed after this many seconds.
    relay_lease: float = 60.0
    relay_poll_interval: float = 1.0
    # A row 'published' this long (seconds) without being sent or dead lost its message: publish it again.
    # Longer than the whole retry schedule, so emails waiting in a delay queue are left alone.
    relay_republish_after: float = 3 * 3600.0
    notifier_prefetch: int = 32
    # Parallel SMTP connections per notifier process.
    notifier_concurrency: int = 4

    jwt_secret: str = ""
    jwt_algorithm: str = "HS256"
    access_token_ttl: int = 15 * 60
    refresh_token_ttl: int = 30 * 24 * 3600
    # Seconds after a refresh token's rotation during which presenting it again (a retry whose answer was lost,
    # two tabs refreshing at once) gets a new token instead of revoking the whole login. 0: never.
    refresh_reuse_grace: int = 10
    # Seconds between two reads of the access-token cut-offs by each API node (services/token_cutoffs.py); the Redis
    # broadcast is the fast path, this catches one that was lost.
    access_cutoff_poll: float = 5.0
    # Open websockets one user may hold on one API node; one more is refused (close 4029).
    ws_max_sockets_per_user: int = 20
    password_reset_ttl: int = 3600
    allow_self_registration: bool = True

    cors_origins: tuple[str, ...] = ("http://127.0.0.1:8000", "http://localhost:8000")
    max_body_bytes: int = 1024 * 1024
    # Load balancers / reverse proxies (IPs or CIDR networks) whose X-Forwarded-For is believed. Without this,
    # behind a proxy every client has the proxy's address and shares one login rate limit.
    trusted_proxies: tuple[str, ...] = ()

    login_max_failures_per_account: int = 5
    login_account_window: int = 15 * 60
    login_max_attempts_per_ip: int = 30
    login_ip_window: int = 60

    # Argon2 cost. Defaults follow argon2-cffi's RFC 9106 "low memory" profile; tests lower them.
    argon2_time_cost: int = 3
    argon2_memory_cost: int = 64 * 1024
    argon2_parallelism: int = 2

    log_level: str = "INFO"
    log_json: bool = True

    # Set when the secret was generated for this process only (development without JWT_SECRET).
    jwt_secret_generated: bool = field(default=False, compare=False)

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    def replace(self, **changes: object) -> Settings:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _parse_bool(name: str, raw: str, problems: list[str]) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    problems.append(f"{name} must be a boolean (true/false), got {raw!r}")
    return False


def _parse_int(name: str, raw: str, problems: list[str], minimum: int = 0) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        problems.append(f"{name} must be an integer, got {raw!r}")
        return minimum
    if value < minimum:
        problems.append(f"{name} must be >= {minimum}, got {value}")
    return value


def _parse_float(name: str, raw: str, problems: list[str]) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        problems.append(f"{name} must be a number, got {raw!r}")
        return 0.0
    if value <= 0:
        problems.append(f"{name} must be positive, got {value}")
    return value


def _parse_origins(raw: str, problems: list[str]) -> tuple[str, ...]:
    origins = tuple(o.strip().rstrip("/") for o in raw.split(",") if o.strip())
    for origin in origins:
        if origin == "*" or "*" in origin:
            problems.append("CORS_ORIGINS must list explicit origins; '*' is refused")
        elif not origin.startswith(("http://", "https://")):
            problems.append(f"CORS_ORIGINS entry {origin!r} must start with http:// or https://")
    return origins


def _parse_networks(name: str, raw: str, problems: list[str]) -> tuple[str, ...]:
    networks = []
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            continue
        try:
            networks.append(str(ipaddress.ip_network(part, strict=False)))
        except ValueError:
            problems.append(f"{name} entry {part!r} is not an IP address or network (e.g. 10.0.0.0/8)")
    return tuple(networks)


def load_settings(environ: Mapping[str, str] | None = None, env_file: str | Path | None = ".env") -> Settings:
    """Build Settings from `environ` (default: os.environ) over an optional `.env` file.

    Real environment variables win over the file, as with every twelve-factor tool.
    """
    values: dict[str, str] = {}
    if env_file is not None and Path(env_file).is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ if environ is None else environ)

    problems: list[str] = []
    defaults = Settings()
    kw: dict[str, object] = {}

    def text(name: str, attr: str) -> None:
        if name in values:
            kw[attr] = values[name].strip()

    environment = values.get("ENVIRONMENT", defaults.environment).strip().lower()
    aliases = {"dev": "development", "prod": "production", "testing": "test"}
    environment = aliases.get(environment, environment)
    if environment not in ENVIRONMENTS:
        problems.append(f"ENVIRONMENT must be one of {', '.join(ENVIRONMENTS)}, got {environment!r}")
    kw["environment"] = environment

    for name, attr in (
        ("DEBUG", "debug"),
        ("ALLOW_SELF_REGISTRATION", "allow_self_registration"),
        ("DEV_MAIL_CATCHER", "dev_mail_catcher"),
        ("LOG_JSON", "log_json"),
    ):
        if name in values:
            kw[attr] = _parse_bool(name, values[name], problems)

    int_fields = {
        "PORT": ("port", 1),
        "SMTP_PORT": ("smtp_port", 1),
        "DB_POOL_SIZE": ("db_pool_size", 1),
        "DB_MAX_OVERFLOW": ("db_max_overflow", 0),
        "REDIS_MAX_CONNECTIONS": ("redis_max_connections", 4),
        "ACCESS_TOKEN_TTL": ("access_token_ttl", 30),
        "REFRESH_TOKEN_TTL": ("refresh_token_ttl", 60),
        "REFRESH_REUSE_GRACE": ("refresh_reuse_grace", 0),
        "PASSWORD_RESET_TTL": ("password_reset_ttl", 60),
        "MAX_BODY_BYTES": ("max_body_bytes", 1024),
        "LOGIN_MAX_FAILURES_PER_ACCOUNT": ("login_max_failures_per_account", 1),
        "LOGIN_ACCOUNT_WINDOW": ("login_account_window", 1),
        "LOGIN_MAX_ATTEMPTS_PER_IP": ("login_max_attempts_per_ip", 1),
        "LOGIN_IP_WINDOW": ("login_ip_window", 1),
        "ARGON2_TIME_COST": ("argon2_time_cost", 1),
        "ARGON2_MEMORY_COST": ("argon2_memory_cost", 8),
        "ARGON2_PARALLELISM": ("argon2_parallelism", 1),
        "DIGEST_DELAY": ("digest_delay", 0),
        "EMAIL_MAX_ATTEMPTS": ("email_max_attempts", 1),
        "RELAY_BATCH_SIZE": ("relay_batch_size", 1),
        "NOTIFIER_PREFETCH": ("notifier_prefetch", 1),
        "NOTIFIER_CONCURRENCY": ("notifier_concurrency", 1),
        "WS_MAX_SOCKETS_PER_USER": ("ws_max_sockets_per_user", 1),
    }
    for name, (attr, minimum) in int_fields.items():
        if name in values:
            kw[attr] = _parse_int(name, values[name], problems, minimum)
    for name, attr in (("SMTP_TIMEOUT", "smtp_timeout"), ("DIGEST_INTERVAL", "digest_interval"),
                       ("RELAY_LEASE", "relay_lease"), ("RELAY_POLL_INTERVAL", "relay_poll_interval"),
                       ("RELAY_REPUBLISH_AFTER", "relay_republish_after"),
                       ("ACCESS_CUTOFF_POLL", "access_cutoff_poll")):
        if name in values:
            kw[attr] = _parse_float(name, values[name], problems)
    if "EMAIL_RETRY_DELAYS" in values:
        delays = tuple(_parse_float("EMAIL_RETRY_DELAYS", part, problems)
                       for part in values["EMAIL_RETRY_DELAYS"].split(",") if part.strip())
        if not delays:
            problems.append("EMAIL_RETRY_DELAYS must list at least one delay in seconds, e.g. 30,120,600")
        kw["email_retry_delays"] = delays

    for name, attr in (
        ("HOST", "host"),
        ("PUBLIC_URL", "public_url"),
        ("DATABASE_URL", "database_url"),
        ("REDIS_URL", "redis_url"),
        ("RABBITMQ_URL", "rabbitmq_url"),
        ("NAMESPACE", "namespace"),
        ("SMTP_HOST", "smtp_host"),
        ("SMTP_USER", "smtp_user"),
        ("SMTP_PASSWORD", "smtp_password"),
        ("SMTP_CA_FILE", "smtp_ca_file"),
        ("SMTP_FROM", "smtp_from"),
        ("MAIL_CATCHER_DIR", "mail_catcher_dir"),
        ("LOG_LEVEL", "log_level"),
    ):
        text(name, attr)

    if "SMTP_SECURITY" in values:
        security = values["SMTP_SECURITY"].strip().lower()
        if security not in SMTP_SECURITY:
            problems.append(f"SMTP_SECURITY must be one of {', '.join(SMTP_SECURITY)}, got {security!r}")
        kw["smtp_security"] = security

    ca_file = str(kw.get("smtp_ca_file", ""))
    if ca_file and not Path(ca_file).is_file():
        problems.append(f"SMTP_CA_FILE {ca_file!r} is not a readable file")

    database_url = str(kw.get("database_url", defaults.database_url))
    if not database_url.startswith(("postgresql+asyncpg://", "postgresql://", "postgres://")):
        problems.append("DATABASE_URL must be a PostgreSQL URL (postgresql+asyncpg://user@host:port/db)")
    elif not database_url.startswith("postgresql+asyncpg://"):
        # Accept the plain form people copy from psql docs; SQLAlchemy needs the driver named.
        kw["database_url"] = "postgresql+asyncpg://" + database_url.split("://", 1)[1]
    if not str(kw.get("public_url", defaults.public_url)).startswith(("http://", "https://")):
        # It becomes the start of links in emails (password reset): a bare host would make them unusable.
        problems.append("PUBLIC_URL must start with http:// or https://")
    if not str(kw.get("redis_url", defaults.redis_url)).startswith(("redis://", "rediss://", "unix://")):
        problems.append("REDIS_URL must start with redis://, rediss:// or unix://")
    if not str(kw.get("rabbitmq_url", defaults.rabbitmq_url)).startswith(("amqp://", "amqps://")):
        problems.append("RABBITMQ_URL must start with amqp:// or amqps://")
    namespace = str(kw.get("namespace", defaults.namespace))
    if not namespace or not all(c.isalnum() or c in "-_." for c in namespace):
        problems.append("NAMESPACE must be non-empty and contain only letters, digits, '-', '_' or '.'")

    level = str(kw.get("log_level", defaults.log_level)).upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        problems.append(f"LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, got {level!r}")
    kw["log_level"] = level

    if "CORS_ORIGINS" in values:
        kw["cors_origins"] = _parse_origins(values["CORS_ORIGINS"], problems)
    if "TRUSTED_PROXIES" in values:
        kw["trusted_proxies"] = _parse_networks("TRUSTED_PROXIES", values["TRUSTED_PROXIES"], problems)

    secret = values.get("JWT_SECRET", "").strip()
    if not secret:
        if environment == "production":
            problems.append("JWT_SECRET is required in production (at least 32 random characters)")
        else:
            secret = secrets.token_urlsafe(48)
            kw["jwt_secret_generated"] = True
    elif secret.lower() in KNOWN_PLACEHOLDER_SECRETS:
        problems.append("JWT_SECRET is a placeholder from an example; generate one: python -c "
                        "'import secrets; print(secrets.token_urlsafe(48))'")
    elif len(secret) < MIN_JWT_SECRET_LENGTH:
        problems.append(f"JWT_SECRET must be at least {MIN_JWT_SECRET_LENGTH} characters, got {len(secret)}")
    kw["jwt_secret"] = secret

    if environment == "production" and kw.get("debug"):
        problems.append("DEBUG must be off in production")
    if environment == "production" and "DEV_MAIL_CATCHER" not in values:
        kw["dev_mail_catcher"] = False

    if problems:
        raise SettingsError(problems)
    return Settings(**kw)  # type: ignore[arg-type]
