"""Handlers of calendar feeds: the owner makes, remakes and revokes their secret URL; calendar apps fetch the
feed at that URL without logging in (the URL is the secret), revalidating with If-None-Match."""

from __future__ import annotations

from aiohttp import web
from marshmallow import fields

from edutrack import errors
from edutrack.api.diary_structure import no_content
from edutrack.api.http import client_ip, ctx_of, json_response, principal
from edutrack.api.openapi import doc
from edutrack.api.schemas import StrictSchema
from edutrack.i18n import _
from edutrack.security.tokens import hash_token
from edutrack.services import calendar_feed

TAGS = ("calendar",)


class FeedSchema(StrictSchema):
    active = fields.Boolean()
    created_at = fields.String(allow_none=True)
    url = fields.String(allow_none=True, metadata={
        "description": "The secret URL of the feed: given only when it is made, never again"})


@doc("Your calendar link: whether you have one and since when (the URL itself is shown only when made)",
     tags=TAGS, response=FeedSchema)
async def feed_status(request: web.Request) -> web.Response:
    return json_response(await calendar_feed.status(ctx_of(request), principal(request)))


@doc("Make your calendar link, or a new one (the old one stops working at once): an iCalendar URL of your "
     "timetable (students, teachers) or your children's (parents) with homework, for any calendar app",
     tags=TAGS, response=FeedSchema, status=201, errors=(403, 429))
async def make_feed(request: web.Request) -> web.Response:
    return json_response(await calendar_feed.make(ctx_of(request), principal(request)), status=201)


@doc("Revoke your calendar link: the URL answers 404 from now on", tags=TAGS, status=204, errors=(404,))
async def revoke_feed(request: web.Request) -> web.Response:
    await calendar_feed.revoke(ctx_of(request), principal(request))
    return no_content()


async def _admit(request: web.Request, token: str) -> None:
    ctx = ctx_of(request)
    s = ctx.settings
    for key, limit in ((f"public:ip:{client_ip(request)}", s.public_max_per_window),
                       (f"feed:{hash_token(token)[:32]}", s.feed_max_per_window)):
        count, ttl = await ctx.limiter.hit(key, s.public_window)
        if count > limit:
            raise errors.TooManyRequests(ttl, _("Too many requests for this calendar; try again later."))


def _matches(header: str, etag: str) -> bool:
    tags = {t.strip().removeprefix("W/") for t in header.split(",")}
    return etag in tags or "*" in tags


@doc("A calendar feed (iCalendar, no login: the secret URL is the credential). Send If-None-Match with the "
     "last ETag: 304 while nothing changed", tags=TAGS, auth=False, errors=(404, 429),
     extra_responses={200: "text/calendar", 304: "Not modified since that ETag"})
async def calendar_ics(request: web.Request) -> web.Response:
    token = request.match_info["token"]
    await _admit(request, token)
    feed = await calendar_feed.render(ctx_of(request), token)
    headers = {"ETag": feed.etag, "Cache-Control": "private, no-cache"}
    if _matches(request.headers.get("If-None-Match", ""), feed.etag):
        return web.Response(status=304, headers=headers)
    return web.Response(body=feed.body, headers={**headers, "Content-Type": "text/calendar; charset=utf-8",
                                                 "Content-Disposition": 'inline; filename="edutrack.ics"'})


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/v1/calendar-feed", feed_status)
    r.add_post("/api/v1/calendar-feed", make_feed)
    r.add_delete("/api/v1/calendar-feed", revoke_feed)
    r.add_get("/calendar/{token:[A-Za-z0-9_-]{16,128}}.ics", calendar_ics)
