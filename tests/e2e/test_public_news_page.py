"""The public news page of a school, as anyone sees it without login: fits 375, 768 and 1,280 px, passes axe-core,
and shows the public item in Russian."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from edutrack.context import AppContext
from tests.e2e.conftest import Browsers
from tests.e2e.quality import assert_accessible, assert_fits
from tests.support.diary import auth
from tests.support.school import BuiltSchool


async def test_the_public_news_page_fits_and_is_accessible(browsers: Browsers, client: TestClient, ctx: AppContext,
                                                           school: BuiltSchool) -> None:
    resp = await client.post("/api/v1/news", headers=auth(ctx, school.admin), json={
        "title": "Весенняя ярмарка", "body": "Приглашаем всех в субботу.\n\nНачало в 11:00.",
        "audience": "school", "status": "published", "public": True})
    assert resp.status == 201, await resp.text()
    tab = await browsers.open()
    await tab.page.goto(f"/schools/{school.id}/news")
    assert await tab.page.get_by_role("heading", name="Весенняя ярмарка").is_visible()
    assert await tab.page.get_by_role("link", name="Подписаться на новости (Atom)").is_visible()
    await assert_fits(tab.page)
    await assert_accessible(tab.page)
    tab.assert_clean()
