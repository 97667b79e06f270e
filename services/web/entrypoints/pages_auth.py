"""Sign-in and sign-out: /login, /login/teacher, POST /logout, and `/` (home by role).

The token intake answers with goes into the HttpOnly, SameSite=Strict cookie `tmis_session`
and nowhere else (never into a URL or a page).
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from services.web.domain.forms import chinese_message
from services.web.domain.navigation import home_for
from services.web.domain.session import session_user
from services.web.entrypoints.support import (
    LOGIN_MESSAGES,
    SESSION_COOKIE,
    backends,
    check_csrf,
    clear_session,
    render,
    set_session,
)
from services.web.service_layer.errors import BackendError, Unavailable

router = APIRouter(include_in_schema=False)
# Sign-in forms are protected too (login CSRF: another site signing the browser in as someone
# else): the form carries a random value that must equal this SameSite=Strict cookie's.
PRE_SESSION_COOKIE = "tmis_signin"
SIGNIN_EXPIRED = "登录页面已过期，请重新输入后登录"


def _signin_ok(request: Request, given: str) -> bool:
    expected = request.cookies.get(PRE_SESSION_COOKIE, "")
    return bool(expected) and hmac.compare_digest(expected, given)


def safe_next(value: str | None) -> str:
    """Only a path of this site (never //host or a scheme): no open redirect."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


def _login_page(request: Request, *, teacher: bool, next_path: str, status: int = 200,
                notice: str | None = None, notice_kind: str = "error",
                values: dict[str, str] | None = None) -> Response:
    nonce = secrets.token_urlsafe(24)
    response = render(request, "login.html", {
        "title": "教师登录" if teacher else "登录", "teacher": teacher,
        "action": "/login/teacher" if teacher else "/login", "next": next_path,
        "notice": notice, "notice_kind": notice_kind, "values": values or {},
        "signin_token": nonce,
    }, status=status, user=None)
    response.set_cookie(PRE_SESSION_COOKIE, nonce, httponly=True, samesite="strict", path="/",
                        max_age=3600)
    return response


def _signed_in(request: Request, answer: dict[str, Any], next_path: str) -> Response:
    token = str(answer["token"])
    user = session_user(token)
    role = user.role if user else ""
    target = next_path if next_path != "/" else home_for(role)
    response = RedirectResponse(target, status_code=303)
    ttl = int(user.expires_at - time.time()) if user else 3600
    set_session(response, request, token, max(ttl, 60))
    response.delete_cookie(PRE_SESSION_COOKIE, path="/")
    return response


def _refusal(exc: BackendError) -> tuple[int, str]:
    if isinstance(exc, Unavailable):
        return 502, "登录服务暂不可用，请稍后再试"
    return exc.status, chinese_message(exc.message)


@router.get("/login")
async def login_form(request: Request, msg: str | None = None,
                     next: Annotated[str | None, Query()] = None) -> Response:
    notice = LOGIN_MESSAGES.get(msg or "")
    return _login_page(request, teacher=False, next_path=safe_next(next), notice=notice,
                       notice_kind="ok" if msg == "logout" else "error")


async def _sign_in(request: Request, *, teacher: bool, who: tuple[str, str], secret: str,
                   next_path: str, signin_token: str, missing: str,
                   call: Callable[[str, str, str | None], Awaitable[dict[str, Any]]]
                   ) -> Response:
    """Check the form's one-time value, then ask intake; the page again with why not."""
    name, value = who
    kept = {name: value}
    if not _signin_ok(request, signin_token):
        return _login_page(request, teacher=teacher, next_path=next_path, status=403,
                           notice=SIGNIN_EXPIRED, values=kept)
    if not value.strip() or not secret.strip():
        return _login_page(request, teacher=teacher, next_path=next_path, status=422,
                           notice=missing, values=kept)
    try:
        answer = await call(value.strip(), secret if not teacher else secret.strip(),
                            request.client.host if request.client else None)
    except BackendError as exc:
        status, message = _refusal(exc)
        return _login_page(request, teacher=teacher, next_path=next_path, status=status,
                           notice=message, values=kept)
    return _signed_in(request, answer, next_path)


@router.post("/login")
async def login(request: Request, username: Annotated[str, Form()] = "",
                password: Annotated[str, Form()] = "",
                next: Annotated[str, Form()] = "/",
                signin_token: Annotated[str, Form()] = "") -> Response:
    return await _sign_in(request, teacher=False, who=("username", username), secret=password,
                          next_path=safe_next(next), signin_token=signin_token,
                          missing="请输入用户名和密码", call=backends(request).intake.login)


@router.get("/login/teacher")
async def teacher_login_form(request: Request,
                             next: Annotated[str | None, Query()] = None) -> Response:
    return _login_page(request, teacher=True, next_path=safe_next(next))


@router.post("/login/teacher")
async def teacher_login(request: Request, id_number: Annotated[str, Form()] = "",
                        credential: Annotated[str, Form()] = "",
                        next: Annotated[str, Form()] = "/",
                        signin_token: Annotated[str, Form()] = "") -> Response:
    return await _sign_in(request, teacher=True, who=("id_number", id_number),
                          secret=credential, next_path=safe_next(next),
                          signin_token=signin_token, missing="请输入身份证号和登录凭证",
                          call=backends(request).intake.teacher_login)


@router.post("/logout")
async def logout(request: Request) -> Response:
    # A logout form from another site cannot carry the token; without a session there is
    # nothing to protect, so only a signed-in logout is checked.
    if request.cookies.get(SESSION_COOKIE):
        check_csrf(request, await request.form())
    response = RedirectResponse("/login?msg=logout", status_code=303)
    clear_session(response)
    return response


@router.get("/")
async def home(request: Request) -> Response:
    user = session_user(request.cookies.get(SESSION_COOKIE))
    if user is None:
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse(home_for(user.role), status_code=303)
