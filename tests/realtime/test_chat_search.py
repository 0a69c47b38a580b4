"""Search across every chat the user may read now (issue 15): Russian word forms, ranking, filters, paging,
highlighted snippets, and nothing from channels the user cannot read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import text

from edutrack.queries import chat_search
from tests.realtime.helpers import make_class_world


async def _post(client: Any, actor: Any, channel: str, text: str) -> None:
    resp = await client.post(f"/api/v1/chats/{channel}/messages", headers=actor.headers, json={"text": text})
    assert resp.status == 201, await resp.text()


async def _search(client: Any, actor: Any, **params: Any) -> Any:
    return await client.get(f"/api/v1/chats/search?{urlencode(params)}", headers=actor.headers)


async def _hits(client: Any, actor: Any, **params: Any) -> list[dict[str, Any]]:
    resp = await _search(client, actor, **params)
    assert resp.status == 200, await resp.text()
    return (await resp.json())["items"]


async def test_word_forms_are_found(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    await _post(client, world.teacher, world.channel, "Завтра контрольной не будет, её перенесли")
    await _post(client, world.teacher, world.channel, "Принесите тетради")
    hits = await _hits(client, world.students[0], q="контрольная")
    assert [h["id"] for h in hits] == [1]
    assert "<mark>контрольной</mark>" in hits[0]["snippet"]


async def test_nothing_from_channels_the_user_cannot_read(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    await _post(client, world.parent, f"parents:{world.class_id}", "Сдаём на подарок к контрольной")
    await _post(client, world.teacher, f"staff:{world.school_id}", "Контрольная в 7Б перенесена")
    assert await _hits(client, world.students[0], q="контрольная") == []
    assert len(await _hits(client, world.parent, q="контрольная")) == 1
    assert len(await _hits(client, world.teacher, q="контрольная")) == 2
    assert await _hits(client, world.stranger, q="контрольная") == []
    resp = await _search(client, world.students[0], q="контрольная", channel=f"parents:{world.class_id}")
    assert resp.status == 403


async def test_a_student_who_left_the_class_no_longer_finds_its_messages(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    admin = await factory.actor("admin", school_id=world.school_id)
    await _post(client, world.teacher, world.channel, "Экскурсия в музей в пятницу")
    leaving = world.students[1]
    assert len(await _hits(client, leaving, q="экскурсии")) == 1
    resp = await client.delete(f"/api/v1/classes/{world.class_id}/students/{leaving.id}", headers=admin.headers)
    assert resp.status == 204
    assert await _hits(client, leaving, q="экскурсии") == []


async def test_filters_ranking_paging_and_escaping(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    await _post(client, world.teacher, world.channel, "Олимпиада по алгебре")
    await _post(client, world.students[0], world.channel, "Олимпиада & олимпиада <b>олимпиада</b>")
    await _post(client, world.students[1], world.channel, "Кто идёт на олимпиаду?")
    hits = await _hits(client, world.teacher, q="олимпиада")
    assert hits[0]["id"] == 2  # the most mentions first
    assert "&amp;" in hits[0]["snippet"]  # the text escaped; no markup of the sender's survives
    assert "<b>" not in hits[0]["snippet"]
    by_author = await _hits(client, world.teacher, q="олимпиада", author_id=world.students[1].id)
    assert [h["id"] for h in by_author] == [3]
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert await _hits(client, world.teacher, q="олимпиада", since=future) == []
    resp = await _search(client, world.teacher, q="олимпиада", limit=2)
    first = await resp.json()
    assert first["has_more"] is True
    second = await _hits(client, world.teacher, q="олимпиада", limit=2, offset=2)
    assert {h["id"] for h in first["items"]} | {h["id"] for h in second} == {1, 2, 3}


async def test_bad_queries_are_4xx(client, ctx, factory):
    world = await make_class_world(ctx, factory)
    assert (await _search(client, world.teacher)).status == 422
    assert (await _search(client, world.teacher, q="x", channel="nope")).status == 400
    assert await _hits(client, world.teacher, q="и") == []  # only a stop word


async def test_where_chats_hold_many_messages_only_the_newest_matches_are_ranked(client, ctx, factory,
                                                                                monkeypatch):
    monkeypatch.setattr(chat_search, "CANDIDATES", 2)
    monkeypatch.setattr(chat_search, "FEW_MESSAGES", 0)
    world = await make_class_world(ctx, factory)
    await _post(client, world.teacher, world.channel, "Олимпиада, олимпиада, олимпиада")  # the best, but oldest
    await _post(client, world.teacher, world.channel, "Кто идёт на олимпиаду?")
    await _post(client, world.teacher, world.channel, "Олимпиада завтра в 9:00, кабинет 12")
    resp = await _search(client, world.teacher, q="олимпиада")
    page = await resp.json()
    assert {h["id"] for h in page["items"]} == {2, 3}
    assert page["has_more"] is False
    # A date filter reaches the older one: the newest matches are counted after the filters.
    until = (await _hits(client, world.teacher, q="олимпиада"))[0]["created_at"]
    assert [h["id"] for h in await _hits(client, world.teacher, q="олимпиада", until=until)][:1] == [1]


async def test_chats_with_many_messages_are_searched_by_date_windows(client, ctx, factory, monkeypatch):
    monkeypatch.setattr(chat_search, "FEW_MESSAGES", 0)  # every search takes the windows' path
    world = await make_class_world(ctx, factory)
    await _post(client, world.teacher, world.channel, "Контрольная по алгебре, контрольная!")
    await _post(client, world.teacher, world.channel, "Контрольной в пятницу не будет")
    await _post(client, world.teacher, world.channel, "Принесите тетради")
    async with ctx.sessions.begin() as session:  # the best match is older than the first 30-day window
        await session.execute(text("UPDATE chat_messages SET created_at = now() - interval '400 days' "
                                   "WHERE channel = :c AND id = 1"), {"c": world.channel})
    hits = await _hits(client, world.students[0], q="контрольные")
    assert [h["id"] for h in hits] == [1, 2]
    recent = (datetime.now(UTC) - timedelta(days=100)).isoformat()
    assert [h["id"] for h in await _hits(client, world.students[0], q="контрольные", since=recent)] == [2]
    old = (datetime.now(UTC) - timedelta(days=200)).isoformat()
    assert [h["id"] for h in await _hits(client, world.students[0], q="контрольные", until=old)] == [1]


async def test_where_chats_hold_few_messages_every_match_is_ranked(client, ctx, factory, monkeypatch):
    monkeypatch.setattr(chat_search, "CANDIDATES", 2)  # not used on this path
    world = await make_class_world(ctx, factory)
    await _post(client, world.teacher, world.channel, "Олимпиада, олимпиада, олимпиада")  # the best, but oldest
    await _post(client, world.teacher, world.channel, "Кто идёт на олимпиаду?")
    await _post(client, world.teacher, world.channel, "Олимпиада завтра в 9:00, кабинет 12")
    hits = await _hits(client, world.teacher, q="олимпиада")
    assert len(hits) == 3
    assert hits[0]["id"] == 1
