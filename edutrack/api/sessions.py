"""Handlers: a person's own login sessions (GET/DELETE /api/v1/profile/sessions)."""

from __future__ import annotations

from dataclasses import asdict

import marshmallow as ma
from aiohttp import web
from marshmallow import fields

from edutrack.api.http import ctx_of, json_response, principal
from edutrack.api.openapi import doc
from edutrack.api.session_cookie import clear_refresh_cookie
from edutrack.services import sessions

PROFILE = ("profile",)


class LoginSessionSchema(ma.Schema):
    id = fields.String(metadata={"description": "The session's id (the `sid` of its access tokens)"})
    created_at = fields.DateTime(metadata={"description": "When this sign-in happened"})
    last_used_at = fields.DateTime(metadata={"description": "When it last got a new token (a refresh)"})
    user_agent = fields.String(allow_none=True)
    current = fields.Boolean(metadata={"description": "The session this request's access token belongs to"})


class LoginSessionListSchema(ma.Schema):
    items = fields.List(fields.Nested(LoginSessionSchema))


_list = LoginSessionListSchema()


@doc("Your login sessions that are still alive (one per sign-in on a device or browser), most recently used first",
     tags=PROFILE, response=LoginSessionListSchema)
async def list_sessions(request: web.Request) -> web.Response:
    found = await sessions.list_sessions(ctx_of(request), principal(request))
    return json_response(_list.dump({"items": [asdict(s) for s in found]}))


@doc("Sign out one of your sessions: its refresh token stops working and its access tokens and websockets end on "
     "every node. Another person's session answers 404. Ending the current one also clears this browser's "
     "session cookie", tags=PROFILE, status=204, errors=(404, 429))
async def end_session(request: web.Request) -> web.Response:
    was_current = await sessions.end_session(ctx_of(request), principal(request), request.match_info["session_id"])
    response = web.Response(status=204)
    if was_current:
        clear_refresh_cookie(request, response)
    return response


@doc("Sign out everywhere: every session of yours, this one included (like POST /api/v1/auth/logout-all); "
     "clears this browser's session cookie", tags=PROFILE, status=204, errors=(429,))
async def end_all_sessions(request: web.Request) -> web.Response:
    await sessions.end_all(ctx_of(request), principal(request))
    response = web.Response(status=204)
    clear_refresh_cookie(request, response)
    return response


def setup_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/v1/profile/sessions", list_sessions)
    r.add_delete("/api/v1/profile/sessions", end_all_sessions)
    r.add_delete("/api/v1/profile/sessions/{session_id}", end_session)
