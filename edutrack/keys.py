"""Every `web.AppKey` of the application, in one place."""

from __future__ import annotations

from aiohttp import web

from edutrack.context import AppContext
from edutrack.security.tokens import Principal
from edutrack.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
CTX = web.AppKey("ctx", AppContext)

# Per-request: the caller decoded from the access token (set on first use by `api.http.principal`).
PRINCIPAL = web.RequestKey("principal", Principal)
