"""Handlers of school news: write, list, read, edit, publish, delete. Scheduled items are published by the
relay's job (edutrack/digest/news_publisher.py), not by these handlers."""

from __future__ import annotations

from aiohttp import web

from edutrack.api import diary_schemas as s
from edutrack.api.diary_structure import no_content
from edutrack.api.http import ctx_of, json_response, load_json, load_query, path_int, principal
from edutrack.api.openapi import doc
from edutrack.services.diary import news

NEWS = ("news",)


@doc("Write news for the school, a class or a role: draft, scheduled (publish_at) or published now",
     tags=NEWS, body=s.NewsCreateSchema, response=s.NewsSchema, status=201, errors=(403,))
async def create_news(request: web.Request) -> web.Response:
    data = await load_json(request, s.NewsCreateSchema())
    return json_response(await news.create_news(ctx_of(request), principal(request), data), status=201)


@doc("News addressed to you (admins: all of their school, with drafts and scheduled)", tags=NEWS,
     query=s.NewsListQuerySchema, response=s.NewsPageSchema, errors=(403,))
async def list_news(request: web.Request) -> web.Response:
    p = load_query(request, s.NewsListQuerySchema())
    return json_response(await news.list_news(
        ctx_of(request), principal(request), status=p.get("status"), audience=p.get("audience"),
        class_id=p.get("class_id"), q_text=p.get("q"), limit=p["limit"], offset=p["offset"]))


@doc("One news item (if addressed to you)", tags=NEWS, response=s.NewsSchema, errors=(404,))
async def get_news(request: web.Request) -> web.Response:
    return json_response(await news.get_news(ctx_of(request), principal(request), path_int(request, "news_id")))


@doc("Edit news; setting status to published or scheduled publishes it now or later", tags=NEWS,
     body=s.NewsUpdateSchema, response=s.NewsSchema, errors=(403, 404, 409))
async def update_news(request: web.Request) -> web.Response:
    data = await load_json(request, s.NewsUpdateSchema())
    return json_response(await news.update_news(ctx_of(request), principal(request),
                                                path_int(request, "news_id"), data))


@doc("Publish a draft or scheduled item now", tags=NEWS, response=s.NewsSchema, errors=(403, 404, 409))
async def publish_news(request: web.Request) -> web.Response:
    return json_response(await news.publish_news(ctx_of(request), principal(request),
                                                 path_int(request, "news_id")))


@doc("Delete news", tags=NEWS, status=204, errors=(403, 404))
async def delete_news(request: web.Request) -> web.Response:
    await news.delete_news(ctx_of(request), principal(request), path_int(request, "news_id"))
    return no_content()


def setup(app: web.Application) -> None:
    r = app.router
    r.add_post("/api/v1/news", create_news)
    r.add_get("/api/v1/news", list_news)
    r.add_get("/api/v1/news/{news_id}", get_news)
    r.add_patch("/api/v1/news/{news_id}", update_news)
    r.add_post("/api/v1/news/{news_id}/publish", publish_news)
    r.add_delete("/api/v1/news/{news_id}", delete_news)
