"""What every page router shares: the session user, the CSRF check, flash messages and
rendering a template with the navigation of the user's role."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData, UploadFile

from services.web.adapters.intake import Download
from services.web.config import WebSettings
from services.web.domain.forms import FormErrors, map_problems
from services.web.domain.navigation import nav_for
from services.web.domain.session import SessionUser, csrf_ok, csrf_token, session_user
from services.web.service_layer.backends import Backends
from services.web.service_layer.errors import BackendError, Conflicting, Invalid

# the session cookie's name is the backends' too: reporting's dashboard reads it (shared.auth)
from shared.auth import SESSION_COOKIE

FLASH_COOKIE = "tmis_flash"
HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
LOGIN_MESSAGES = {"required": "请先登录", "expired": "登录已过期，请重新登录", "logout": "已退出"}


class LoginRequired(Exception):
    """No usable session: the app answers with a redirect to /login."""

    def __init__(self, next_path: str, reason: str = "required") -> None:
        super().__init__(reason)
        self.next_path = next_path
        self.reason = reason


class CsrfRefused(Exception):
    """A state-changing form without its session's CSRF token (answered with 403)."""


def settings_of(request: Request) -> WebSettings:
    settings: WebSettings = request.app.state.settings
    return settings


def backends(request: Request) -> Backends:
    found: Backends = request.app.state.backends
    return found


def login_url(next_path: str, reason: str = "required") -> str:
    return f"/login?msg={reason}&next={quote(next_path, safe='/')}"


def user_of(request: Request) -> SessionUser:
    """The signed-in user, or LoginRequired (the app redirects to /login)."""
    token = request.cookies.get(SESSION_COOKIE)
    user = session_user(token)
    if user is None:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(path if request.method == "GET" else "/",
                            "expired" if token else "required")
    return user


def check_csrf(request: Request, form: FormData) -> None:
    given = form.get("csrf_token")
    if not csrf_ok(settings_of(request).web_csrf_secret, request.cookies.get(SESSION_COOKIE),
                   given if isinstance(given, str) else None):
        raise CsrfRefused()


# A form field that is not a file (the orgsync batch travels base64 in one) may be this large.
MAX_FIELD_BYTES = 40 * 1024 * 1024


async def checked_form(request: Request) -> FormData:
    """The posted form, refused unless it carries this session's CSRF token."""
    form = await request.form(max_part_size=MAX_FIELD_BYTES)
    check_csrf(request, form)
    return form


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def upload(form: FormData, name: str) -> UploadFile | None:
    value = form.get(name)
    return value if isinstance(value, UploadFile) and value.filename else None


def flash(response: Response, message: str, kind: str = "ok") -> Response:
    """A message for the next page the browser shows (after a redirect)."""
    response.set_cookie(FLASH_COOKIE, quote(json.dumps({"kind": kind, "text": message})),
                        httponly=True, samesite="strict", path="/")
    return response


def redirect(url: str, message: str | None = None, kind: str = "ok") -> Response:
    response = RedirectResponse(url, status_code=303)
    return flash(response, message, kind) if message else response


def _pop_flash(request: Request) -> dict[str, str] | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    try:
        value = json.loads(unquote(raw))
    except ValueError:
        return None
    if not isinstance(value, dict) or value.get("kind") not in ("ok", "error"):
        return None
    return {"kind": str(value["kind"]), "text": str(value.get("text", ""))}


def render(request: Request, template: str, context: dict[str, Any] | None = None,
           status: int = 200, user: SessionUser | None = None) -> HTMLResponse:
    """A page: the template with the user, their navigation, the CSRF token and any flash."""
    if user is None:
        user = session_user(request.cookies.get(SESSION_COOKIE))
    ctx: dict[str, Any] = {
        "request": request, "user": user, "nav": nav_for(user.role) if user else (),
        "csrf": csrf_token(settings_of(request).web_csrf_secret, user.token) if user else "",
        "flash": _pop_flash(request), "path": request.url.path, "errors": {},
        "form_errors": [],
    }
    ctx.update(context or {})
    response = templates.TemplateResponse(request, template, ctx, status_code=status)
    if ctx["flash"] is not None:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def set_session(response: Response, request: Request, token: str, max_age: int) -> None:
    response.set_cookie(SESSION_COOKIE, token, max_age=max_age, httponly=True,
                        samesite="strict", secure=settings_of(request).web_cookie_secure,
                        path="/")


def clear_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")


class PageError(Exception):
    """A page that cannot be shown to this user (answered with error.html)."""

    def __init__(self, status: int, title: str, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message
        self.detail = detail


def school_of(user: SessionUser) -> str:
    """The school of a school account; other accounts have no school pages."""
    if not user.school_code:
        raise PageError(403, "无权访问",
                        "此页面仅供学校账号使用（无权操作：超出您的角色或所辖地区范围）")
    return user.school_code


async def read_upload(file: UploadFile) -> tuple[str, bytes, str]:
    content = await file.read()
    return (file.filename or "upload", content,
            file.content_type or "application/octet-stream")


def errors_of(exc: BackendError, names: frozenset[str]) -> FormErrors:
    """A refusal a form can show (422, 409) next to its fields; anything else goes on up to
    the app's error pages."""
    if isinstance(exc, Invalid | Conflicting):
        return map_problems(exc.problems, names, exc.message)
    raise exc


def download(found: Download) -> Response:
    """A backend's file passed on to the browser as it came."""
    headers = {"Content-Disposition": found.disposition} if found.disposition else {}
    return Response(found.content, media_type=found.media_type, headers=headers)
