"""The Content-Security-Policy in a real browser: the page's own websocket connects, a socket to another host is
refused by the browser before any connection is made (injected script cannot carry data off over ws:)."""

from __future__ import annotations

import urllib.parse

from tests.e2e.conftest import Browsers
from tests.support.factories import Factory

# Resolves with how the browser treated `new WebSocket(url)`: a CSP violation, or "not blocked".
TRY_SOCKET = """url => new Promise(resolve => {
  document.addEventListener("securitypolicyviolation",
    e => resolve("blocked " + e.effectiveDirective), { once: true });
  try { new WebSocket(url); } catch (e) { resolve("blocked " + e.name); return; }
  setTimeout(() => resolve("not blocked"), 3000);
})"""


async def test_a_page_may_open_its_own_socket_and_no_other(browsers: Browsers, factory: Factory) -> None:
    student = await factory.user("student")
    tab = await browsers.login(student.email, expect_path="/diary")  # waits for the page's own /ws to be online
    port = urllib.parse.urlsplit(browsers.base_url).port
    # Another loopback address with the same port: a different host as far as the policy goes.
    for url in (f"ws://127.0.0.2:{port}/ws", f"wss://127.0.0.2:{port}/ws", "ws://localhost:9/ws"):
        assert await tab.page.evaluate(TRY_SOCKET, url) == "blocked connect-src", url
    assert await tab.page.evaluate(TRY_SOCKET, browsers.base_url.replace("http", "ws") + "/ws") == "not blocked"
