"""``GET /api/order/docs``: Swagger UI on this API's ``openapi.json``.

Swagger UI's files come from the ``swagger-ui-py`` wheel and are served from
here, so the page fetches nothing from the internet; only the files the page
loads are served, with a Content-Security-Policy that allows nothing else.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from aiohttp import web

from http_api.problems import Problem

BASE = "/api/order/docs"
# Not ``import swagger_ui``: its package imports its template machinery, which we do not use.
_SPEC = importlib.util.find_spec("swagger_ui")
_WHERE = (_SPEC.submodule_search_locations or []) if _SPEC else []
ASSETS = Path(next(iter(_WHERE))) / "static" if _WHERE else None
SERVED = {
    "swagger-ui.css": "text/css",
    "swagger-ui-bundle.js": "application/javascript",
    "favicon-32x32.png": "image/png",
    "init.js": "application/javascript",
}
INIT_JS = """window.ui = SwaggerUIBundle({
  url: "/api/order/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  persistAuthorization: false,
});
"""
PAGE = f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Order Service API</title>
  <link rel="icon" href="{BASE}/favicon-32x32.png">
  <link rel="stylesheet" href="{BASE}/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{BASE}/swagger-ui-bundle.js"></script>
  <script src="{BASE}/init.js"></script>
</body>
</html>
"""
# Swagger UI sets inline styles and draws its icons from data: URIs; scripts only from here.
CSP = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; script-src 'self'"


async def page(request: web.Request) -> web.Response:
    return web.Response(text=PAGE, content_type="text/html", headers={"Content-Security-Policy": CSP})


async def asset(request: web.Request) -> web.StreamResponse:
    name = request.match_info["asset"]
    if name not in SERVED:
        raise Problem(404, f"no file {name} here; the page is {BASE}")
    if name == "init.js":
        return web.Response(text=INIT_JS, content_type=SERVED[name])
    if ASSETS is None:
        raise Problem(404, "Swagger UI is not installed (pip install swagger-ui-py)")
    return web.FileResponse(ASSETS / name, headers={"Content-Type": SERVED[name], "Cache-Control": "max-age=86400"})
