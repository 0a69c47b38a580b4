"""A school's public news without login: the page and the Atom feed show the items marked public once they are
published, and never a private item, a draft or a scheduled item before its time."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

from aiohttp.test_utils import TestClient

from edutrack.context import AppContext
from tests.diary_io.conftest import EmptySchool, empty_school
from tests.support.diary import auth
from tests.support.environment import AppFactory
from tests.support.factories import Factory

ATOM = "{http://www.w3.org/2005/Atom}"


async def write(client: TestClient, ctx: AppContext, school: EmptySchool, title: str, **fields: object) -> int:
    resp = await client.post("/api/v1/news", headers=auth(ctx, school.admin),
                             json={"title": title, "body": f"{title}: подробности.\n\nВторой абзац.",
                                   "audience": "school", **fields})
    body = await resp.json()
    assert resp.status == 201, body
    return int(body["id"])


async def test_only_published_public_items_reach_the_page_and_the_feed(client: TestClient, ctx: AppContext,
                                                                       school: EmptySchool) -> None:
    public = await write(client, ctx, school, "День открытых дверей", status="published", public=True)
    await write(client, ctx, school, "Внутреннее совещание", status="published")
    draft = await write(client, ctx, school, "Черновик объявления", public=True)
    await write(client, ctx, school, "Будущая новость", public=True, status="scheduled",
                publish_at=(datetime.now(UTC) + timedelta(days=2)).isoformat())
    page = await client.get(f"/schools/{school.id}/news")
    assert page.status == 200
    assert page.content_type == "text/html"
    html = await page.text()
    assert "Новости: Школа № 1" in html
    assert "День открытых дверей" in html
    assert "<p>Второй абзац.</p>" in html
    assert f'id="news-{public}"' in html
    for hidden in ("Внутреннее совещание", "Черновик объявления", "Будущая новость"):
        assert hidden not in html
    feed = await client.get(f"/schools/{school.id}/news.atom")
    assert feed.status == 200
    assert feed.content_type == "application/atom+xml"
    root = ET.fromstring(await feed.read())  # noqa: S314 - our own server's answer, in a test
    assert root.tag == f"{ATOM}feed"
    assert root.findtext(f"{ATOM}title") == "Новости: Школа № 1"
    entries = root.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}title") for e in entries] == ["День открытых дверей"]
    assert entries[0].findtext(f"{ATOM}id", "").endswith(f"/schools/{school.id}/news#news-{public}")
    # The draft, published: now it shows.
    published = await client.post(f"/api/v1/news/{draft}/publish", headers=auth(ctx, school.admin))
    assert published.status == 200
    assert (await published.json())["public"] is True
    html = await (await client.get(f"/schools/{school.id}/news")).text()
    assert "Черновик объявления" in html


async def test_public_news_is_for_the_whole_school_only_and_schools_are_separate(
        client: TestClient, ctx: AppContext, factory: Factory, school: EmptySchool) -> None:
    refused = await client.post("/api/v1/news", headers=auth(ctx, school.admin), json={
        "title": "Для учителей", "body": "Текст", "audience": "role", "role": "teacher", "public": True})
    assert refused.status == 422
    assert "public" in (await refused.json())["error"]["details"]
    other = await empty_school(ctx, factory, name="Соседняя школа")
    await write(client, ctx, other, "Новость соседей", status="published", public=True)
    html = await (await client.get(f"/schools/{school.id}/news")).text()
    assert "Новость соседей" not in html
    assert "Школа пока не опубликовала новостей." in html
    assert (await client.get("/schools/999999/news")).status == 404
    assert (await client.get("/schools/999999/news.atom")).status == 404


async def test_public_pages_are_rate_limited_per_address(make_client: AppFactory, ctx: AppContext,
                                                         school: EmptySchool) -> None:
    client = await make_client(public_max_per_window=2)
    statuses = [(await client.get(f"/schools/{school.id}/news.atom")).status for _ in range(3)]
    assert statuses == [200, 200, 429]
