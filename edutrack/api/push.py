"""Handlers of web push subscriptions (docs/notifications.md, "Web push"): the VAPID public key browsers subscribe
with, and each person's own subscriptions (one per browser)."""

from __future__ import annotations

import marshmallow as ma
from aiohttp import web
from marshmallow import fields, validate

from edutrack.api.diary_structure import no_content
from edutrack.api.http import ctx_of, json_response, load_json, path_int, principal
from edutrack.api.openapi import doc
from edutrack.api.schemas import StrictSchema
from edutrack.services import push_subscriptions

TAGS = ("notifications",)


class KeySchema(ma.Schema):
    public_key = fields.String(metadata={"description": "the VAPID public key (RFC 8292): the uncompressed P-256 "
                                                        "point, base64url; `applicationServerKey` of subscribe()"})


class SubscriptionKeysSchema(StrictSchema):
    p256dh = fields.String(required=True, validate=validate.Length(min=1, max=100),
                           metadata={"description": "the browser's P-256 public key, base64url (65 bytes)"})
    auth = fields.String(required=True, validate=validate.Length(min=1, max=40),
                         metadata={"description": "the authentication secret, base64url (16 bytes)"})


class SubscribeSchema(StrictSchema):
    endpoint = fields.String(required=True, validate=validate.Length(min=1, max=1024),
                             metadata={"description": "the push service's URL for this browser (https)"})
    keys = fields.Nested(SubscriptionKeysSchema, required=True)
    expirationTime = fields.Integer(allow_none=True, metadata={
        "description": "as PushSubscription.toJSON() gives it; ignored"})


class SubscriptionSchema(ma.Schema):
    id = fields.Integer()
    endpoint = fields.String()
    user_agent = fields.String(allow_none=True)
    created_at = fields.DateTime()


class SubscriptionListSchema(ma.Schema):
    items = fields.List(fields.Nested(SubscriptionSchema))


_key = KeySchema()
_subscription = SubscriptionSchema()
_list = SubscriptionListSchema()


@doc("The VAPID public key to subscribe a browser with (generated once and shared by every node unless "
     "VAPID_PRIVATE_KEY is set)", tags=TAGS, response=KeySchema)
async def get_key(request: web.Request) -> web.Response:
    return json_response(_key.dump(await push_subscriptions.public_key(ctx_of(request))))


@doc("Your browsers subscribed to web push", tags=TAGS, response=SubscriptionListSchema)
async def list_subscriptions(request: web.Request) -> web.Response:
    items = await push_subscriptions.list_own(ctx_of(request), principal(request))
    return json_response(_list.dump({"items": items}))


@doc("Subscribe this browser to web push (the JSON of its PushSubscription); the same endpoint again replaces "
     "its keys (200)", tags=TAGS, body=SubscribeSchema, response=SubscriptionSchema, status=201,
     errors=(409, 422, 429), extra_responses={200: "this endpoint was already yours: its keys were replaced"})
async def post_subscription(request: web.Request) -> web.Response:
    data = await load_json(request, SubscribeSchema())
    found, created = await push_subscriptions.subscribe(ctx_of(request), principal(request), data,
                                                        request.headers.get("User-Agent"))
    return json_response(_subscription.dump(found), status=201 if created else 200)


@doc("Remove one of your push subscriptions (someone else's is a 404)", tags=TAGS, status=204, errors=(404, 429))
async def delete_subscription(request: web.Request) -> web.Response:
    await push_subscriptions.unsubscribe(ctx_of(request), principal(request), path_int(request, "subscription_id"))
    return no_content()


def setup(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/v1/push/key", get_key)
    r.add_get("/api/v1/push/subscriptions", list_subscriptions)
    r.add_post("/api/v1/push/subscriptions", post_subscription)
    r.add_delete("/api/v1/push/subscriptions/{subscription_id}", delete_subscription)
