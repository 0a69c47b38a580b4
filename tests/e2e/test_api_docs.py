"""/docs in a real browser: the vendored Swagger UI renders the whole API from /openapi.json under the page's
Content-Security-Policy (no inline script, no eval, no CDN)."""

from __future__ import annotations

from playwright.async_api import expect

from tests.e2e.conftest import Browsers


async def test_swagger_ui_renders_every_operation(browsers: Browsers) -> None:
    tab = await browsers.open()
    page = tab.page
    loaded: list[str] = []
    page.on("response", lambda response: loaded.append(response.url))
    await page.goto("/docs")
    await expect(page.locator(".swagger-ui .info .title")).to_contain_text("EduTrack")
    spec = await (await page.request.get("/openapi.json")).json()
    operations = sum(1 for item in spec["paths"].values() for method in item if method != "parameters")
    # Swagger UI 5 renders only the operations near the viewport (and drops those scrolled past): a viewport tall
    # enough for the whole list shows every one at once.
    await page.set_viewport_size({"width": 1280, "height": 60 * operations + 2000})
    await expect(page.locator(".opblock")).to_have_count(operations)
    # Swagger UI 5 names itself in the rendered page's version badge area as an OAS 3 document.
    await expect(page.locator(".swagger-ui .info .version-stamp, .swagger-ui .info small").first).to_be_visible()
    # Open one operation: its parameters and responses render (the React tree works, not only the list).
    await page.locator(".opblock-summary").filter(has_text="/api/v1/auth/login").first.click()
    await expect(page.locator(".opblock.is-open .responses-wrapper")).to_be_visible()
    assert all(url.startswith(browsers.base_url) for url in loaded), loaded
    assert any(url.endswith("/docs/assets/swagger-ui-bundle.js") for url in loaded)
    tab.assert_clean()
