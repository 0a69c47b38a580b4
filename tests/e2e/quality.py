"""Checks every page of the web client must pass: it fits the screen at a phone's, a tablet's and a laptop's width
(no horizontal scrolling), and axe-core finds no serious or critical accessibility violation in it.

    await assert_fits(tab.page)              # at 375, 768 and 1,280 px, then back to the tab's own size
    await assert_accessible(tab.page)        # axe-core 4.x, vendored in tests/e2e/vendor by scripts/vendor-axe-core.sh
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.async_api import Page

AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
WIDTHS = (375, 768, 1280)
BLOCKING = ("serious", "critical")

_OVERFLOW = """() => {
    const root = document.scrollingElement;
    const wide = [...document.querySelectorAll("body *")]
        .filter(n => n.getClientRects().length && n.getBoundingClientRect().right > root.clientWidth + 0.5)
        .filter(n => !n.closest(".table-wrap, .visually-hidden, [hidden]"))
        .map(n => n.tagName.toLowerCase() + (n.id ? "#" + n.id : "")
             + (typeof n.className === "string" && n.className ? "." + n.className.split(" ").join(".") : ""));
    return {scroll: root.scrollWidth, client: root.clientWidth, wide: wide.slice(0, 10)};
}"""


async def overflow(page: Page) -> dict[str, Any]:
    """How wide the page is against its viewport, and the first elements that stick out on the right."""
    result: dict[str, Any] = await page.evaluate(_OVERFLOW)
    return result


async def assert_fits(page: Page, widths: tuple[int, ...] = WIDTHS, height: int = 800) -> None:
    """No horizontal scrolling at any of `widths`; the page is left at its original size."""
    original = page.viewport_size
    problems = []
    try:
        for width in widths:
            await page.set_viewport_size({"width": width, "height": height})
            # Let layout settle: a resize can reflow grids and wrap navigation.
            await page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
            found = await overflow(page)
            if found["scroll"] > found["client"]:
                problems.append({"width": width, **found})
    finally:
        if original is not None:
            await page.set_viewport_size(original)
    assert not problems, f"{page.url} scrolls sideways: {problems}"


async def axe_violations(page: Page, impacts: tuple[str, ...] = BLOCKING) -> list[dict[str, Any]]:
    """axe-core's violations of the page as it is now, those of the given impacts only."""
    if not await page.evaluate("() => typeof window.axe === 'object'"):
        # Evaluated through the DevTools protocol rather than added as a <script>: the pages' CSP (script-src
        # 'self') rightly refuses inline scripts, and the test must not weaken it.
        await page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
    result: dict[str, Any] = await page.evaluate(
        "async () => await window.axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"],
         "nodes": [n["target"] for n in v["nodes"][:5]]}
        for v in result["violations"] if v.get("impact") in impacts
    ]


async def assert_accessible(page: Page) -> None:
    found = await axe_violations(page)
    assert not found, f"axe-core on {page.url}: {found}"
