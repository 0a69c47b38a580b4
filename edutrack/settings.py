"""Settings read from the environment (and an optional `.env`), validated once at start-up.

Every value has a local default so that `edutrack run` works on a developer machine with no `.env`.
Production (`ENVIRONMENT=production`) refuses the development conveniences instead of guessing.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from dotenv import dotenv_values

from edutrack.i18n import _
from edutrack.settings_parsers import (
    Parser,
    choice,
    parse_bool,
    parse_delays,
    parse_environment,
    parse_float,
    parse_int,
    parse_networks,
    parse_origins,
    parse_text,
    parse_vapid_key,
)

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
SMTP_SECURITY = ("plain", "starttls", "tls")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
RABBITMQ_QUEUE_TYPES = ("classic", "quorum")
DATABASE_POOL_MODES = ("session", "transaction")
EVENT_LOOPS = ("uvloop", "asyncio")
ENV = "edutrack.env"  # field metadata: the parser of a setting read from the environment, None for one that is not

T = TypeVar("T")


class SettingsError(ValueError):
    """Raised with every problem found, so a misconfigured deploy is fixed in one go."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(_("invalid configuration:") + "\n  - " + "\n  - ".join(problems))


def env(default: T, *, minimum: int = 0, parse: Parser | None = None) -> T:
    """A setting read from the environment variable named like the field in capitals (`port` <- PORT), with the
    parser its default's type calls for unless `parse` is given; `minimum` bounds an integer."""
    if parse is None:
        if isinstance(default, bool):
            parse = parse_bool
        elif isinstance(default, int):
            parse = functools.partial(parse_int, minimum=minimum)
        elif isinstance(default, float):
            parse = parse_float
        else:
            parse = parse_text
    found: T = field(default=default, metadata={ENV: parse})
    return found


@dataclass(frozen=True, slots=True)
class Settings:
    environment: str = env("development", parse=parse_environment)
    debug: bool = env(False)
    host: str = env("127.0.0.1")
    port: int = env(8000, minimum=1)
    public_url: str = env("http://127.0.0.1:8000")

    # uvloop where it is installed (edutrack/loops.py); "asyncio" runs on asyncio's own loop.
    event_loop: str = env("uvloop", parse=choice(EVENT_LOOPS, str.lower))

    database_url: str = env("postgresql+asyncpg://postgres@127.0.0.1:5432/edutrack")
    db_pool_size: int = env(10, minimum=1)
    db_max_overflow: int = env(10)
    # API requests at PostgreSQL at once, how many more may wait, and for how long before 503 (db/gate.py).
    db_concurrent_requests: int = env(10, minimum=1)
    db_queue_size: int = env(64)
    db_queue_wait: float = env(0.5)
    # "transaction" when DATABASE_URL points at a PgBouncer in transaction pooling mode: no statement caches,
    # unique prepared statement names, every read inside a transaction (db/engine.py says why).
    database_pool_mode: str = env("session",
                                  parse=choice(DATABASE_POOL_MODES, str.lower))
    # A streaming replica for heavy reads (term sheets, analytics); empty: everything reads the primary.
    database_read_url: str = env("")
    # Seconds a heavy read waits for the replica to replay what the primary had committed when the read began,
    # before it reads from the primary instead.
    database_read_wait: float = env(0.5)
    redis_url: str = env("redis://127.0.0.1:6379/0")
    redis_max_connections: int = env(100, minimum=4)
    # A Redis Cluster instead of one Redis: "host:port,host:port,..." (some of its nodes; the rest are discovered).
    # REDIS_URL then gives only the scheme and credentials used on every node (edutrack/redis_cluster.py).
    redis_cluster_nodes: str = env("")
    # Prefix of every Redis key and pub/sub channel, and of every RabbitMQ exchange/queue:
    # lets several deployments (or test runs) share one Redis/RabbitMQ without seeing each other.
    namespace: str = env("edutrack")
    rabbitmq_url: str = env("amqp://guest:guest@127.0.0.1:5672/")
    # "quorum": replicated queues with at-least-once dead-lettering (RabbitMQ 3.10+), for a RabbitMQ cluster.
    rabbitmq_queue_type: str = env("classic", parse=choice(RABBITMQ_QUEUE_TYPES, str.lower))

    smtp_host: str = env("127.0.0.1")
    smtp_port: int = env(8025, minimum=1)
    smtp_user: str = env("")
    smtp_password: str = env("")
    smtp_security: str = env("plain", parse=choice(SMTP_SECURITY, str.lower))
    # PEM file of the CA(s) that sign the SMTP server's certificate, for a server with a private CA;
    # empty: the system's trust store. Certificates are always verified for "starttls" and "tls".
    smtp_ca_file: str = env("")
    smtp_from: str = env("EduTrack <noreply@edutrack.local>")
    smtp_timeout: float = env(10.0)
    # Development convenience: `edutrack run` starts an aiosmtpd catcher on smtp_host:smtp_port
    # that saves every message under mail_catcher_dir instead of sending it anywhere.
    dev_mail_catcher: bool = env(True)
    mail_catcher_dir: str = env("var/mail")
    # Email pipeline. Digests go out for notifications unread this long (seconds) by an offline user;
    # the scheduler looks every digest_interval seconds.
    digest_delay: int = env(600)
    digest_interval: float = env(60.0)
    # News marked urgent (their emails pass quiet hours) per school per 24 hours.
    urgent_news_per_day: int = env(3, minimum=0)
    # The author of a news item or chat announcement that asks for acknowledgement may remind those who have not
    # confirmed once per this many seconds.
    ack_remind_interval: int = env(6 * 3600, minimum=60)
    # Web push (docs/notifications.md). The VAPID key: base64url of a raw P-256 private key (32 bytes); empty: one
    # is generated on first use and kept in PostgreSQL (table vapid_keys), shared by every node.
    vapid_private_key: str = env("", parse=parse_vapid_key)
    # The VAPID `sub` claim, a contact for push services (mailto: or https:); empty: mailto: SMTP_FROM's address.
    vapid_subject: str = env("")
    # Seconds between the push dispatcher's rounds (in `edutrack relay`); how long (seconds) a push service keeps
    # a push for a browser that is offline (TTL); browsers per user.
    push_interval: float = env(2.0)
    push_ttl: int = env(24 * 3600)
    push_max_subscriptions: int = env(10, minimum=1)
    # Accept http:// push endpoints on 127.0.0.1/localhost (a local push service in tests); refused in production.
    push_allow_local_http: bool = env(False)
    # Waits (seconds) before each SMTP (and push) retry after a transient failure; the last value repeats.
    email_retry_delays: tuple[float, ...] = env((30.0, 120.0, 600.0, 1800.0), parse=parse_delays)
    # Attempts per email (and per push) before it is dead-lettered.
    email_max_attempts: int = env(5, minimum=1)
    relay_batch_size: int = env(200, minimum=1)
    # A row claimed by a relay that died is reclaimed after this many seconds.
    relay_lease: float = env(60.0)
    relay_poll_interval: float = env(1.0)
    # A row 'published' this long (seconds) without being sent or dead lost its message: publish it again.
    # Longer than the whole retry schedule, so emails waiting in a delay queue are left alone.
    relay_republish_after: float = env(3 * 3600.0)
    notifier_prefetch: int = env(32, minimum=1)
    # Parallel SMTP connections per notifier process.
    notifier_concurrency: int = env(4, minimum=1)

    jwt_secret: str = env("")  # checked, and outside production generated when empty, by _check_secret
    jwt_algorithm: str = field(default="HS256", metadata={ENV: None})
    access_token_ttl: int = env(15 * 60, minimum=30)
    refresh_token_ttl: int = env(30 * 24 * 3600, minimum=60)
    # Seconds after a refresh token's rotation during which presenting it again (a retry whose answer was lost,
    # two tabs refreshing at once) gets a new token instead of revoking the whole login. 0: never.
    refresh_reuse_grace: int = env(10)
    # Seconds between two reads of the access-token cut-offs by each API node (services/access.py); the Redis
    # broadcast is the fast path, this catches one that was lost.
    access_cutoff_poll: float = env(5.0)
    # Open websockets one user may hold on one API node; one more is refused (close 4029).
    ws_max_sockets_per_user: int = env(20, minimum=1)
    password_reset_ttl: int = env(3600, minimum=60)
    # An invitation link lives longer than a reset link: its owner may not read their mail for days.
    invitation_ttl: int = env(7 * 24 * 3600, minimum=3600)
    # Onboarding imports: the largest file (bytes), and uploads (dry runs too) per admin per hour.
    import_max_bytes: int = env(10 * 1024 * 1024, minimum=1024)
    import_max_per_hour: int = env(30, minimum=1)
    # Attachments (docs/files.md): the largest file (bytes, 413 as it streams past it), a school's total (413
    # `school_quota_exceeded`), uploads per person per hour (429), the most pixels to thumbnail (more: refused, a
    # decompression bomb), and seconds until unattached uploads and deleted messages' files are swept.
    file_max_bytes: int = env(25 * 1024 * 1024, minimum=1024)
    file_school_quota_bytes: int = env(5 * 1024 * 1024 * 1024, minimum=1024)
    file_uploads_per_hour: int = env(120, minimum=1)
    file_max_image_pixels: int = env(40_000_000, minimum=10_000)
    file_sweep_after: int = env(24 * 3600, minimum=60)
    # Exports (journals, term sheets, report cards) per person per minute.
    export_max_per_minute: int = env(30, minimum=1)
    # Fetches of one calendar feed, and of the public pages and feeds from one address, per window (seconds).
    feed_max_per_window: int = env(60, minimum=1)
    public_max_per_window: int = env(120, minimum=1)
    public_window: int = env(600, minimum=1)
    allow_self_registration: bool = env(True)

    cors_origins: tuple[str, ...] = env(("http://127.0.0.1:8000", "http://localhost:8000"), parse=parse_origins)
    max_body_bytes: int = env(1024 * 1024, minimum=1024)
    # Load balancers / reverse proxies (IPs or CIDR networks) whose X-Forwarded-For is believed. Without this,
    # behind a proxy every client has the proxy's address and shares one login rate limit.
    trusted_proxies: tuple[str, ...] = env((), parse=parse_networks)

    # Failed logins are throttled with doubling delays (1 s, 2 s, 4 s, ... up to login_max_delay) once a record
    # has had its free failures: per account and client (device token, else address), and for clients without a
    # device token of the account also per address (all accounts) and per account (all addresses). A record is
    # forgotten after login_failure_window seconds without an attempt. See README, "Accounts and sign-in".
    login_free_failures: int = env(5)
    login_ip_free_failures: int = env(20)
    login_account_free_failures: int = env(10)
    login_max_delay: int = env(300, minimum=1)
    login_failure_window: int = env(3600, minimum=60)
    # Lifetime (seconds) of the device token a successful login returns; it exempts that device from the
    # per-address and per-account throttles of the account it signed in to.
    device_token_ttl: int = env(180 * 24 * 3600, minimum=3600)
    login_max_attempts_per_ip: int = env(30, minimum=1)
    login_ip_window: int = env(60, minimum=1)

    # Argon2 cost. Defaults follow argon2-cffi's RFC 9106 "low memory" profile; tests lower them.
    argon2_time_cost: int = env(3, minimum=1)
    argon2_memory_cost: int = env(64 * 1024, minimum=8)
    argon2_parallelism: int = env(2, minimum=1)
    # Hashes run at once per process (threads), and checks (logins) that may wait for one; new hashes
    # (registration, reset, change) use at most half of the workers and queue a quarter as many. Beyond: 503.
    argon2_workers: int = env(2, minimum=1)
    argon2_queue: int = env(32, minimum=1)

    # Unauthenticated requests that cost a hash or an email, per client address and window (seconds).
    register_max_per_ip: int = env(20, minimum=1)
    register_ip_window: int = env(3600, minimum=1)
    reset_max_per_ip: int = env(10, minimum=1)
    reset_ip_window: int = env(3600, minimum=1)

    log_level: str = env("INFO", parse=choice(LOG_LEVELS, str.upper))
    log_json: bool = env(True)

    # Set when the secret was generated for this process only (development without JWT_SECRET).
    jwt_secret_generated: bool = field(default=False, compare=False, metadata={ENV: None})

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    def replace(self, **changes: object) -> Settings:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


def env_name(f: dataclasses.Field[Any]) -> str | None:
    """The environment variable a Settings field is read from, or None."""
    return f.name.upper() if f.metadata.get(ENV) is not None else None


def load_settings(environ: Mapping[str, str] | None = None, env_file: str | Path | None = ".env") -> Settings:
    """Build Settings from `environ` (default: os.environ) over an optional `.env` file.

    Real environment variables win over the file, as with every twelve-factor tool. Every problem found is
    reported at once (SettingsError), so a misconfigured deploy is fixed in one go.
    """
    values: dict[str, str] = {}
    if env_file is not None and Path(env_file).is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ if environ is None else environ)

    problems: list[str] = []
    kw = _parse_fields(values, problems)
    _check_addresses(kw, problems)
    _check_secret(values, kw, problems)
    _check_production(values, kw, problems)
    if problems:
        raise SettingsError(problems)
    return Settings(**kw)


def _parse_fields(values: Mapping[str, str], problems: list[str]) -> dict[str, Any]:
    """Every field read from the environment: the variable's parsed value where it is set, else the default."""
    kw: dict[str, Any] = {}
    for f in dataclasses.fields(Settings):
        name = env_name(f)
        if name is None:
            continue
        if name in values:
            kw[f.name] = f.metadata[ENV](name, values[name], problems)
        else:
            kw[f.name] = f.default
    return kw


def _check_addresses(kw: dict[str, Any], problems: list[str]) -> None:
    ca_file = str(kw["smtp_ca_file"])
    if ca_file and not Path(ca_file).is_file():
        problems.append(_("SMTP_CA_FILE %(path)s is not a readable file", path=repr(ca_file)))
    database_url = str(kw["database_url"])
    if not database_url.startswith(("postgresql+asyncpg://", "postgresql://", "postgres://")):
        problems.append(_("DATABASE_URL must be a PostgreSQL URL (postgresql+asyncpg://user@host:port/db)"))
    elif not database_url.startswith("postgresql+asyncpg://"):
        # Accept the plain form people copy from psql docs; SQLAlchemy needs the driver named.
        kw["database_url"] = "postgresql+asyncpg://" + database_url.split("://", 1)[1]
    read_url = str(kw["database_read_url"])
    if read_url and not read_url.startswith(("postgresql+asyncpg://", "postgresql://", "postgres://")):
        problems.append(_("DATABASE_READ_URL must be empty or a PostgreSQL URL (postgresql+asyncpg://user@host:port/db)"))
    elif read_url and not read_url.startswith("postgresql+asyncpg://"):
        kw["database_read_url"] = "postgresql+asyncpg://" + read_url.split("://", 1)[1]
    if not str(kw["public_url"]).startswith(("http://", "https://")):
        # It becomes the start of links in emails (password reset): a bare host would make them unusable.
        problems.append(_("PUBLIC_URL must start with http:// or https://"))
    if not str(kw["redis_url"]).startswith(("redis://", "rediss://", "unix://")):
        problems.append(_("REDIS_URL must start with redis://, rediss:// or unix://"))
    for node in filter(None, (n.strip() for n in str(kw["redis_cluster_nodes"]).split(","))):
        host, _sep, port = node.rpartition(":")
        if not host or not port.isdigit():
            problems.append(_("REDIS_CLUSTER_NODES must list host:port entries separated by commas, not %(node)s",
                              node=repr(node)))
    subject = str(kw["vapid_subject"])
    if subject and not subject.startswith(("mailto:", "https://")):
        problems.append(_("VAPID_SUBJECT must start with mailto: or https://"))
    if not str(kw["rabbitmq_url"]).startswith(("amqp://", "amqps://")):
        problems.append(_("RABBITMQ_URL must start with amqp:// or amqps://"))
    namespace = str(kw["namespace"])
    if not namespace or not all(c.isalnum() or c in "-_." for c in namespace):
        problems.append(_("NAMESPACE must be non-empty and contain only letters, digits, '-', '_' or '.'"))


def _check_secret(values: Mapping[str, str], kw: dict[str, Any], problems: list[str]) -> None:
    secret = values.get("JWT_SECRET", "").strip()
    if not secret:
        if kw["environment"] == "production":
            problems.append(_("JWT_SECRET is required in production (at least %(length)s random characters)",
                               length=MIN_JWT_SECRET_LENGTH))
        else:
            secret = secrets.token_urlsafe(48)
            kw["jwt_secret_generated"] = True
    elif secret.lower() in KNOWN_PLACEHOLDER_SECRETS:
        problems.append(_("JWT_SECRET is a placeholder from an example; generate one: %(command)s",
                           command="python -c 'import secrets; print(secrets.token_urlsafe(48))'"))
    elif len(secret) < MIN_JWT_SECRET_LENGTH:
        problems.append(_("JWT_SECRET must be at least %(length)s characters, got %(got)s",
                          length=MIN_JWT_SECRET_LENGTH, got=len(secret)))
    kw["jwt_secret"] = secret


def _check_production(values: Mapping[str, str], kw: dict[str, Any], problems: list[str]) -> None:
    if kw["environment"] != "production":
        return
    if kw["debug"]:
        problems.append(_("DEBUG must be off in production"))
    if kw["push_allow_local_http"]:
        problems.append(_("PUSH_ALLOW_LOCAL_HTTP must be off in production"))
    if "DEV_MAIL_CATCHER" not in values:
        kw["dev_mail_catcher"] = False
