"""The rules of chasing the laggards (催报): who lags, who may remind whom, who reads."""

from __future__ import annotations

from datetime import date

import pytest

from services.reporting.domain.chasing import (
    Round,
    Unit,
    default_message,
    laggards,
    open_round,
    read_notice,
    send_notice,
    units_of,
)
from shared.auth import Principal, Role
from shared.errors import Forbidden, ValidationProblem

ROUND = Round("r1", "2017 年采集", date(2017, 5, 10), date(2017, 5, 15), 0.95, 0.9)


def county(code: str, annual: int | None, entered: int, reviewed: int) -> Unit:
    return Unit("county", code, f"县{code}", "620100", code, annual, entered, reviewed)


def who(role: Role, **region: str) -> Principal:
    return Principal(subject=f"{role}:x", role=role, **region)


def test_a_unit_lags_below_either_target_and_the_furthest_behind_comes_first():
    units = [county("620102", 100, 99, 95), county("620103", 100, 50, 50),
             county("620104", 100, 96, 50), county("620105", None, 10, 10)]

    found = laggards(units, ROUND)

    assert [lag.unit.code for lag in found] == ["620103", "620104"]
    assert found[0].reasons == ("教职工录入率 50%，低于目标 95%",)
    assert found[1].reasons == ("审核完成率 52%，低于目标 90%",)


def test_a_unit_without_an_annual_figure_and_nobody_entered_lags_as_not_started():
    [lag] = laggards([county("620111", None, 0, 0)], ROUND)
    assert lag.reasons == ("尚未录入教职工",)


def test_school_rows_take_their_city_from_the_county_and_closed_schools_are_left_out():
    rows = [{"school_code": "S1", "school_name": "一中", "county_code": "620102", "open": True,
             "staff_annual": 10, "staff_entered": 5, "review_complete": 1},
            {"school_code": "S2", "school_name": "二中", "county_code": "620102", "open": False,
             "staff_annual": 10, "staff_entered": 0, "review_complete": 0}]
    [unit] = units_of("school", rows, {"620102": "620100"})
    assert (unit.code, unit.city_code, unit.staff_rate) == ("S1", "620100", 0.5)


def test_a_round_needs_a_title_deadlines_in_order_and_targets_within_one():
    with pytest.raises(ValidationProblem) as err:
        open_round(round_id="r", title=" ", entry_due=date(2017, 5, 15),
                   report_due=date(2017, 5, 10), entry_target=1.5)
    assert {p.loc for p in err.value.problems} == {"title", "report_due", "entry_target"}


def test_reminders_go_down_the_hierarchy_inside_the_senders_region():
    school = Unit("school", "S1", "一中", "620100", "620102", 10, 5, 0)
    city_unit = Unit("city", "620100", "兰州市", "620100", None, 10, 5, 0)

    sent = send_notice(who(Role.COUNTY_ADMIN, county_code="620102"), school, notice_id="n1",
                       message="", round_=ROUND)
    assert sent.message.startswith("一中：") and "5 月 15 日前" in sent.message
    with pytest.raises(Forbidden):  # another county
        send_notice(who(Role.COUNTY_ADMIN, county_code="620103"), school, notice_id="n2",
                    message="", round_=ROUND)
    with pytest.raises(Forbidden):  # not a level below its own
        send_notice(who(Role.CITY_ADMIN, city_code="620100"), city_unit, notice_id="n3",
                    message="", round_=ROUND)
    with pytest.raises(Forbidden):  # read-only accounts send nothing
        send_notice(who(Role.QUERY), school, notice_id="n4", message="", round_=ROUND)


def test_only_the_units_administrator_reads_a_reminder_and_the_first_reading_counts():
    admin = who(Role.SCHOOL_ADMIN, school_code="S1", county_code="620102")
    read = read_notice(admin, notice_id="n1", level="school", unit_code="S1",
                       already_read=False)
    assert read is not None and read.unit_code == "S1"
    assert read_notice(admin, notice_id="n1", level="school", unit_code="S1",
                       already_read=True) is None
    with pytest.raises(Forbidden):
        read_notice(who(Role.COUNTY_ADMIN, county_code="620102"), notice_id="n1",
                    level="school", unit_code="S1", already_read=False)


def test_the_default_message_without_a_round_asks_for_haste():
    unit = county("620102", 100, 50, 0)
    assert default_message(unit, ["教职工录入率 50%"], None) == \
        "县620102：教职工录入率 50%。请尽快完成录入和审核。"
