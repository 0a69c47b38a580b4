"""Real screenshots of the web client for the README: one per role on the demo school, taken in Chromium.

    .venv/bin/python scripts/screenshots.py            # writes docs/screenshots/*.png

It uses the database, Redis and the rest named by the environment (or `.env`), as `edutrack` does: brings the
database up to date (`edutrack migrate`), loads or refreshes the demo school (`edutrack load-demo`, idempotent),
creates the superuser `super@demo.edutrack.example` (password: the demo password) if it is missing, starts
`edutrack api` on a free port, signs in as each role in a fresh browser context (Russian, 1,280 x 900) and saves
what that role sees first, then stops the server. Debian's Chromium is driven through Playwright (`CHROMIUM` names
another binary). Use a database of its own, not one with real people in it: the demo school is written into it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.async_api import Page, async_playwright

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SUPERUSER = "super@demo.edutrack.example"
# role -> (the page it lands on, the page to shoot, an element that shows the page has its data)
SHOTS = {
    "student": ("/diary", "/diary", ".lesson"),
    "parent": ("/diary", "/diary", ".grade"),
    "teacher": ("/teacher", "/teacher", "#today .day-lesson, #today p"),
    "admin": ("/admin", "/admin", "#admin-content:not([hidden])"),
    "superuser": ("/admin/schools", "/admin/schools", "#admin-content table, #admin-content li"),
    "news": ("/diary", "/news", ".news-item"),
    "chat": ("/diary", "/chat", "#message-list .message"),
}
WHO = {"news": "parent", "chat": "student"}


def edutrack(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "edutrack", *args], cwd=ROOT, capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        raise SystemExit(f"edutrack {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def demo_logins() -> tuple[dict[str, str], str]:
    out = edutrack("load-demo")
    password = re.search(r"password for all: (\S+)\)", out)
    if password is None:
        raise SystemExit(f"unexpected output of load-demo:\n{out}")
    logins = dict(re.findall(r"^\s+(admin|teacher|student|parent)\s+(\S+@\S+)$", out, re.M))
    return logins, password.group(1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_api(port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen([sys.executable, "-m", "edutrack", "api", "--host", "127.0.0.1", "--port", str(port)],
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                return server
        except OSError:
            time.sleep(0.3)
    server.terminate()
    raise SystemExit("edutrack api did not start within 30 s")


async def sign_in(page: Page, email: str, password: str, lands_on: str) -> None:
    await page.goto("/login")
    await page.get_by_label("Электронная почта").fill(email)
    await page.get_by_label("Пароль").fill(password)
    await page.get_by_role("button", name="Войти").click()
    await page.wait_for_url(f"**{lands_on}*")


async def shoot(base_url: str, logins: dict[str, str], password: str, out: Path) -> list[Path]:
    written = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--headless=new", "--no-sandbox"])
        try:
            for name, (lands_on, path, ready) in SHOTS.items():
                context = await browser.new_context(base_url=base_url, locale="ru-RU", timezone_id="Europe/Moscow",
                                                    viewport={"width": 1280, "height": 900})
                context.set_default_timeout(20_000)
                page = await context.new_page()
                who = WHO.get(name, name)
                await sign_in(page, logins[who], password, lands_on)
                if path != lands_on:
                    await page.goto(path)
                await page.wait_for_selector('#conn-status[data-state="online"]')
                await page.locator(ready).first.wait_for()
                await page.wait_for_load_state("networkidle")
                target = out / f"{name}.png"
                await page.screenshot(path=str(target))
                written.append(target)
                await context.close()
        finally:
            await browser.close()
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT, help="where the PNG files go (default: docs/screenshots)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    edutrack("migrate")
    logins, password = demo_logins()
    edutrack("create-superuser", "--email", SUPERUSER, "--password", password, "--first-name", "Ольга",
             "--last-name", "Смирнова", "--update-existing", "--no-input")
    logins["superuser"] = SUPERUSER
    port = free_port()
    server = start_api(port)
    try:
        written = asyncio.run(shoot(f"http://127.0.0.1:{port}", logins, password, args.out))
    finally:
        server.terminate()
        server.wait(timeout=15)
    for path in written:
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
