"""/docs and /redoc come from assets the project ships, so they work on an intranet with no
way out: nothing on either page points at a CDN or at Google's fonts."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.testclient import TestClient

from services.intake.bootstrap import SPEC
from shared.apidocs import install_api_docs
from shared.runtime import build_app
from shared.settings import Settings


def a_documented_app() -> TestClient:
    app = FastAPI(title="TMIS demo", docs_url=None, redoc_url=None)
    install_api_docs(app)
    return TestClient(app)


def test_swagger_ui_loads_its_script_and_style_from_the_service_itself() -> None:
    client = a_documented_app()
    page = client.get("/docs")
    assert page.status_code == 200
    urls = re.findall(r"""(?:src|href|url)\s*[:=]\s*['"]([^'"]+)['"]""", page.text)
    assert "/docs-assets/swagger-ui-bundle.js" in urls
    assert "/docs-assets/swagger-ui.css" in urls
    assert not [u for u in urls if u.startswith(("http://", "https://", "//"))]
    script = client.get("/docs-assets/swagger-ui-bundle.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert "SwaggerUIBundle" in script.text


def test_redoc_loads_its_bundle_from_the_service_and_asks_google_for_no_fonts() -> None:
    client = a_documented_app()
    page = client.get("/redoc")
    assert page.status_code == 200
    assert "/docs-assets/redoc.standalone.js" in page.text
    assert "googleapis" not in page.text and "cdn.jsdelivr" not in page.text
    assert client.get("/docs-assets/redoc.standalone.js").status_code == 200


def test_every_service_app_serves_the_bundled_pages_not_fastapis_cdn_ones() -> None:
    app = build_app(SPEC, Settings(env="test"))
    paths = {getattr(r, "path", None) for r in app.routes}
    assert {"/docs", "/redoc", "/docs-assets"} <= paths
    page = TestClient(app).get("/docs")  # no lifespan: the page needs no database
    assert "cdn.jsdelivr" not in page.text and "/docs-assets/" in page.text
