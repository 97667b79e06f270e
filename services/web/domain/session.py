"""Who the session cookie says the user is, and the CSRF token that goes with it.

The token is the backends' own JWT. The web front reads its claims *without* verifying the
signature: it uses them only to choose the navigation and to prefill forms, never to allow
anything; every call goes to a backend with the token, and the backend verifies it and
enforces role and region. An expired token is treated as no session at all.

CSRF: double submit. Every state-changing form carries HMAC-SHA256(key, session token); a POST
is accepted only with the token that matches its own session cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import Any

import jwt

ROLE_LABELS = {
    "school_admin": "学校信息管理员", "county_admin": "县区信息管理员",
    "city_admin": "市州信息管理员", "province_admin": "省级信息管理员", "query": "查询账号",
    "school_sysadmin": "学校系统管理员", "county_sysadmin": "县区系统管理员",
    "city_sysadmin": "市州系统管理员", "province_sysadmin": "省级系统管理员",
    "teacher": "教师", "service": "服务账号",
}


@dataclass(frozen=True)
class SessionUser:
    token: str
    subject: str
    role: str
    school_code: str | None = None
    county_code: str | None = None
    city_code: str | None = None
    teacher_id: str | None = None
    expires_at: float = 0.0
    name: str | None = None  # the account's display name (claim "name"), when it has one

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)

    @property
    def display_name(self) -> str:
        if self.name:
            return self.name
        if self.role == "teacher":
            return "教师"
        return self.subject

    @property
    def region_code(self) -> str | None:
        return self.school_code or self.county_code or self.city_code


def _claims(token: str) -> dict[str, Any] | None:
    """The token's claims, read by PyJWT without verifying the signature (see above)."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    return claims if isinstance(claims, dict) else None


def session_user(token: str | None, now: float | None = None) -> SessionUser | None:
    """The user of a session token, or None when there is none, it is malformed or expired."""
    if not token:
        return None
    claims = _claims(token)
    if claims is None or not isinstance(claims.get("role"), str):
        return None
    try:
        expires = float(claims.get("exp", 0))
    except (TypeError, ValueError):
        return None
    if expires <= (time.time() if now is None else now):
        return None

    def text(key: str) -> str | None:
        value = claims.get(key)
        return str(value) if value else None

    return SessionUser(token=token, subject=str(claims.get("sub", "")), role=claims["role"],
                       school_code=text("school"), county_code=text("county"),
                       city_code=text("city"), teacher_id=text("teacher"),
                       expires_at=expires, name=text("name"))


def csrf_token(key: str, session_token: str) -> str:
    return hmac.new(key.encode(), session_token.encode(), hashlib.sha256).hexdigest()


def csrf_ok(key: str, session_token: str | None, given: str | None) -> bool:
    if not session_token or not given:
        return False
    return hmac.compare_digest(csrf_token(key, session_token), given)
