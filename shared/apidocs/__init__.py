"""/docs (Swagger UI) and /redoc (ReDoc) from assets shipped in this package, so the API
documentation works on an intranet with no way out (FastAPI's defaults load both from a CDN and
ReDoc's fonts from Google).

The files in static/ are the upstream builds, unchanged but for ReDoc's source-map comment:
swagger-ui-dist 5.35.0 and redoc 2.5.4 from the npm registry (`npm pack swagger-ui-dist redoc`),
with their licences beside them. To update: pack the new versions, copy the same files over
and change the versions here.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).with_name("static")
ASSETS = "/docs-assets"
SWAGGER_UI_VERSION, REDOC_VERSION = "5.35.0", "2.5.4"


def install_api_docs(app: FastAPI) -> None:
    """/docs and /redoc for an app built with docs_url=None and redoc_url=None."""
    app.mount(ASSETS, StaticFiles(directory=STATIC), name="docs-assets")
    title = app.title

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json", title=f"{title} — API",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon-32x32.png")

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=app.openapi_url or "/openapi.json", title=f"{title} — API",
            redoc_js_url=f"{ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS}/favicon-32x32.png", with_google_fonts=False)
