"""Wires the web front: settings, one shared httpx client and the four backend clients, the
page routers, static files, /healthz and /metrics, and what a refused backend call becomes
(a redirect to /login, or an error page in Chinese)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.web.adapters.http import Backend
from services.web.adapters.intake import IntakeClient
from services.web.adapters.orgsync import OrgsyncClient
from services.web.adapters.reporting import ReportingClient
from services.web.adapters.review import ReviewClient
from services.web.config import SERVICE, WebSettings, load_web_settings
from services.web.domain.forms import chinese_message
from services.web.domain.session import session_user
from services.web.entrypoints import (
    pages_auth,
    pages_chasing,
    pages_me,
    pages_province,
    pages_review,
    pages_school,
    pages_school_files,
    pages_school_moves,
    pages_search,
)
from services.web.entrypoints.support import (
    HERE,
    MAX_FIELD_BYTES,
    SESSION_COOKIE,
    CsrfRefused,
    LoginRequired,
    PageError,
    clear_session,
    login_url,
    render,
)
from services.web.service_layer.backends import Backends
from services.web.service_layer.errors import BackendError, NotAllowed, SignInRequired
from shared.auth import Unauthenticated
from shared.bodylimit import BodyLimit, BodyRule, MiB
from shared.errors import TmisError
from shared.logging import get_logger
from shared.runtime import install_metrics

log = get_logger(__name__)
FORBIDDEN = "无权操作：超出您的角色或所辖地区范围"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff", "X-Frame-Options": "SAMEORIGIN",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
                               "frame-ancestors 'self'; form-action 'self'; base-uri 'none'",
}
TITLES = {401: "请先登录", 403: "无权访问", 404: "未找到", 409: "数据已变化", 422: "请求无效",
          502: "服务暂不可用"}


def build_backends(settings: WebSettings, client: httpx.AsyncClient) -> Backends:
    def backend(name: str) -> Backend:
        return Backend(name, settings.peer_urls()[name], client, settings.web_backend_timeout,
                       settings.web_backend_retry_seconds)

    return Backends(intake=IntakeClient(backend("intake")), review=ReviewClient(backend("review")),
                    orgsync=OrgsyncClient(backend("orgsync")),
                    reporting=ReportingClient(backend("reporting")))


def create_app(settings: WebSettings | None = None,
               transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    """The app. `transport` replaces the network (tests give an httpx.MockTransport that
    plays the backends)."""
    settings = settings or load_web_settings()
    # trust_env=False: backends are called directly, never through an http_proxy from the env.
    client = httpx.AsyncClient(transport=transport, trust_env=False)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await client.aclose()

    app = FastAPI(title="TMIS web", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.state.settings = settings
    app.state.backends = build_backends(settings, client)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    for module in (pages_auth, pages_school, pages_school_moves, pages_school_files,
                   pages_review, pages_province, pages_me, pages_search, pages_chasing):
        app.include_router(module.router)
    _install_basics(app)
    _install_error_pages(app)
    return app


# The web front's uploads, bounded like the backends that take them (shared/bodylimit.py), and
# refused before a byte is read without a session; every other form: the default 2 MiB.
UPLOADS = (
    BodyRule("POST", "/school/import", 64 * MiB, "import file (导入文件)"),
    BodyRule("POST", "/orgsync", 20 * MiB, "restructuring batch (调整批次文件)"),
    BodyRule("POST", "/orgsync/apply", MAX_FIELD_BYTES, "restructuring batch (调整批次文件)"),
    BodyRule("POST", "/school/(return-to-post|teachers/[^/]+/(leave|transfer))", 5 * MiB,
             "proof document (证明材料)"),
)


async def _session_signed_in(scope: dict[str, Any]) -> TmisError | None:
    if session_user(Request(scope).cookies.get(SESSION_COOKIE)) is not None:
        return None
    return Unauthenticated("sign in before uploading a file (请先登录后再上传文件)")


def _install_basics(app: FastAPI) -> None:
    @app.get("/healthz", include_in_schema=False)
    async def healthz(request: Request) -> dict[str, Any]:
        backends: Backends = request.app.state.backends
        return {"service": SERVICE, "status": "ok", "peers": await backends.health()}

    install_metrics(app, SERVICE)
    app.add_middleware(BodyLimit, rules=UPLOADS, signed_in=_session_signed_in, html_pages=True)

    @app.middleware("http")
    async def headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]
                      ) -> Response:
        response = await call_next(request)
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        if request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "public, max-age=3600")
        else:
            response.headers.setdefault("Cache-Control", "no-store")
        return response


def error_page(request: Request, status: int, message: str, detail: str = "") -> Response:
    return render(request, "error.html", {"title": TITLES.get(status, "出错了"),
                                          "message": message, "detail": detail}, status=status)


def _install_error_pages(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        response = RedirectResponse(login_url(exc.next_path, exc.reason), status_code=303)
        if exc.reason == "expired":
            clear_session(response)
        return response

    @app.exception_handler(CsrfRefused)
    async def csrf_refused(request: Request, exc: CsrfRefused) -> Response:
        log.warning("csrf_refused", path=request.url.path)
        return error_page(request, 403, "请求已过期，请刷新页面后重试")

    @app.exception_handler(PageError)
    async def page_error(request: Request, exc: PageError) -> Response:
        return error_page(request, exc.status, exc.message, exc.detail)

    @app.exception_handler(BackendError)
    async def backend_error(request: Request, exc: BackendError) -> Response:
        if isinstance(exc, SignInRequired):
            path = request.url.path if request.method == "GET" else "/"
            response = RedirectResponse(login_url(path, "expired"), status_code=303)
            clear_session(response)
            return response
        if isinstance(exc, NotAllowed):
            log.info("backend_forbidden", backend=exc.service, path=request.url.path)
            return error_page(request, 403, FORBIDDEN, chinese_message(exc.message))
        if exc.status >= 500:
            log.warning("backend_failed", backend=exc.service, status=exc.status,
                        path=request.url.path)
            return error_page(request, 502, f"{exc.service} 服务暂不可用，请稍后再试",
                              chinese_message(exc.message))
        return error_page(request, exc.status, chinese_message(exc.message))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        return error_page(request, 404, "页面不存在或地址有误")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return error_page(request, 404, "页面不存在")
        if exc.status_code == 405:
            return error_page(request, 405, "不支持此操作")
        return error_page(request, exc.status_code, str(exc.detail))
