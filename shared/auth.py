"""Who may do what: bearer-token principals with a role and a region.

Roles follow the national system's levels: a school administrator acts for one school; county,
city and province administrators act for their region and everything below it; a query account
reads its region only; a service account is another TMIS program (the simulator, the agencies'
bridges) and acts province-wide. Tokens are HS256 JWTs signed with TMIS_JWT_SECRET.

    school_admin   region = one school (its county and city ride along for checks)
    county_admin   region = one county
    city_admin     region = one city
    province_admin region = the province
    query          region = any level; read-only
    service        the province; machine callers

System administrators (系统管理员) manage accounts (intake's /v1/accounts): their own level's
and the level directly below inside their region. On the data they are read-only, like a query
account of the same region. A teacher (教师) reads and confirms only their own record, through
intake's /v1/me routes: every other route refuses a teacher token (403).

    school_sysadmin / county_sysadmin / city_sysadmin / province_sysadmin
    teacher        claim `teacher` = the teacher_id; no region

Tokens issued at sign-in (intake's POST /v1/auth/login) carry the account id (`acct`) and the
account's sign-in generation (`av`). `current_principal` asks the service's account gate
(`runtime.extras["account_gate"]`, see shared/accounts.py) whether that account is still active
at that generation, on every request: a disabled account is refused at its next request. Tokens
without `acct` (dev `tmis token`, tests, service-to-service calls) are accepted in dev and test;
in production only the `service` role may go without an account.

Where the token comes from: `Authorization: Bearer <jwt>`, or, for a page or a download a
browser asks for (GET and HEAD only), the web front's session cookie `tmis_session` (HttpOnly,
SameSite=Strict, set by services/web at sign-in; a browser sends it to every service on the same
host). Requests that change anything need the header, so no other page can make a browser act
with its cookie. Never from the URL: a `?token=` (or `access_token=`) lands in logs and browser
history, and is refused (400) whatever the route.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Protocol
from uuid import uuid4

import jwt
from fastapi import Depends, Request

from shared.errors import Forbidden, TmisError
from shared.settings import Settings, load_settings


class Role(StrEnum):
    SCHOOL_ADMIN = "school_admin"
    COUNTY_ADMIN = "county_admin"
    CITY_ADMIN = "city_admin"
    PROVINCE_ADMIN = "province_admin"
    QUERY = "query"
    SERVICE = "service"
    SCHOOL_SYSADMIN = "school_sysadmin"
    COUNTY_SYSADMIN = "county_sysadmin"
    CITY_SYSADMIN = "city_sysadmin"
    PROVINCE_SYSADMIN = "province_sysadmin"
    TEACHER = "teacher"


SYSADMIN_ROLES = frozenset({Role.SCHOOL_SYSADMIN, Role.COUNTY_SYSADMIN, Role.CITY_SYSADMIN,
                            Role.PROVINCE_SYSADMIN})
# Roles that never change data: they read their region (a teacher reads nothing here).
READ_ONLY_ROLES = SYSADMIN_ROLES | {Role.QUERY, Role.TEACHER}


class Unauthenticated(TmisError):
    status_code = 401
    code = "unauthenticated"


class TokenInUrl(TmisError):
    """A token in the query string: refused, so that nobody learns to put one there."""

    status_code = 400
    code = "token_in_url"


class AccountDisabled(Unauthenticated):
    """The token names an account that is disabled, or that signed in anew since (a new
    password, a handover): the holder signs in again, or asks their manager."""

    code = "account_disabled"


class AccountGate(Protocol):
    """Is this account still active at this sign-in generation? (shared/accounts.py)"""

    async def is_active(self, account_id: str, version: int) -> bool: ...


@dataclass(frozen=True)
class Region:
    """Where a school sits; what a principal's rights are measured against."""

    school_code: str | None = None
    county_code: str | None = None
    city_code: str | None = None
    # A school's reporting line (ReportingLine: county, city, province, university): whose
    # bureau reviews its records after the school (县属: the county; 市属: the city; 厅直属 and
    # universities: the province). Not part of what a principal covers.
    reporting_line: str = "county"


@dataclass(frozen=True)
class Principal:
    subject: str
    role: Role
    school_code: str | None = None
    county_code: str | None = None
    city_code: str | None = None
    account_id: str | None = None
    account_version: int | None = None
    teacher_id: str | None = None

    @property
    def can_write(self) -> bool:
        return self.role not in READ_ONLY_ROLES

    @property
    def province_wide(self) -> bool:
        return self.role in (Role.PROVINCE_ADMIN, Role.SERVICE, Role.PROVINCE_SYSADMIN) or (
            self.role is Role.QUERY and not (self.school_code or self.county_code
                                             or self.city_code))

    @property
    def is_sysadmin(self) -> bool:
        return self.role in SYSADMIN_ROLES

    def covers(self, region: Region) -> bool:
        """Is `region` (a school, a county or a city) inside this principal's region?"""
        if self.role is Role.TEACHER:
            return False  # a teacher's only region is their own record (/v1/me)
        if self.province_wide:
            return True
        if self.school_code:
            return region.school_code == self.school_code
        if self.county_code:
            return region.county_code == self.county_code
        if self.city_code:
            return region.city_code == self.city_code
        return False

    def require(self, region: Region, *, write: bool = False) -> None:
        if write and not self.can_write:
            if self.is_sysadmin:
                raise Forbidden(f"{self.role} accounts manage accounts and are read-only on "
                                "the data (系统管理员不录入、不审核数据)")
            raise Forbidden(f"{self.role} accounts are read-only")
        if not self.covers(region):
            raise Forbidden(f"{self.role} {self._where()} may not act on {_describe(region)}")

    def _where(self) -> str:
        return (f"of school {self.school_code}" if self.school_code else
                f"of county {self.county_code}" if self.county_code else
                f"of city {self.city_code}" if self.city_code else "of the province")


def _describe(region: Region) -> str:
    if region.school_code:
        return f"school {region.school_code}"
    if region.county_code:
        return f"county {region.county_code}"
    if region.city_code:
        return f"city {region.city_code}"
    return "the province"


def mint_token(settings: Settings, role: Role | str, *, subject: str | None = None,
               school_code: str | None = None, county_code: str | None = None,
               city_code: str | None = None, ttl_seconds: int | None = None,
               account_id: str | None = None, account_version: int | None = None,
               teacher_id: str | None = None, display_name: str | None = None) -> str:
    """A signed token; `display_name` (claim "name") is for pages to greet the user and is
    never used to decide anything."""
    role = Role(role)
    _check_shape(role, school_code, county_code, city_code)
    if role is Role.TEACHER and not teacher_id:
        raise ValueError("a teacher token needs a teacher id")
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": subject or f"{role}:{school_code or county_code or city_code or 'province'}",
        "role": role.value, "iat": now, "exp": now + (ttl_seconds or settings.jwt_ttl_seconds),
        "jti": str(uuid4()),
    }
    for k, v in (("school", school_code), ("county", county_code), ("city", city_code),
                 ("acct", account_id), ("teacher", teacher_id), ("name", display_name)):
        if v:
            claims[k] = v
    if account_id:
        claims["av"] = int(account_version or 1)
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")


def _check_shape(role: Role, school: str | None, county: str | None, city: str | None) -> None:
    need = {Role.SCHOOL_ADMIN: "school", Role.COUNTY_ADMIN: "county", Role.CITY_ADMIN: "city",
            Role.SCHOOL_SYSADMIN: "school", Role.COUNTY_SYSADMIN: "county",
            Role.CITY_SYSADMIN: "city"}
    given = {"school": school, "county": county, "city": city}
    if role in need and not given[need[role]]:
        raise ValueError(f"a {role} token needs a {need[role]} code")


_VERIFIED: dict[tuple[str, str], tuple[dict[str, Any], float]] = {}
_VERIFIED_MAX = 4096
_VERIFIED_SECONDS = 60.0


def _verified_claims(secret: str, token: str) -> dict[str, Any]:
    """The claims of a token whose signature checked out, from a small cache: a client sends
    the same token with every request, and verifying it anew was a tenth of intake's CPU per
    submission (py-spy, bench/intake_submissions.py). An entry is kept for at most a minute
    and never past the token's `exp`, which is checked again on every use."""
    now = time.time()
    hit = _VERIFIED.get((secret, token))
    if hit is not None and hit[1] > now:
        return hit[0]
    claims: dict[str, Any] = jwt.decode(token, secret, algorithms=["HS256"],
                                        options={"require": ["exp"]})
    exp = claims.get("exp")
    until = now + _VERIFIED_SECONDS
    if isinstance(exp, int | float):
        until = min(until, float(exp))
    if len(_VERIFIED) >= _VERIFIED_MAX:
        _VERIFIED.clear()
    _VERIFIED[(secret, token)] = (claims, until)
    return claims


def decode_token(settings: Settings, token: str) -> Principal:
    try:
        claims = _verified_claims(settings.jwt_secret, token)
        role = Role(claims["role"])
        version = claims.get("av")
        account_version = int(version) if version is not None else None
    except jwt.MissingRequiredClaimError:
        raise Unauthenticated("invalid token: it has no expiry (exp); every token must "
                              "expire") from None
    except (jwt.PyJWTError, KeyError, ValueError, TypeError) as exc:
        raise Unauthenticated(f"invalid token: {exc}") from None
    if role is Role.TEACHER and not claims.get("teacher"):
        raise Unauthenticated("invalid token: a teacher token without a teacher id")
    return Principal(subject=str(claims.get("sub", "")), role=role,
                     school_code=claims.get("school"), county_code=claims.get("county"),
                     city_code=claims.get("city"), account_id=claims.get("acct"),
                     account_version=account_version, teacher_id=claims.get("teacher"))


def _settings_of(request: Request) -> Settings:
    runtime = getattr(request.app.state, "runtime", None)
    return runtime.settings if runtime is not None else load_settings()


def _gate_of(request: Request) -> AccountGate | None:
    runtime = getattr(request.app.state, "runtime", None)
    gate: AccountGate | None = (runtime.extras.get("account_gate") if runtime is not None
                                else None)
    return gate


SESSION_COOKIE = "tmis_session"  # the web front's session (services/web/entrypoints/support)
URL_TOKEN_PARAMS = ("token", "access_token")
COOKIE_METHODS = frozenset({"GET", "HEAD"})


def token_of(request: Request) -> str:
    """The request's token: the bearer header, else (GET/HEAD) the session cookie.
    TokenInUrl for a token in the query string, Unauthenticated without one."""
    if any(name in request.query_params for name in URL_TOKEN_PARAMS):
        raise TokenInUrl("tokens are not accepted in URLs (?token=): sign in on the web front "
                         "(/login), or send Authorization: Bearer <token> "
                         "(请登录后访问，网址中不能携带令牌)")
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("malformed Authorization header (Authorization: Bearer "
                                  "<token>)")
        return token.strip()
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie and request.method in COOKIE_METHODS:
        return cookie
    raise Unauthenticated("missing bearer token (Authorization: Bearer <token>) or session: "
                          "sign in (请登录)")


async def authenticated(request: Request) -> Principal:
    """The caller, from the bearer header or the session cookie (`token_of`), whatever its
    role (teachers included); 401 without a token, with an invalid one, or for a disabled
    account; 400 for a token in the URL."""
    settings = _settings_of(request)
    principal = decode_token(settings, token_of(request))
    if principal.account_id is None:
        if settings.env == "production" and principal.role is not Role.SERVICE:
            raise Unauthenticated("this token names no account; in production sign in "
                                  "(POST /v1/auth/login) for a token (请登录)")
        return principal
    gate = _gate_of(request)
    if gate is None:
        if settings.env == "production":
            raise Unauthenticated("this service cannot check accounts (no account gate)")
        return principal
    if not await gate.is_active(principal.account_id, principal.account_version or 0):
        raise AccountDisabled("account disabled, or signed in anew since this token was issued "
                              "(账号已停用或登录已失效，请重新登录)")
    return principal


async def current_principal(request: Request) -> Principal:
    """FastAPI dependency: the caller (`authenticated`); 401 without a token.
    Teacher tokens are refused here (403): they are good on the self-service routes only."""
    principal = await authenticated(request)
    if principal.role is Role.TEACHER:
        raise Forbidden("teacher accounts see only their own record: GET /v1/me/record "
                        "(教师账号只能查看本人信息)")
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
AnyPrincipal = Annotated[Principal, Depends(authenticated)]
"""Every signed-in caller, teachers too (intake's /v1/me routes)."""
