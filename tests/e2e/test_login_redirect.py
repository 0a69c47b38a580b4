"""The login page's `next` parameter, from the attacker's side: a link to /login?next=... must never send a
signed-in user to another site (or to a non-page of ours), however the address is written. Browsers strip tabs
and newlines from URLs and read a backslash as a slash, so a pattern test on the raw string is not enough."""

from __future__ import annotations

import urllib.parse

from playwright.async_api import Route

from tests.e2e.conftest import Browsers
from tests.support.factories import DEFAULT_PASSWORD, Factory

# Each would leave the origin (or land outside the pages) if `next` were trusted as written.
HOSTILE_NEXT = [
    "/\t/evil.example/x",
    "/\n/evil.example/x",
    "/\r\n/evil.example/x",
    "/\\evil.example/x",
    "/\t\\evil.example/x",
    "\\/evil.example/x",
    "//evil.example/x",
    "///evil.example/x",
    "https://evil.example/x",
    "HTTPS:evil.example/x",
    " //evil.example/x",
    "javascript:alert(document.domain)",
    "data:text/html,<script>alert(1)</script>",
    "/api/v1/profile/me",
    "/static/web/core.js",
    "/login?next=//evil.example",
    "/diary/../../evil",
]


def login_url(next_value: str) -> str:
    return "/login?" + urllib.parse.urlencode({"next": next_value})


async def test_next_never_leaves_the_origin_or_the_pages(browsers: Browsers, factory: Factory) -> None:
    student = await factory.user("student")
    tab = await browsers.open()
    page = tab.page
    off_site: list[str] = []

    async def refuse_other_hosts(route: Route) -> None:
        # Nothing may leave the machine; a request that gets here is the redirect we are testing for.
        off_site.append(route.request.url)
        await route.abort()

    await tab.context.route(lambda url: not url.startswith(browsers.base_url), refuse_other_hosts)

    # Signing in through the form with a hostile `next` lands on the home page.
    await page.goto(login_url(HOSTILE_NEXT[0]))
    await page.get_by_label("Электронная почта").fill(student.email)
    await page.get_by_label("Пароль").fill(DEFAULT_PASSWORD)
    await page.get_by_role("button", name="Войти").click()
    await page.wait_for_url(lambda url: "/login" not in url)
    assert page.url == browsers.base_url + "/diary", page.url

    # A tab already signed in forwards at once: every payload takes that path too.
    for payload in HOSTILE_NEXT:
        await page.goto(login_url(payload))
        await page.wait_for_url(lambda url: "/login" not in url)
        assert page.url == browsers.base_url + "/diary", (payload, page.url)
    assert off_site == []

    # A page of ours, with its query and fragment, is still where a sign-in returns to.
    await page.goto(login_url("/chat?channel=class:1#last"))
    await page.wait_for_url(lambda url: "/login" not in url)
    assert page.url == browsers.base_url + "/chat?channel=class:1#last"
    tab.assert_clean()


async def test_the_browser_keeps_its_device_token_and_signs_in_with_it(browsers: Browsers, factory: Factory) -> None:
    """The device token is what exempts this browser from throttles that strangers' failures trip: it must
    survive a sign-out and go with the next login to the same account."""
    import json

    student = await factory.user("student")
    tab = await browsers.login(student.email, expect_path="/diary")
    page = tab.page
    stored = json.loads(await page.evaluate("() => localStorage.getItem('edutrack.device')"))
    assert set(stored) == {student.email}
    assert stored[student.email].count(".") == 2

    sent: list[dict[str, str]] = []
    page.on("request", lambda request: sent.append(json.loads(request.post_data or "{}"))
            if request.url.endswith("/api/v1/auth/login") else None)
    await page.evaluate("() => window.EduTrack.logout()")
    await page.wait_for_url("**/login")
    await page.get_by_label("Электронная почта").fill(student.email.upper())
    await page.get_by_label("Пароль").fill(DEFAULT_PASSWORD)
    await page.get_by_role("button", name="Войти").click()
    await page.wait_for_url("**/diary")
    assert sent
    assert sent[-1]["device_token"] == stored[student.email]
    tab.assert_clean()
