"""/openapi.json is valid OpenAPI 3 and documents every route; /docs renders from local assets."""

from __future__ import annotations

import re

from openapi_spec_validator import validate

from edutrack.api.openapi import documented_routes

# Routes that are not REST endpoints: the docs UI itself, static files, the websocket.
UNDOCUMENTED_PREFIXES = ("/docs", "/static", "/ws", "/openapi.json")


async def test_openapi_document_is_valid(client):
    resp = await client.get("/openapi.json")
    assert resp.status == 200
    spec = await resp.json()
    validate(spec)
    assert spec["openapi"].startswith("3.")
    paths = spec["paths"]
    login = paths["/api/v1/auth/login"]["post"]
    assert "security" not in login
    assert {"200", "401", "422", "429"} <= set(login["responses"])
    assert login["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/Login")
    me = paths["/api/v1/profile/me"]
    assert me["get"]["security"] == [{"bearer": []}]
    assert me["put"]["requestBody"]
    user = paths["/api/v1/users/{user_id}"]["get"]
    assert user["parameters"][0]["name"] == "user_id"
    assert "Error" in spec["components"]["schemas"]


def _route_paths(app) -> set[tuple[str, str]]:
    found = set()
    for route in app.router.routes():
        if route.method in ("HEAD", "OPTIONS"):
            continue
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("path") or info.get("formatter") or info.get("prefix") or ""
        if path.startswith(UNDOCUMENTED_PREFIXES):
            continue
        found.add((route.method, re.sub(r"{([^}:]+)(?::[^}]*)?}", r"{\1}", path)))
    return found


async def test_every_route_is_documented(client):
    app = client.app
    routes = _route_paths(app)
    assert ("POST", "/api/v1/auth/login") in routes
    missing = routes - documented_routes(app)
    assert not missing, f"routes without @doc (add them to /openapi.json): {sorted(missing)}"
    spec = await (await client.get("/openapi.json")).json()
    in_spec = {(method.upper(), path) for path, ops in spec["paths"].items() for method in ops}
    assert routes <= in_spec, sorted(routes - in_spec)


async def test_docs_render_from_local_assets(client):
    resp = await client.get("/docs")
    assert resp.status == 200
    assert resp.content_type == "text/html"
    html = await resp.text()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets, html
    # No CDN: the machine has no internet, and the CSP allows only our own origin.
    assert all(a.startswith("/") for a in assets), assets
    kinds = set()
    for asset in assets:
        r = await client.get(asset)
        assert r.status == 200, asset
        assert len(await r.read()) > 0
        kinds.add(asset.rsplit(".", 1)[-1])
    assert {"js", "css"} <= kinds
    bundle = await client.get("/docs/assets/swagger-ui-bundle.js")
    assert "SwaggerUIBundle" in await bundle.text()
    # A current Swagger UI, vendored from npm swagger-ui-dist (scripts/vendor-swagger-ui.sh) with its licence.
    vendored = await (await client.get("/docs/assets/package.json")).json()
    assert vendored["name"] == "swagger-ui-dist"
    assert int(vendored["version"].split(".")[0]) >= 5, vendored["version"]
    assert f'"{vendored["version"]}"' in await bundle.text()
    assert "Apache License" in await (await client.get("/docs/assets/LICENSE")).text()
    init = await client.get("/static/docs-init.js")
    assert "/openapi.json" in await init.text()
