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
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any
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


class Unauthenticated(TmisError):
    status_code = 401
    code = "unauthenticated"


@dataclass(frozen=True)
class Region:
    """Where a school sits; what a principal's rights are measured against."""

    school_code: str | None = None
    county_code: str | None = None
    city_code: str | None = None


@dataclass(frozen=True)
class Principal:
    subject: str
    role: Role
    school_code: str | None = None
    county_code: str | None = None
    city_code: str | None = None

    @property
    def can_write(self) -> bool:
        return self.role is not Role.QUERY

    @property
    def province_wide(self) -> bool:
        return self.role in (Role.PROVINCE_ADMIN, Role.SERVICE) or (
            self.role is Role.QUERY and not (self.school_code or self.county_code
                                             or self.city_code))

    def covers(self, region: Region) -> bool:
        """Is `region` (a school, a county or a city) inside this principal's region?"""
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
               city_code: str | None = None, ttl_seconds: int | None = None) -> str:
    role = Role(role)
    _check_shape(role, school_code, county_code, city_code)
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": subject or f"{role}:{school_code or county_code or city_code or 'province'}",
        "role": role.value, "iat": now, "exp": now + (ttl_seconds or settings.jwt_ttl_seconds),
        "jti": str(uuid4()),
    }
    for k, v in (("school", school_code), ("county", county_code), ("city", city_code)):
        if v:
            claims[k] = v
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")


def _check_shape(role: Role, school: str | None, county: str | None, city: str | None) -> None:
    need = {Role.SCHOOL_ADMIN: "school", Role.COUNTY_ADMIN: "county", Role.CITY_ADMIN: "city"}
    given = {"school": school, "county": county, "city": city}
    if role in need and not given[need[role]]:
        raise ValueError(f"a {role} token needs a {need[role]} code")


def decode_token(settings: Settings, token: str) -> Principal:
    try:
        claims = jwt.decode(token, settings.jwt_secret, algorithms=["HS256"])
        role = Role(claims["role"])
    except (jwt.PyJWTError, KeyError, ValueError) as exc:
        raise Unauthenticated(f"invalid token: {exc}") from None
    return Principal(subject=str(claims.get("sub", "")), role=role,
                     school_code=claims.get("school"), county_code=claims.get("county"),
                     city_code=claims.get("city"))


def _settings_of(request: Request) -> Settings:
    runtime = getattr(request.app.state, "runtime", None)
    return runtime.settings if runtime is not None else load_settings()


async def current_principal(request: Request) -> Principal:
    """FastAPI dependency: the caller, from `Authorization: Bearer <jwt>`; 401 without one."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("missing bearer token (Authorization: Bearer <token>)")
    return decode_token(_settings_of(request), token.strip())


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
