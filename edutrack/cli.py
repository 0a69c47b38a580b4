"""The `edutrack` command line: one entry point for every role of the system."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import sys
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

from edutrack import loops
from edutrack.logs import configure_logging
from edutrack.settings import Settings, SettingsError, load_settings

log = logging.getLogger("edutrack")

def _settings(args: argparse.Namespace) -> Settings:
    try:
        settings = load_settings(env_file=args.env_file)
    except SettingsError as exc:
        print(f"edutrack: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc
    configure_logging(settings.log_level, settings.log_json)
    if settings.jwt_secret_generated:
        log.warning("JWT_SECRET is not set: using a random secret for this process only; tokens will not "
                    "survive a restart or work across nodes. Set JWT_SECRET (see env.example).")
    return settings


def migrations_dir() -> Path:
    candidates = [Path(__file__).resolve().parent.parent / "migrations", Path.cwd() / "migrations"]
    for candidate in candidates:
        if (candidate / "env.py").is_file():
            return candidate
    raise SystemExit("edutrack: cannot find the migrations/ folder (run from the EduTrack checkout)")


def alembic_config(settings: Settings):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    from edutrack.db.engine import connect_args

    folder = migrations_dir()
    config = Config(str(folder.parent / "alembic.ini")) if (folder.parent / "alembic.ini").is_file() else Config()
    config.set_main_option("script_location", str(folder))
    config.set_main_option("sqlalchemy.url", settings.database_url.replace("%", "%%"))
    config.attributes["configure_logging"] = False
    config.attributes["connect_args"] = connect_args(settings)
    return config


def migrate(settings: Settings, revision: str = "heads") -> None:
    from alembic import command

    from edutrack.db.engine import ensure_database

    if asyncio.run(ensure_database(settings.database_url)):
        log.info("created database", extra={"database": settings.database_url.rsplit("/", 1)[-1]})
    command.upgrade(alembic_config(settings), revision)
    log.info("database is at the latest migration")


def cmd_migrate(args: argparse.Namespace) -> int:
    migrate(_settings(args), args.revision)
    return 0


def cmd_api(args: argparse.Namespace) -> int:
    from aiohttp import web

    from edutrack.app import create_app

    settings = _settings(args)
    host = args.host or settings.host
    port = args.port or settings.port
    log.info("starting API", extra={"host": host, "port": port})
    app = create_app(settings)
    app.on_startup.append(_announce_loop)
    web.run_app(app, host=host, port=port, print=None, access_log=None, shutdown_timeout=10.0,
                handle_signals=True, loop=loops.loop_factory(settings)())
    return 0


async def _announce_loop(app: object) -> None:
    loops.announce()


def _worker(role: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from edutrack.roles import run_workers

        settings = _settings(args)
        loops.run(settings, run_workers(settings, [role]))
        return 0

    return run


def cmd_run(args: argparse.Namespace) -> int:
    from edutrack.app import create_app
    from edutrack.roles import available_workers, run_all

    settings = _settings(args)
    if not args.no_migrate:
        migrate(settings)
    roles = list(available_workers())
    loops.run(settings, run_all(settings, create_app(settings), args.host or settings.host,
                                args.port or settings.port, roles))
    return 0


def cmd_create_superuser(args: argparse.Namespace) -> int:
    from edutrack import errors
    from edutrack.i18n import _, for_recipients
    from edutrack.services.bootstrap import create_superuser

    settings = _settings(args)
    email = args.email or os.environ.get("EDUTRACK_SUPERUSER_EMAIL")
    password = args.password or os.environ.get("EDUTRACK_SUPERUSER_PASSWORD")
    interactive = sys.stdin.isatty() and not args.no_input
    if not email:
        if not interactive:
            print("edutrack create-superuser: --email (or EDUTRACK_SUPERUSER_EMAIL) is required", file=sys.stderr)
            return 2
        email = input("Email: ").strip()
    if not password:
        if not interactive:
            print("edutrack create-superuser: --password (or EDUTRACK_SUPERUSER_PASSWORD) is required",
                  file=sys.stderr)
            return 2
        password = getpass.getpass("Password: ")
        if password != getpass.getpass("Password (again): "):
            print("edutrack create-superuser: passwords do not match", file=sys.stderr)
            return 2
    if args.first_name is None:
        with for_recipients():  # people read this name on their pages, in their language
            args.first_name = _("Administrator")
    try:
        user_id, created = asyncio.run(
            create_superuser(settings, email, password, args.first_name, args.last_name, args.update_existing)
        )
    except errors.ApiError as exc:
        detail = f" {exc.details}" if exc.details else ""
        print(f"edutrack create-superuser: {exc.message}{detail}", file=sys.stderr)
        return 1
    print(f"superuser {email} {'created' if created else 'updated'} (id {user_id})")
    return 0


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date in the form YYYY-MM-DD: {text!r}") from None


def cmd_load_demo(args: argparse.Namespace) -> int:
    from edutrack.demo import run_load_demo

    return run_load_demo(_settings(args), small=args.small, today=args.today)


def cmd_queues(args: argparse.Namespace) -> int:
    from edutrack.outbox.queues import run_command

    def to_stderr(line: str) -> None:
        print(line, file=sys.stderr)

    return asyncio.run(run_command(_settings(args), args.action, err=to_stderr))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="edutrack", description="EduTrack: a realtime school diary backend")
    parser.add_argument("--env-file", default=".env", help="optional dotenv file (default: .env)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func: Callable[[argparse.Namespace], int], help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=func)
        return p

    api = add("api", cmd_api, "serve REST, /ws, web pages and docs")
    api.add_argument("--host")
    api.add_argument("--port", type=int)
    add("relay", _worker("relay"), "relay the email outbox to RabbitMQ and schedule digests")
    add("notifier", _worker("notifier"), "send queued emails over SMTP")
    run = add("run", cmd_run, "migrate, then run api, relay and notifier in one process")
    run.add_argument("--host")
    run.add_argument("--port", type=int)
    run.add_argument("--no-migrate", action="store_true", help="skip applying migrations first")
    mig = add("migrate", cmd_migrate, "create the database if needed and apply migrations")
    mig.add_argument("revision", nargs="?", default="heads")
    su = add("create-superuser", cmd_create_superuser, "create (or update) a superuser account")
    su.add_argument("--email")
    su.add_argument("--password", help="prefer EDUTRACK_SUPERUSER_PASSWORD: arguments show up in `ps`")
    su.add_argument("--first-name", help="default: \"Administrator\" in the default language")
    su.add_argument("--last-name", default="", help="default: none (the account is shown by its first name)")
    su.add_argument("--update-existing", action="store_true", help="reset password if the user exists")
    su.add_argument("--no-input", action="store_true", help="never prompt")
    queues = add("queues", cmd_queues, "show the email queues of RabbitMQ, or move them to RABBITMQ_QUEUE_TYPE")
    queues.add_argument("action", choices=("status", "migrate"),
                        help="status: each queue's state; migrate: re-create queues of another type, keeping "
                             "their messages (stop relays and notifiers first)")
    demo = add("load-demo", cmd_load_demo, "build the demo school, or bring it up to today (idempotent)")
    demo.add_argument("--small", action="store_true", help="a two-class school of 8 students a class")
    demo.add_argument("--today", type=_iso_date, metavar="YYYY-MM-DD",
                      help="build as of this day instead of today in Moscow (for tests and trials)")
    return parser


COMMANDS = ("api", "relay", "notifier", "run", "migrate", "create-superuser", "load-demo", "queues")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
