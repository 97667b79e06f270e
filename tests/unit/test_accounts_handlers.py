"""The account handlers over the in-memory store: bootstrap, handover in one step, the
teacher's own record, confirmations and flags."""

from __future__ import annotations

import random
from datetime import date
from uuid import uuid4

import pytest

from services.intake.domain.accounts import Kind, Level
from services.intake.service_layer import accounts, self_service
from services.intake.service_layer.accounts import CreateAccount
from shared.contracts.events_accounts import (
    AccountCreated,
    AdministratorHandedOver,
    TeacherFieldFlagged,
    TeacherRecordConfirmed,
)
from shared.domain.idnumber import synthetic_id_number
from shared.errors import ConcurrencyConflict, Forbidden, ValidationProblem
from tests.unit.test_accounts_support import FakeAccountStore, as_principal, deps, principal

SERVICE = principal("service")


async def test_the_first_account_is_bootstrapped_once_and_only_as_the_province_sysadmin(
        ) -> None:
    store = FakeAccountStore()
    with pytest.raises(ValidationProblem):
        await accounts.create_account(store, deps(), SERVICE,
                                      CreateAccount(Kind.INFO, Level.PROVINCE, None, "first.one"))
    first = await accounts.create_account(
        store, deps(), SERVICE, CreateAccount(Kind.SYSTEM, Level.PROVINCE, None, "root.admin"))
    assert first.account.role == "province_sysadmin" and first.password is not None
    assert store.hashes[first.account.account_id] == f"fake${first.password}"
    with pytest.raises(Forbidden, match="accounts exist"):
        await accounts.create_account(
            store, deps(), SERVICE, CreateAccount(Kind.SYSTEM, Level.PROVINCE, None, "again"))


async def test_no_event_carries_the_password_or_its_hash() -> None:
    store = FakeAccountStore()
    created = await accounts.create_account(
        store, deps(), SERVICE,
        CreateAccount(Kind.SYSTEM, Level.PROVINCE, None, "root.admin",
                      password="Sekret-Passw0rd"))
    [event] = store.events_of(created.account.account_id)
    assert isinstance(event, AccountCreated)
    assert "Sekret" not in event.model_dump_json() and "fake$" not in event.model_dump_json()


async def test_a_short_or_all_digit_password_is_refused() -> None:
    store = FakeAccountStore()
    for bad in ("short1", "12345678901234"):
        with pytest.raises(ValidationProblem):
            await accounts.create_account(
                store, deps(), SERVICE,
                CreateAccount(Kind.SYSTEM, Level.PROVINCE, None, "root.admin", password=bad))


async def test_a_handover_leaves_exactly_one_holder_of_the_role_at_every_moment() -> None:
    store = FakeAccountStore()
    store.add_school("S1")
    county = principal("county_sysadmin", county_code="620102", city_code="620100")
    old = (await accounts.create_account(
        store, deps(), county, CreateAccount(Kind.INFO, Level.SCHOOL, "S1", "old.admin"))).account
    result = await accounts.handover(store, deps(), county, old.account_id, successor_id=None,
                                     username="new.admin")
    assert not result.predecessor.active and result.successor.active
    assert result.successor.role == old.role == "school_admin"
    assert result.successor.unit == old.unit
    holders = await store.list_accounts(old.unit, level=Level.SCHOOL, kind=Kind.INFO,
                                        active=True, limit=10, offset=0)
    assert [h.username for h in holders] == ["new.admin"]
    [handed] = store.events_of(old.account_id)[-1:]
    assert isinstance(handed, AdministratorHandedOver)
    assert handed.successor_account_id == result.successor.account_id


async def test_a_handover_that_loses_a_race_changes_nothing() -> None:
    store = FakeAccountStore()
    store.add_school("S1")
    county = principal("county_sysadmin", county_code="620102")
    old = (await accounts.create_account(
        store, deps(), county, CreateAccount(Kind.INFO, Level.SCHOOL, "S1", "old.admin"))).account
    store.fail_next_append = True
    with pytest.raises(ConcurrencyConflict):
        await accounts.handover(store, deps(), county, old.account_id, successor_id=None,
                                username="new.admin")
    assert store.accounts[old.account_id].active
    assert await store.account_by_username("new.admin") is None


async def test_an_administrator_hands_over_their_own_role_but_cannot_disable_themselves(
        ) -> None:
    store = FakeAccountStore()
    store.add_school("S1")
    county = principal("county_sysadmin", county_code="620102")
    me = (await accounts.create_account(
        store, deps(), county, CreateAccount(Kind.SYSTEM, Level.SCHOOL, "S1", "me.sys"))).account
    with pytest.raises(Forbidden):
        await accounts.disable_account(store, as_principal(me), me.account_id)
    result = await accounts.handover(store, deps(), as_principal(me), me.account_id,
                                     successor_id=None, username="next.sys")
    assert result.successor.role == "school_sysadmin" and not result.predecessor.active


async def test_a_teacher_reads_only_their_own_record_and_confirms_and_flags_it() -> None:
    store = FakeAccountStore()
    store.add_school("S1")
    rng = random.Random(3)
    mine = store.add_teacher(str(uuid4()), "S1", synthetic_id_number(
        rng, "620102", date(1980, 5, 6), "male"))
    store.add_teacher(str(uuid4()), "S1", synthetic_id_number(rng, "620102", date(1981, 5, 6),
                                                               "male"))
    school = principal("school_admin", school_code="S1")
    issued = await self_service.issue_credential(store, deps(), school, mine.teacher_id)
    me = as_principal(issued.account)
    record = await self_service.own_record(store, me)
    assert record.teacher.teacher_id == mine.teacher_id
    assert await self_service.confirm(store, me, mine.version) is True
    assert await self_service.confirm(store, me, mine.version) is False
    with pytest.raises(ConcurrencyConflict):
        await self_service.confirm(store, me, mine.version + 1)
    number = store.identity_rows[mine.teacher_id].id_number
    flag = await self_service.flag_field(store, deps(), me, "id_number",
                                         f"应为 {number[:-1]}0")
    events = store.events_of(issued.account.account_id)
    assert isinstance(events[-2], TeacherRecordConfirmed)
    assert isinstance(events[-1], TeacherFieldFlagged) and number[6:14] not in events[-1].comment
    assert [f.flag_id for f in await self_service.school_flags(
        store, school, "S1", open_only=True, limit=10)] == [flag.flag_id]


async def test_only_the_teachers_own_school_issues_the_credential() -> None:
    store = FakeAccountStore()
    store.add_school("S1")
    store.add_school("S2")
    teacher = store.add_teacher(str(uuid4()), "S1", synthetic_id_number(
        random.Random(5), "620102", date(1980, 5, 6), "male"))
    for who in (principal("school_admin", school_code="S2"),
                principal("county_admin", county_code="620102"),
                principal("query", school_code="S1")):
        with pytest.raises(Forbidden):
            await self_service.issue_credential(store, deps(), who, teacher.teacher_id)


async def test_a_non_teacher_token_gets_no_own_record() -> None:
    with pytest.raises(Forbidden):
        await self_service.own_record(FakeAccountStore(),
                                      principal("school_admin", school_code="S1"))
