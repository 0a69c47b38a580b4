"""`/openapi.json` and Swagger UI at `/docs`, served from static/swagger-ui/ (no CDN): npm swagger-ui-dist 5.x,
vendored by scripts/vendor-swagger-ui.sh with its licence."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import web

from edutrack.api.http import json_response
from edutrack.api.openapi import build_spec

SWAGGER_UI_DIR = Path(__file__).resolve().parents[2] / "static" / "swagger-ui"
SPEC_KEY = web.AppKey("openapi_spec", dict[str, Any])

SWAGGER_HTML = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>EduTrack API</title>
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/static/docs-init.js"></script>
</body>
</html>
"""


async def openapi_json(request: web.Request) -> web.Response:
    return json_response(request.app[SPEC_KEY])


async def _build_on_startup(app: web.Application) -> None:
    # Every route is registered by now; the document never changes while the process runs.
    app[SPEC_KEY] = build_spec(app)


async def swagger_ui(request: web.Request) -> web.Response:
    return web.Response(text=SWAGGER_HTML, content_type="text/html")


def setup_routes(app: web.Application) -> None:
    app.on_startup.append(_build_on_startup)
    app.router.add_get("/openapi.json", openapi_json)
    app.router.add_get("/docs", swagger_ui)
    app.router.add_static("/docs/assets", SWAGGER_UI_DIR, name="swagger_assets")
