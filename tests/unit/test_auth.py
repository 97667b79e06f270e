"""Principals and regions: who may act where."""

from __future__ import annotations

import sys

import jwt
import pytest
from starlette.requests import Request

from services.reporting.bootstrap import SPEC
from shared.auth import (
    SESSION_COOKIE,
    Region,
    Role,
    TokenInUrl,
    Unauthenticated,
    decode_token,
    mint_token,
    token_of,
)
from shared.errors import Forbidden
from shared.runtime import serve
from shared.settings import Settings

SETTINGS = Settings(jwt_secret="unit-test-secret-unit-test-secret-1234")
SCHOOL = Region(school_code="6201020001", county_code="620102", city_code="620100")
OTHER_COUNTY = Region(school_code="6201030001", county_code="620103", city_code="620100")
OTHER_CITY = Region(school_code="6202010001", county_code="620201", city_code="620200")


def principal(role: str, **region: str):
    return decode_token(SETTINGS, mint_token(SETTINGS, role, **region))


@pytest.mark.parametrize("who, inside, outside", [
    (principal("school_admin", school_code="6201020001"), [SCHOOL], [OTHER_COUNTY]),
    (principal("county_admin", county_code="620102"), [SCHOOL], [OTHER_COUNTY, OTHER_CITY]),
    (principal("city_admin", city_code="620100"), [SCHOOL, OTHER_COUNTY], [OTHER_CITY]),
    (principal("province_admin"), [SCHOOL, OTHER_COUNTY, OTHER_CITY], []),
])
def test_a_principal_covers_its_region_and_everything_below_and_nothing_else(who, inside,
                                                                             outside):
    assert all(who.covers(r) for r in inside)
    assert not any(who.covers(r) for r in outside)


def test_acting_outside_the_region_is_forbidden_with_a_reason():
    who = principal("county_admin", county_code="620102")
    with pytest.raises(Forbidden, match="county 620102 may not act on school 6201030001"):
        who.require(OTHER_COUNTY, write=True)


def test_a_query_account_reads_but_may_not_write():
    who = principal("query", county_code="620102")
    who.require(SCHOOL)
    with pytest.raises(Forbidden, match="read-only"):
        who.require(SCHOOL, write=True)


def test_a_token_signed_with_another_key_is_refused():
    other = Settings(jwt_secret="another-secret-another-secret-123456")
    with pytest.raises(Unauthenticated):
        decode_token(SETTINGS, mint_token(other, Role.PROVINCE_ADMIN))


def test_a_school_admin_token_without_a_school_cannot_be_minted():
    with pytest.raises(ValueError, match="needs a school code"):
        mint_token(SETTINGS, Role.SCHOOL_ADMIN)


def test_production_refuses_the_default_signing_key():
    with pytest.raises(ValueError, match="TMIS_JWT_SECRET"):
        Settings(env="production")


def test_a_token_without_an_expiry_is_refused_with_the_reason():
    forever = jwt.encode({"sub": "x", "role": "province_admin"}, SETTINGS.jwt_secret,
                         algorithm="HS256")
    with pytest.raises(Unauthenticated, match="no expiry"):
        decode_token(SETTINGS, forever)


def test_production_refuses_a_signing_key_shorter_than_32_bytes():
    with pytest.raises(ValueError, match="at least 32 bytes"):
        Settings(env="production", jwt_secret="k")
    assert Settings(env="production", jwt_secret="k" * 32).jwt_secret == "k" * 32
    assert Settings(env="dev", jwt_secret="k").env == "dev"  # a local stack may use any key


def test_a_service_with_a_short_production_key_refuses_to_start_with_the_reason(monkeypatch):
    monkeypatch.setenv("TMIS_ENV", "production")
    monkeypatch.setenv("TMIS_JWT_SECRET", "short")
    monkeypatch.setattr(sys, "argv", ["services.reporting", "http"])
    with pytest.raises(SystemExit) as stopped:
        serve(SPEC)
    assert "reporting refuses to start" in str(stopped.value)
    assert "at least 32 bytes" in str(stopped.value)


def a_request(method: str = "GET", query: str = "", **headers: str) -> Request:
    return Request({"type": "http", "method": method, "path": "/", "query_string": query.encode(),
                    "headers": [(k.replace("_", "-").encode(), v.encode())
                                for k, v in headers.items()]})


@pytest.mark.parametrize("query", ["token=abc", "as_of=2017-04-07&token=abc", "access_token=x"])
def test_a_token_in_the_url_is_refused_with_a_400_that_says_to_sign_in(query):
    with pytest.raises(TokenInUrl, match="sign in") as refused:
        token_of(a_request(query=query, authorization="Bearer good"))
    assert refused.value.status_code == 400


def test_the_bearer_header_comes_first_and_the_session_cookie_serves_a_browsers_get():
    assert token_of(a_request(authorization="Bearer from-header",
                              cookie=f"{SESSION_COOKIE}=from-cookie")) == "from-header"
    assert token_of(a_request(cookie=f"{SESSION_COOKIE}=from-cookie")) == "from-cookie"
    assert token_of(a_request("HEAD", cookie=f"{SESSION_COOKIE}=from-cookie")) == "from-cookie"


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_a_request_that_changes_something_is_not_authenticated_by_the_cookie(method):
    with pytest.raises(Unauthenticated, match="sign in"):
        token_of(a_request(method, cookie=f"{SESSION_COOKIE}=from-cookie"))


def test_a_malformed_authorization_header_is_refused_rather_than_falling_back_to_the_cookie():
    with pytest.raises(Unauthenticated, match="malformed"):
        token_of(a_request(authorization="Basic dXNlcjpwdw==",
                           cookie=f"{SESSION_COOKIE}=from-cookie"))
