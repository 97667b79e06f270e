"""Accounts' rules without I/O: who manages whom, handovers, sign-in generations, the gate's
reading of account events, and the masking of ID-number-like text in teachers' comments."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from services.intake.domain import accounts as domain
from services.intake.domain.accounts import (
    Account,
    Kind,
    Level,
    Manager,
    NewSuccessor,
    Unit,
    manages,
    role_for,
)
from services.intake.domain.self_service import mask_id_like
from shared.accounts import status_change
from shared.contracts.events_accounts import (
    AccountCreated,
    AccountDisabled,
    AccountPasswordReset,
    AccountRoleGranted,
    AdministratorHandedOver,
    SignInLocked,
)
from shared.errors import Conflict, Forbidden, ValidationProblem

PROVINCE = Unit(Level.PROVINCE)
LANZHOU = Unit(Level.CITY, city_code="620100")
TIANSHUI = Unit(Level.CITY, city_code="620500")
CHENGGUAN = Unit(Level.COUNTY, county_code="620102", city_code="620100")
QILIHE = Unit(Level.COUNTY, county_code="620103", city_code="620100")
QINZHOU = Unit(Level.COUNTY, county_code="620502", city_code="620500")
SCHOOL_A = Unit(Level.SCHOOL, school_code="A1", county_code="620102", city_code="620100")
SCHOOL_B = Unit(Level.SCHOOL, school_code="B1", county_code="620103", city_code="620100")
SCHOOL_C = Unit(Level.SCHOOL, school_code="C1", county_code="620502", city_code="620500")
UNITS = {"province": PROVINCE, "lanzhou": LANZHOU, "tianshui": TIANSHUI,
         "chengguan": CHENGGUAN, "qilihe": QILIHE, "qinzhou": QINZHOU, "school_a": SCHOOL_A,
         "school_b": SCHOOL_B, "school_c": SCHOOL_C}


def sysadmin(unit: Unit, account_id: str | None = None) -> Manager:
    return Manager(role_for(Kind.SYSTEM, unit.level), unit, account_id)


def an_account(unit: Unit, kind: Kind = Kind.INFO, *, active: bool = True,
               token_version: int = 1, version: int = 1) -> Account:
    return Account(account_id=str(uuid4()), username=f"u{uuid4().hex[:8]}", kind=kind,
                   unit=unit, active=active, token_version=token_version, version=version)


# Each system administrator, and the units whose accounts it manages: its own, and the units
# directly below it inside its region. Everything else in UNITS is refused.
MANAGED = {
    "province": {"province", "lanzhou", "tianshui"},
    "lanzhou": {"lanzhou", "chengguan", "qilihe"},
    "tianshui": {"tianshui", "qinzhou"},
    "chengguan": {"chengguan", "school_a"},
    "qilihe": {"qilihe", "school_b"},
    "qinzhou": {"qinzhou", "school_c"},
    "school_a": {"school_a"},
    "school_b": {"school_b"},
    "school_c": {"school_c"},
}


@pytest.mark.parametrize("manager", sorted(MANAGED))
def test_a_system_administrator_manages_its_own_unit_and_the_level_directly_below_only(
        manager: str) -> None:
    allowed = {name for name, unit in UNITS.items() if manages(sysadmin(UNITS[manager]), unit)}
    assert allowed == MANAGED[manager]


@pytest.mark.parametrize("kind", [Kind.INFO, Kind.QUERY])
def test_information_and_query_accounts_manage_no_accounts(kind: Kind) -> None:
    for unit in UNITS.values():
        manager = Manager(role_for(kind, Level.PROVINCE), PROVINCE)
        assert not manages(manager, unit)


def test_roles_follow_kind_and_level_as_the_tokens_carry_them() -> None:
    assert role_for(Kind.SYSTEM, Level.COUNTY) == "county_sysadmin"
    assert role_for(Kind.INFO, Level.SCHOOL) == "school_admin"
    assert role_for(Kind.QUERY, Level.CITY) == "query"
    assert role_for(Kind.TEACHER, Level.SCHOOL) == "teacher"


def test_a_county_creates_school_accounts_of_its_schools_and_no_one_elses() -> None:
    county = sysadmin(CHENGGUAN)
    event = domain.create_account(county, "a", "zhang.a1", Kind.INFO, SCHOOL_A, "张老师",
                                  username_taken=False)
    assert (event.role, event.school_code, event.county_code) == ("school_admin", "A1", "620102")
    with pytest.raises(Forbidden):
        domain.create_account(county, "b", "li.b1", Kind.INFO, SCHOOL_B, "", username_taken=False)


def test_the_province_creates_city_accounts_but_not_county_ones() -> None:
    province = sysadmin(PROVINCE)
    assert domain.create_account(province, "c", "city.admin", Kind.SYSTEM, LANZHOU, "",
                                 username_taken=False).role == "city_sysadmin"
    with pytest.raises(Forbidden):
        domain.create_account(province, "d", "county.admin", Kind.SYSTEM, CHENGGUAN, "",
                              username_taken=False)


def test_a_taken_username_and_a_teacher_kind_are_refused_on_create() -> None:
    with pytest.raises(Conflict):
        domain.create_account(sysadmin(CHENGGUAN), "a", "x.y.z", Kind.INFO, SCHOOL_A, "",
                              username_taken=True)
    with pytest.raises(ValidationProblem):
        domain.create_account(sysadmin(CHENGGUAN), "a", "x.y.z", Kind.TEACHER, SCHOOL_A, "",
                              username_taken=False)


def test_disabling_starts_a_new_sign_in_generation_and_nobody_disables_themselves() -> None:
    target = an_account(SCHOOL_A, token_version=3)
    event = domain.disable(sysadmin(CHENGGUAN), target)
    assert event is not None and event.token_version == 4
    assert domain.disable(sysadmin(CHENGGUAN), domain.evolve(target, event, 2)) is None
    me = an_account(CHENGGUAN, Kind.SYSTEM)
    with pytest.raises(Forbidden, match="hand it over"):
        domain.disable(sysadmin(CHENGGUAN, me.account_id), me)


def test_a_password_reset_invalidates_earlier_tokens_but_keeps_the_account_active() -> None:
    target = an_account(SCHOOL_A, token_version=2)
    event = domain.reset_password(sysadmin(SCHOOL_A), target)
    after = domain.evolve(target, event, 2)
    assert after.active and after.token_version == 3


def test_a_handover_to_a_new_account_disables_the_predecessor_and_creates_the_successor(
        ) -> None:
    predecessor = an_account(CHENGGUAN, Kind.INFO, token_version=5, version=7)
    plan = domain.handover(sysadmin(LANZHOU), predecessor,
                           NewSuccessor("s-1", "wang.cg", "王", username_taken=False))
    [gone] = plan.predecessor
    [created] = plan.successor
    assert isinstance(gone, AdministratorHandedOver) and isinstance(created, AccountCreated)
    assert gone.successor_account_id == "s-1" and gone.token_version == 6
    assert (created.role, created.county_code) == ("county_admin", "620102")
    before = domain.evolve(predecessor, gone, 8)
    after = domain.evolve(None, created, 1)
    assert not before.active and after.active and after.role == predecessor.role


def test_a_handover_to_an_existing_account_of_the_same_unit_grants_it_the_role() -> None:
    predecessor = an_account(SCHOOL_A, Kind.SYSTEM)
    colleague = an_account(SCHOOL_A, Kind.QUERY, token_version=2)
    plan = domain.handover(sysadmin(SCHOOL_A, predecessor.account_id), predecessor, colleague)
    [granted] = plan.successor
    assert isinstance(granted, AccountRoleGranted) and granted.token_version == 3
    assert domain.evolve(colleague, granted, 2).role == "school_sysadmin"


def test_a_handover_stays_inside_the_unit_and_inside_the_managers_reach() -> None:
    predecessor = an_account(SCHOOL_A, Kind.INFO)
    with pytest.raises(ValidationProblem):
        domain.handover(sysadmin(CHENGGUAN), predecessor, an_account(SCHOOL_B, Kind.QUERY))
    with pytest.raises(Forbidden):
        domain.handover(sysadmin(QILIHE), predecessor,
                        NewSuccessor("s", "new.one", "", username_taken=False))
    with pytest.raises(Conflict):
        domain.handover(sysadmin(CHENGGUAN), an_account(SCHOOL_A, active=False),
                        NewSuccessor("s", "new.two", "", username_taken=False))


def test_the_gate_reads_account_events_as_active_or_not_at_a_generation() -> None:
    created = AccountCreated(account_id="a", username="abc", kind=Kind.INFO, level=Level.CITY,
                             role="city_admin", city_code="620100")
    change = status_change(created)
    assert change is not None and (change.active, change.version) == (True, 1)
    gone = status_change(AccountDisabled(account_id="a", token_version=2))
    assert gone is not None and (gone.active, gone.version) == (False, 2)
    reset = status_change(AccountPasswordReset(account_id="a", token_version=3))
    assert reset is not None and reset.active is None
    assert status_change(SignInLocked(account_id="a", failures=5,
                                      until=datetime.now(UTC))) is None


@pytest.mark.parametrize("text, shown", [
    ("我的身份证号应为620102198001010011，请更正", "我的身份证号应为**************0011，请更正"),
    ("old 15-digit 620102800101001 number", "old 15-digit ************001 number"),
    ("ends in X: 62010219800101001X.", "ends in X: **************001X."),
])
def test_id_number_like_text_in_a_teachers_comment_keeps_only_its_last_characters(
        text: str, shown: str) -> None:
    assert mask_id_like(text) == shown


def test_ordinary_numbers_in_a_comment_are_left_alone() -> None:
    assert mask_id_like("入职时间应为2005年9月1日，电话13912345678") == \
        "入职时间应为2005年9月1日，电话13912345678"
