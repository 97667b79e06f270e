"""The token gate in shared.auth: account tokens are checked on every request, tokens without
an account are for dev and test (and service calls), teachers are kept to their own routes;
and what system administrators and teachers may do with the data."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from starlette.requests import Request

from shared.auth import (
    AccountDisabled,
    Region,
    Role,
    Unauthenticated,
    authenticated,
    current_principal,
    decode_token,
    mint_token,
)
from shared.errors import Forbidden
from shared.settings import Settings

SECRET = "unit-test-secret-unit-test-secret-1234"
TEST = Settings(jwt_secret=SECRET, env="test")
PRODUCTION = Settings(jwt_secret=SECRET, env="production")


class FakeGate:
    def __init__(self, active: dict[str, int]) -> None:
        self.active = active  # account id -> current generation
        self.asked: list[tuple[str, int]] = []

    async def is_active(self, account_id: str, version: int) -> bool:
        self.asked.append((account_id, version))
        return self.active.get(account_id) == version


def request(token: str, settings: Settings, gate: Any = None) -> Request:
    extras = {"account_gate": gate} if gate is not None else {}
    app = SimpleNamespace(state=SimpleNamespace(runtime=SimpleNamespace(settings=settings,
                                                                         extras=extras)))
    return Request({"type": "http", "app": app, "method": "GET", "query_string": b"",
                    "headers": [(b"authorization", f"Bearer {token}".encode())]})


async def test_an_account_token_is_accepted_while_its_account_is_active_at_its_generation(
        ) -> None:
    gate = FakeGate({"acc-1": 2})
    token = mint_token(TEST, Role.COUNTY_ADMIN, county_code="620102", account_id="acc-1",
                       account_version=2)
    who = await authenticated(request(token, TEST, gate))
    assert (who.account_id, who.account_version) == ("acc-1", 2) and gate.asked == [("acc-1", 2)]
    gate.active["acc-1"] = 3  # disabled, or a new password: a new generation
    with pytest.raises(AccountDisabled):
        await authenticated(request(token, TEST, gate))


async def test_tokens_without_an_account_are_for_dev_and_test_and_for_services_only() -> None:
    dev = mint_token(PRODUCTION, Role.PROVINCE_ADMIN)
    assert (await authenticated(request(dev, TEST, FakeGate({})))).role is Role.PROVINCE_ADMIN
    with pytest.raises(Unauthenticated, match="names no account"):
        await authenticated(request(dev, PRODUCTION, FakeGate({})))
    machine = mint_token(PRODUCTION, Role.SERVICE)
    assert (await authenticated(request(machine, PRODUCTION, FakeGate({})))).role is Role.SERVICE


async def test_in_production_a_service_without_a_gate_refuses_account_tokens() -> None:
    token = mint_token(PRODUCTION, Role.QUERY, account_id="acc-9", account_version=1)
    with pytest.raises(Unauthenticated):
        await authenticated(request(token, PRODUCTION))


async def test_a_teacher_token_passes_only_where_teachers_are_allowed() -> None:
    gate = FakeGate({"t-1": 1})
    token = mint_token(TEST, Role.TEACHER, teacher_id="teacher-uuid", account_id="t-1",
                       account_version=1)
    who = await authenticated(request(token, TEST, gate))
    assert who.teacher_id == "teacher-uuid" and not who.can_write
    with pytest.raises(Forbidden):
        await current_principal(request(token, TEST, gate))


def test_system_administrators_read_their_region_but_write_no_data() -> None:
    who = decode_token(TEST, mint_token(TEST, Role.COUNTY_SYSADMIN, county_code="620102"))
    inside = Region(school_code="S", county_code="620102", city_code="620100")
    who.require(inside)
    with pytest.raises(Forbidden, match="read-only on the data"):
        who.require(inside, write=True)
    province = decode_token(TEST, mint_token(TEST, Role.PROVINCE_SYSADMIN))
    assert province.province_wide and not province.can_write


def test_a_teacher_covers_no_region_not_even_its_school() -> None:
    who = decode_token(TEST, mint_token(TEST, Role.TEACHER, teacher_id="x", school_code="S"))
    assert not who.covers(Region(school_code="S"))
