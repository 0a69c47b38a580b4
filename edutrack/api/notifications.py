"""Handlers of notification preferences (docs/notifications.md): channels per kind, the master email switch,
time zone, quiet hours, the daily digest's hour, and chat mutes."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from aiohttp import web
from marshmallow import fields, validate

from edutrack import errors
from edutrack.api.diary_structure import no_content
from edutrack.api.http import client_ip, ctx_of, json_response, load_json, principal
from edutrack.api.openapi import doc
from edutrack.api.schemas import StrictSchema
from edutrack.db.models import EmailPreference
from edutrack.db.notify import CHANNELS
from edutrack.events import NOTIFICATION_KINDS
from edutrack.i18n import _
from edutrack.services import notification_prefs, unsubscribe

TAGS = ("notifications",)
CHANNEL_HELP = ("live: in the app (the feed and the `notification` frame); email: an email once it is unread past "
                "the digest delay and you are offline; digest: the daily digest at `digest_time`; push: a web "
                "push to each browser you subscribed (/api/v1/push/subscriptions) while you have no open page, "
                "outside quiet hours. An empty list: off.")


class KindPrefSchema(ma.Schema):
    kind = fields.String()
    channels = fields.List(fields.String(), metadata={"description": CHANNEL_HELP})
    default = fields.List(fields.String(), metadata={"description": "your role's default for this kind"})
    chosen = fields.Boolean(metadata={"description": "false: the role's default applies"})


class MuteSchema(ma.Schema):
    channel = fields.String()
    until = fields.DateTime(allow_none=True, metadata={"description": "null: until unmuted"})


class PreferencesSchema(ma.Schema):
    channels = fields.List(fields.String(), metadata={"description": "the channels that exist"})
    email = fields.String(metadata={"description": "master email switch: off (no email at all), immediate, "
                                                   "daily (kinds without a choice of their own go to the digest)"})
    kinds = fields.List(fields.Nested(KindPrefSchema))
    timezone = fields.String(allow_none=True, metadata={"description": "yours; null: the school's"})
    effective_timezone = fields.String()
    quiet_start = fields.String(allow_none=True, metadata={"description": "HH:MM local; email waits until the end"})
    quiet_end = fields.String(allow_none=True)
    quiet_weekends = fields.Boolean(metadata={"description": "all of Saturday and Sunday are quiet too"})
    digest_time = fields.String(metadata={"description": "HH:MM local time of the daily digest"})
    mutes = fields.List(fields.Nested(MuteSchema))


def channel_list() -> fields.List:  # type: ignore[type-arg]
    return fields.List(fields.String(validate=validate.OneOf(list(CHANNELS))), allow_none=True,
                       validate=validate.Length(max=len(CHANNELS)))


class PreferencesUpdateSchema(StrictSchema):
    email = fields.String(validate=validate.OneOf([p.value for p in EmailPreference]))
    kinds = fields.Dict(keys=fields.String(validate=validate.OneOf(NOTIFICATION_KINDS)), values=channel_list(),
                        metadata={"description": "kind -> channels ([] off, null: the role's default). "
                                                 + CHANNEL_HELP})
    timezone = fields.String(allow_none=True, validate=validate.Length(max=64))
    quiet_start = fields.Time(allow_none=True, format="%H:%M")
    quiet_end = fields.Time(allow_none=True, format="%H:%M")
    quiet_weekends = fields.Boolean()
    digest_time = fields.Time(format="%H:%M")

    @ma.validates_schema
    def not_empty(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if not data:
            raise ma.ValidationError(_("Nothing to update."), "_schema")


class MuteBodySchema(StrictSchema):
    until = fields.AwareDateTime(allow_none=True, load_default=None,
                                 metadata={"description": "with an offset; null or absent: until unmuted"})


class UnsubscribedSchema(ma.Schema):
    kinds = fields.List(fields.String(), metadata={"description": "the kinds whose email and digest are now off"})


_prefs = PreferencesSchema()
_mute = MuteSchema()
_unsubscribed = UnsubscribedSchema()


@doc("Your notification preferences: channels per kind (your choice or your role's default), the master email "
     "switch, time zone, quiet hours, the daily digest's hour, muted chats", tags=TAGS, response=PreferencesSchema)
async def get_preferences(request: web.Request) -> web.Response:
    return json_response(_prefs.dump(await notification_prefs.view(ctx_of(request), principal(request))))


@doc("Change your notification preferences (only the fields given); notifications already written keep the "
     "channels they were given", tags=TAGS, body=PreferencesUpdateSchema, response=PreferencesSchema,
     errors=(429,))
async def put_preferences(request: web.Request) -> web.Response:
    data = await load_json(request, PreferencesUpdateSchema())
    view = await notification_prefs.update(ctx_of(request), principal(request), data)
    return json_response(_prefs.dump(view))


@doc("Mute a chat you belong to (class:{id} or dm:{a}:{b}): its messages make no live notification and no "
     "email until `until`", tags=TAGS, body=MuteBodySchema, response=MuteSchema, errors=(400, 403, 429))
async def put_mute(request: web.Request) -> web.Response:
    data = await load_json(request, MuteBodySchema())
    found = await notification_prefs.mute(ctx_of(request), principal(request), request.match_info["channel"],
                                           data["until"])
    return json_response(_mute.dump(found))


@doc("Unmute a chat", tags=TAGS, status=204, errors=(400, 404, 429))
async def delete_mute(request: web.Request) -> web.Response:
    await notification_prefs.unmute(ctx_of(request), principal(request), request.match_info["channel"])
    return no_content()


@doc("One-click unsubscribe (RFC 8058) from the email of the notification kinds of one email, by the signed link "
     "of its List-Unsubscribe header; no login (the link is the credential). The app still shows them.",
     tags=TAGS, auth=False, response=UnsubscribedSchema, errors=(404, 429))
async def one_click_unsubscribe(request: web.Request) -> web.Response:
    ctx = ctx_of(request)
    s = ctx.settings
    count, ttl = await ctx.limiter.hit(f"public:ip:{client_ip(request)}", s.public_window)
    if count > s.public_max_per_window:
        raise errors.TooManyRequests(ttl)
    return json_response(_unsubscribed.dump(await unsubscribe.unsubscribe(ctx, request.match_info["token"])))


@doc("The one-click unsubscribe link opened in a browser (mail clients without RFC 8058 do that): changes nothing, "
     "answers 303 to the page that asks first (/unsubscribe/{token})", tags=TAGS, auth=False, status=303,
     errors=(429,))
async def unsubscribe_link_opened(request: web.Request) -> web.Response:
    raise web.HTTPSeeOther(f"/unsubscribe/{request.match_info['token']}")


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/v1/profile/notifications", get_preferences)
    r.add_put("/api/v1/profile/notifications", put_preferences)
    r.add_put("/api/v1/profile/notifications/mutes/{channel}", put_mute)
    r.add_delete("/api/v1/profile/notifications/mutes/{channel}", delete_mute)
    r.add_post("/api/v1/unsubscribe/{token}", one_click_unsubscribe)
    r.add_get("/api/v1/unsubscribe/{token}", unsubscribe_link_opened)
