"""Fixtures for driving the web client in headless Chromium (Debian's /usr/bin/chromium through Playwright).

The app runs on a real 127.0.0.1 port (the `client` fixture's TestServer) in the test's own event loop, with the
same test settings as the rest of the suite; the browser talks to it over real HTTP and websockets.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Page, async_playwright

from edutrack.context import AppContext
from tests.support.factories import DEFAULT_PASSWORD
from tests.support.school import BuiltSchool, build_school

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
# Every wait is on a selector or an event; this only bounds how long a broken client may keep us waiting.
WAIT_MS = 10_000


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Without a browser these tests cannot run; say so loudly rather than skipping silently.
    if any("tests/e2e" in str(item.path) for item in items) and shutil.which(CHROMIUM) is None:
        raise pytest.UsageError(f"{CHROMIUM} not found: install Debian's chromium (see .ci/run)")


@dataclass
class Tab:
    """One browser tab of one user, with everything the page complained about."""

    context: BrowserContext
    page: Page
    problems: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        assert not self.problems, self.problems


@dataclass
class Browsers:
    browser: Browser
    base_url: str
    tabs: list[Tab] = field(default_factory=list)

    async def open(self, *, phone: bool = False, size: tuple[int, int] | None = None) -> Tab:
        """A fresh browser context (its own sessionStorage and network switch) with one page.
        `size` (width, height) overrides the phone or desktop viewport."""
        width, height = size or ((390, 844) if phone else (1280, 900))
        context = await self.browser.new_context(base_url=self.base_url, viewport={"width": width, "height": height},
                                                 locale="ru-RU")
        context.set_default_timeout(WAIT_MS)
        page = await context.new_page()
        tab = Tab(context, page)

        def on_console(message: ConsoleMessage) -> None:
            # A CSP violation (an inline script or style attribute) shows up as a console error.
            if message.type == "error" and "Content Security Policy" in message.text:
                tab.problems.append(message.text)

        page.on("console", on_console)
        page.on("pageerror", lambda exc: tab.problems.append(f"page error: {exc}"))
        self.tabs.append(tab)
        return tab

    async def login(self, email: str, *, phone: bool = False, size: tuple[int, int] | None = None,
                    expect_path: str) -> Tab:
        tab = await self.open(phone=phone, size=size)
        page = tab.page
        await page.goto("/login")
        await page.get_by_label("Электронная почта").fill(email)
        await page.get_by_label("Пароль").fill(DEFAULT_PASSWORD)
        await page.get_by_role("button", name="Войти").click()
        await page.wait_for_url(f"**{expect_path}*")
        await page.wait_for_selector('#conn-status[data-state="online"]')
        return tab


def base_url(client: TestClient) -> str:
    return str(client.make_url("/")).rstrip("/")


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
def browsers(browser: Browser, client: TestClient) -> Browsers:
    """Tabs on the `client` app, served on a real 127.0.0.1 port."""
    return Browsers(browser, base_url(client))


def school_year_start(today: date) -> date:
    # The school year of the test always contains today, whatever day the suite runs.
    return today - timedelta(days=60)


@pytest.fixture
async def school(ctx: AppContext) -> BuiltSchool:
    return await build_school(ctx, classes=1, students_per_class=3, parents_per_student=1,
                              year_start=school_year_start(date.today()))


async def shot(page: Page, name: str) -> Path:
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path
