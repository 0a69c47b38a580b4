"""The settings page's "Уведомления в этом браузере" in Chromium, as far as a browser without a push service goes:
the service worker registers at the root scope, the page fetches the VAPID key and asks the browser to subscribe,
and the browser's refusal (headless Chromium has no push service; a denied permission) is said in Russian. The
Content-Security-Policy lets all of it run."""

from __future__ import annotations

from aiohttp.test_utils import TestClient
from playwright.async_api import Request, expect

from tests.e2e.conftest import Browsers
from tests.support.school import BuiltSchool

NO_PUSH_SERVICE = "Браузеру не удалось подписаться на push-уведомления: его push-сервис недоступен."
BLOCKED = "Уведомления для этого сайта запрещены в настройках браузера"


async def test_the_page_registers_the_worker_and_says_when_the_browser_cannot_subscribe(
    browsers: Browsers, school: BuiltSchool,
) -> None:
    parent = school.parents(school.student(0, 0).id)[0]
    tab = await browsers.login(parent.email, expect_path="/diary")
    await tab.context.grant_permissions(["notifications"], origin=browsers.base_url)
    asked: list[str] = []

    def on_request(request: Request) -> None:
        if "/api/v1/push/" in request.url:
            asked.append(f"{request.method} {request.url.removeprefix(browsers.base_url)}")

    tab.page.on("request", on_request)
    page = tab.page
    await page.goto("/settings/notifications")
    state = page.locator("#push-state")
    await expect(state).to_have_text("Push-уведомления в этом браузере выключены.")
    await page.get_by_role("button", name="Включить в этом браузере").click()
    await expect(state).to_have_text(NO_PUSH_SERVICE, timeout=30_000)
    scope = await page.evaluate("navigator.serviceWorker.ready.then(r => r.scope)")
    assert scope == browsers.base_url + "/"
    assert "GET /api/v1/push/key" in asked
    assert not any(a.startswith("POST") for a in asked)  # nothing to store without a subscription
    await expect(page.get_by_role("button", name="Включить в этом браузере")).to_be_visible()
    tab.assert_clean()


async def test_a_blocked_permission_is_said_in_russian(browsers: Browsers, school: BuiltSchool) -> None:
    parent = school.parents(school.student(0, 0).id)[0]
    tab = await browsers.login(parent.email, expect_path="/diary")
    page = tab.page
    await page.goto("/settings/notifications")
    await page.get_by_role("button", name="Включить в этом браузере").click()
    await expect(page.locator("#push-state")).to_contain_text(BLOCKED)
    tab.assert_clean()


async def test_the_worker_is_served_for_the_whole_site(client: TestClient) -> None:
    resp = await client.get("/sw.js")
    assert resp.status == 200
    assert resp.headers["Service-Worker-Allowed"] == "/"
    assert resp.content_type == "text/javascript"
    assert "notificationclick" in await resp.text()
