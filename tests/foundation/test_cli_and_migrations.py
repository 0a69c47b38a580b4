"""The command line and the migrations, run the way an operator runs them."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
import uuid
from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage
from pathlib import Path

import asyncpg
import pytest
from alembic import command
from alembic.script import ScriptDirectory

from edutrack.cli import COMMANDS, alembic_config, build_parser
from edutrack.db.engine import drop_database, ensure_database
from edutrack.roles import available_workers
from tests.foundation.helpers import error_of
from tests.support.environment import PG_SERVER, TEST_JWT_SECRET, base_test_settings

EXPECTED = {"api", "relay", "notifier", "run", "migrate", "create-superuser", "load-demo", "queues"}


def _env(**extra: str) -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "PYTHONPATH", "TMPDIR")
    return {**{k: os.environ[k] for k in keep if k in os.environ}, "LOG_LEVEL": "WARNING", **extra}


def _edutrack(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "edutrack", "--env-file", str(cwd / "none.env"), *args],
                          env=_env(**env), cwd=cwd, capture_output=True, text=True, timeout=90)


def _subcommands() -> set[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return set(sub.choices)  # type: ignore[arg-type]


def test_parser_has_every_subcommand():
    assert _subcommands() == EXPECTED == set(COMMANDS)


def test_help_lists_every_subcommand(tmp_path: Path):
    result = _edutrack("--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for name in EXPECTED:
        assert name in result.stdout
    # The console script is installed too.
    script = Path(sys.executable).with_name("edutrack")
    assert subprocess.run([str(script), "--help"], capture_output=True, timeout=30).returncode == 0


def test_unknown_subcommand_fails(tmp_path: Path):
    result = _edutrack("teleport", cwd=tmp_path)
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


def test_worker_roles_describe_themselves(tmp_path: Path):
    workers = available_workers()
    for role in ("relay", "notifier"):
        assert role in workers
        # Running it would start a long-lived worker: it must at least describe itself.
        assert _edutrack(role, "--help", cwd=tmp_path).returncode == 0


async def test_create_superuser_then_log_in(settings, client, tmp_path: Path):
    env = _env(DATABASE_URL=settings.database_url, DATABASE_POOL_MODE=settings.database_pool_mode,
               JWT_SECRET=TEST_JWT_SECRET, ARGON2_TIME_COST="1",
               ARGON2_MEMORY_COST="8", ARGON2_PARALLELISM="1", EDUTRACK_SUPERUSER_PASSWORD="root-password-1")

    async def run(*args: str) -> tuple[int, str, str]:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "edutrack", "--env-file", str(tmp_path / "none.env"), "create-superuser", *args,
            env=env, cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            stdin=asyncio.subprocess.DEVNULL,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode is not None
        return proc.returncode, out.decode(), err.decode()

    code, out, err = await run("--email", "Root@Example.test", "--no-input")
    assert code == 0, err
    assert "created" in out
    resp = await client.post("/api/v1/auth/login", json={"email": "root@example.test", "password": "root-password-1"})
    body = await resp.json()
    assert resp.status == 200, body
    assert body["user"]["is_superuser"] is True
    assert body["user"]["role"] == "admin"
    # Named in the default language, without a made-up surname ("Системы Администратор").
    assert body["user"]["profile"]["full_name"] == "Администратор"

    # Again: refused without --update-existing, updated with it.
    code, _, err = await run("--email", "root@example.test", "--no-input")
    assert code == 1
    assert "Пользователь с такой почтой уже есть" in err  # the catalogue's Russian, the default language
    env["EDUTRACK_SUPERUSER_PASSWORD"] = "root-password-2"
    code, out, err = await run("--email", "root@example.test", "--no-input", "--update-existing")
    assert code == 0, err
    assert "updated" in out, err
    await error_of(await client.post("/api/v1/auth/login",
                                     json={"email": "root@example.test", "password": "root-password-1"}), 401)
    assert (await client.post("/api/v1/auth/login",
                              json={"email": "root@example.test", "password": "root-password-2"})).status == 200

    # Missing input without a terminal: a clear message, not a prompt that hangs.
    del env["EDUTRACK_SUPERUSER_PASSWORD"]
    code, _, err = await run("--email", "x@example.test", "--no-input")
    assert code == 2
    assert "EDUTRACK_SUPERUSER_PASSWORD" in err
    env["EDUTRACK_SUPERUSER_PASSWORD"] = "short"
    code, _, err = await run("--email", "y@example.test", "--no-input")
    assert code == 1
    assert "не короче 8 символов" in err


def _on_a_terminal(argv: list[str], env: dict[str, str], cwd: Path,
                   answers: list[tuple[bytes, bytes]]) -> tuple[int, bytes]:
    """Run `argv` on a pseudo-terminal (so getpass really turns echo off), answer each prompt as it appears;
    (exit status, everything the terminal showed)."""
    import pty
    import select

    pid, fd = pty.fork()
    if pid == 0:  # the child: a session leader with the pty as its controlling terminal
        os.chdir(cwd)
        os.execve(argv[0], argv, env)  # noqa: S606 - a fixed argv of our own command
    shown = b""
    deadline = time.monotonic() + 60
    pending = list(answers)
    try:
        while time.monotonic() < deadline:
            if pending and pending[0][0] in shown:
                os.write(fd, pending.pop(0)[1] + b"\n")
                continue
            ready, _, _ = select.select([fd], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                shown += chunk
    finally:
        os.close(fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), shown


async def test_create_superuser_asks_on_a_terminal(settings, client, tmp_path: Path):
    env = _env(DATABASE_URL=settings.database_url, DATABASE_POOL_MODE=settings.database_pool_mode,
               JWT_SECRET=TEST_JWT_SECRET, ARGON2_TIME_COST="1",
               ARGON2_MEMORY_COST="8", ARGON2_PARALLELISM="1")
    argv = [sys.executable, "-m", "edutrack", "--env-file", str(tmp_path / "none.env"), "create-superuser"]
    secret = b"typed-at-the-prompt-9"

    code, shown = await asyncio.to_thread(_on_a_terminal, argv, env, tmp_path, [
        (b"Email: ", b"Terminal@Example.test"), (b"Password: ", secret), (b"(again): ", b"a-different-one")])
    assert code == 2, shown
    assert b"passwords do not match" in shown, shown
    code, shown = await asyncio.to_thread(_on_a_terminal, argv, env, tmp_path, [
        (b"Email: ", b"Terminal@Example.test"), (b"Password: ", secret), (b"(again): ", secret)])
    assert code == 0, shown
    assert b"created" in shown, shown
    assert secret not in shown  # the password was not echoed
    resp = await client.post("/api/v1/auth/login",
                             json={"email": "terminal@example.test", "password": secret.decode()})
    body = await resp.json()
    assert resp.status == 200, body
    assert body["user"]["is_superuser"] is True


async def test_load_demo_command_prints_logins_that_work(settings, client, tmp_path: Path):
    env = _env(DATABASE_URL=settings.database_url, DATABASE_POOL_MODE=settings.database_pool_mode,
               JWT_SECRET=TEST_JWT_SECRET, NAMESPACE=settings.namespace)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "edutrack", "--env-file", str(tmp_path / "none.env"), "load-demo", "--small",
        env=env, cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, err.decode()[-2000:]
    text = out.decode()
    assert "Demo school created" in text
    assert "100%" in (text + err.decode())
    password = re.search(r"password for all: (\S+)\)", text)
    logins = re.findall(r"^\s+(admin|teacher|student|parent)\s+(\S+@\S+)$", text, re.MULTILINE)
    assert password, text
    assert {role for role, _ in logins} == {"admin", "teacher", "student", "parent"}, text
    for role, email in logins:
        resp = await client.post("/api/v1/auth/login", json={"email": email, "password": password.group(1)})
        body = await resp.json()
        assert resp.status == 200, (role, body)
        assert body["user"]["role"] == role


async def _tables(url: str) -> set[str]:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {r["tablename"] for r in rows}
    finally:
        await conn.close()


def test_migrations_downgrade_to_base_and_back(tmp_path: Path):
    url = f"{PG_SERVER}/edutrack_mig_{uuid.uuid4().hex[:10]}"
    asyncio.run(ensure_database(url))
    try:
        # `edutrack migrate` from a directory that is not the checkout still finds migrations/.
        result = _edutrack("migrate", cwd=tmp_path, DATABASE_URL=url, JWT_SECRET=TEST_JWT_SECRET)
        assert result.returncode == 0, result.stderr
        upgraded = asyncio.run(_tables(url))
        assert {"users", "profiles", "refresh_tokens", "password_reset_tokens", "email_outbox",
                "notifications", "alembic_version"} <= upgraded

        config = alembic_config(base_test_settings(url))
        command.downgrade(config, "base")
        assert asyncio.run(_tables(url)) == {"alembic_version"}
        # One head, so the plain `alembic upgrade head` works (parallel branches are merged by a revision).
        assert len(ScriptDirectory.from_config(config).get_heads()) == 1
        command.upgrade(config, "head")
        assert asyncio.run(_tables(url)) == upgraded
    finally:
        asyncio.run(drop_database(url))


def _mail_to(folder: Path, recipient: str) -> EmailMessage | None:
    """The first .eml under `folder` addressed to `recipient`, if any."""
    for path in sorted(folder.glob("*.eml")):
        message = message_from_bytes(path.read_bytes(), policy=email_policy.default)
        if isinstance(message, EmailMessage) and message["To"] == recipient:
            return message
    return None


async def _caught_mail(folder: Path, recipient: str, timeout: float) -> EmailMessage:
    """Waits up to `timeout` seconds for the mail catcher to save an email to `recipient`."""
    deadline = asyncio.get_running_loop().time() + timeout
    while (message := await asyncio.to_thread(_mail_to, folder, recipient)) is None:
        assert asyncio.get_running_loop().time() < deadline, f"no email to {recipient} under {folder}"
        await asyncio.sleep(0.1)
    return message


@pytest.mark.parametrize("role", ["api", "run"])
async def test_server_process_serves_requests(settings, tmp_path: Path, role: str):
    """`edutrack api` and `edutrack run` (the README's run command) as real processes: ready with all services
    up, the first query works, /docs renders, and SIGTERM stops them cleanly."""
    import aiohttp

    from tests.support.services import free_port

    port = free_port()
    # ENVIRONMENT=test: the RabbitMQ queues the process declares expire once unused, instead of piling up per run.
    env = _env(ENVIRONMENT="test", DATABASE_URL=settings.database_url,
               DATABASE_POOL_MODE=settings.database_pool_mode, JWT_SECRET=TEST_JWT_SECRET,
               NAMESPACE=settings.namespace, ARGON2_TIME_COST="1", ARGON2_MEMORY_COST="8", ARGON2_PARALLELISM="1",
               DEV_MAIL_CATCHER="true", SMTP_PORT=str(free_port()), MAIL_CATCHER_DIR=str(tmp_path / "mail"),
               LOG_LEVEL="INFO", LOG_JSON="true")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "edutrack", "--env-file", str(tmp_path / "none.env"), role, "--port", str(port),
        env=env, cwd=tmp_path, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            deadline = asyncio.get_running_loop().time() + 90  # a loaded machine starts slowly
            while asyncio.get_running_loop().time() < deadline:
                try:
                    async with http.get(f"{base}/health") as resp:
                        if resp.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    pass
                assert proc.returncode is None, f"edutrack {role} exited early"
                await asyncio.sleep(0.05)
            async with http.get(f"{base}/health/ready") as resp:
                body = await resp.json()
                assert resp.status == 200, body
                assert body["status"] == "ok", body
            user = {"email": "first@example.test", "password": "long-enough-pw", "first_name": "F", "last_name": "L"}
            async with http.post(f"{base}/api/v1/auth/register", json=user) as resp:
                assert resp.status == 201, await resp.text()
            if role == "run":
                # The one process's relay, notifier and mail catcher carry a password reset to a .eml file.
                async with http.post(f"{base}/api/v1/password-reset/request", json={"email": user["email"]}) as resp:
                    assert resp.status == 202, await resp.text()
                reset = await _caught_mail(tmp_path / "mail", user["email"], timeout=15)
                assert reset["Subject"] == "Восстановление пароля EduTrack"
                text_part = reset.get_body(preferencelist=("plain",))
                assert text_part is not None
                assert "token=" in text_part.get_content()
            async with http.get(f"{base}/docs") as resp:
                assert resp.status == 200
    finally:
        proc.terminate()
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    # SIGTERM is a graceful stop, not a crash.
    assert proc.returncode in (0, -15), err.decode()[-2000:]
    assert "Traceback" not in err.decode()
    # At INFO the output is ours: no alembic narration of its plugins and migration context, no line from the
    # mail catcher's SMTP library per connection.
    loggers = {json.loads(line)["logger"] for line in err.decode().splitlines() if line.startswith("{")}
    assert "edutrack.roles" in loggers or role == "api", loggers
    chatty = {name for name in loggers if name.startswith(("alembic", "mail.log"))}
    assert not chatty, chatty
