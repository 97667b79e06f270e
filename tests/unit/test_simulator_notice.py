"""The notice's own table: the plan must reproduce the stage table in every column and every
named finding of shared/reference/notice_2017_findings.md, for any seed."""

from __future__ import annotations

import time
from itertools import pairwise

import pytest

from shared.contracts.vocabulary import ReportingLine, Stage
from shared.domain.divisions import divisions
from simulator.domain.findings import NOTICE_2017
from simulator.domain.layout import BIG_STAGES, PlanError
from simulator.domain.model import ProvincePlan, Role
from simulator.domain.plan import expected_outcome, plan_digest, plan_province
from simulator.domain.profile import (
    HEADER,
    NOTICE_PROFILE_PATH,
    is_notice_profile,
    notice_profile,
    parse_profile,
)
from tests.unit.test_simulator_plan import (
    assert_codes_and_names_are_plausible,
    assert_school_figures_match_the_profile,
    assert_teachers_add_up,
    audit,
)

SEED = 2017
LANZHOU = "620100"


@pytest.fixture(scope="module")
def built() -> tuple[ProvincePlan, float]:
    started = time.perf_counter()
    plan = plan_province(notice_profile(), seed=SEED)
    return plan, time.perf_counter() - started


@pytest.fixture(scope="module")
def plan(built: tuple[ProvincePlan, float]) -> ProvincePlan:
    return built[0]


@pytest.fixture(scope="module")
def outcome(plan: ProvincePlan) -> dict:
    return expected_outcome(plan)


def by_name(plan: ProvincePlan, name: str):
    (school,) = [s for s in plan.schools if s.name == name]
    return school


def test_the_notice_plan_builds_quickly(built):
    plan, seconds = built
    assert plan.notice_applied and seconds < 15


def test_the_stage_table_equals_the_notice_table_in_every_column(outcome):
    assert outcome["stage_table_csv"] == NOTICE_PROFILE_PATH.read_text(encoding="utf-8")


def test_the_schools_column_that_sums_to_20196_is_flagged(outcome, plan):
    assert outcome["total_mismatches"] == [("schools_annual", 20166, 20196)]
    total = plan.baselines.annual_stages[-1]
    assert total.is_total and total.schools == 20166


def test_the_three_lowest_cities_are_qingyang_lanzhou_gannan_and_the_rest_clearly_higher(
        outcome):
    rates = outcome["city_rates"]
    order = sorted(rates, key=rates.get)
    assert order[:3] == ["庆阳市", "兰州市", "甘南藏族自治州"]
    assert rates[order[1]] - rates[order[0]] >= 0.01
    assert rates[order[2]] - rates[order[1]] >= 0.01
    assert rates[order[3]] - rates[order[2]] >= 0.02
    naive = outcome["city_rates_naive"]  # all entered staff over the known annual staff
    assert sorted(naive, key=naive.get)[:3] == list(NOTICE_2017.lowest_cities)


def test_the_ten_kindergarten_gap_counties_lead_in_order_and_the_eleventh_is_clearly_smaller(
        outcome):
    gaps = outcome["kindergarten_gaps"]
    assert [name for name, _ in gaps[:10]] == list(NOTICE_2017.kindergarten_gap_counties)
    values = [g for _, g in gaps[:11]]
    assert all(a > b for a, b in pairwise(values[:10]))
    assert values[10] <= 0.8 * values[9]


def test_the_seven_named_schools_have_annual_staff_and_no_teacher_entered(plan, outcome):
    zero = {name: staff for _, name, staff in outcome["zero_teacher_schools"]}
    for named in NOTICE_2017.zero_teacher_schools:
        school = by_name(plan, named.name)
        assert zero[named.name] > 0 and school.entered_staff == 0 and school.in_annual
        assert school.stage is named.stage and school.reporting_line is named.reporting_line
        line = ReportingLine.PROVINCE if named.stage is Stage.VOCATIONAL else \
            ReportingLine.UNIVERSITY
        assert school.reporting_line is line


def test_one_named_school_holds_a_teacher_not_in_post_and_still_counts_as_empty(plan):
    named = {n.name for n in NOTICE_2017.zero_teacher_schools}
    holders = [plan.school(c) for c in plan.noise.empty_school_not_in_post
               if plan.school(c).name in named]
    assert len(holders) == 1 and holders[0].not_in_post == 1 and not holders[0].is_entered


def test_the_headline_excludes_the_two_ministry_universities(plan, outcome):
    units = [plan.school(code) for code in plan.excluded_units]
    assert [u.name for u in units] == ["兰州大学", "西北民族大学"]
    assert all(u.reporting_line is ReportingLine.UNIVERSITY and u.city_code == LANZHOU
               and u.stage is Stage.HIGHER for u in units)
    assert sum(u.annual_staff or 0 for u in units) == 396745 - 390639 == 6106
    assert outcome["staff_excluding_units"] == 390639
    assert outcome["staff_gap"] == 390639 - 365152 == 25487


def test_review_complete_is_the_notices_344711(plan, outcome):
    assert outcome["review_complete"] == 344711
    assert sum(s.review_complete for s in plan.final_schools()) == 344711


def test_missing_schools_and_kindergartens_follow_from_the_table(outcome):
    assert outcome["schools_missing"] == 4129
    assert outcome["kindergartens_missing"] == 3428


def test_the_pending_restructurings_are_the_notices_249_9_and_136(plan, outcome):
    (pending,) = [b for b in plan.batches if not b.applied]
    counts = outcome["pending_restructurings"]
    assert counts["kindergarten"] == 249 and counts["vocational"] == 9
    assert counts.get("primary", 0) + counts.get("junior", 0) + counts.get("senior", 0) == 136
    named = {n.name for n in NOTICE_2017.zero_teacher_schools}
    for op in pending.operations:
        school = plan.school(op.school_code)
        assert school.registered == 0 and school.name not in named


def test_every_county_has_schools_of_the_big_stages_and_institutions_sit_in_city_seats(plan):
    d = divisions()
    assert len(d.counties) == 87 and "620201" in d.counties
    for stage in BIG_STAGES:
        assert {s.county_code for s in plan.schools if s.stage is stage} == set(d.counties)
    higher = [s for s in plan.final_schools() if s.stage is Stage.HIGHER]
    assert sum(s.city_code == LANZHOU for s in higher) > len(higher) / 2
    direct = [s for s in plan.schools if s.reporting_line is ReportingLine.PROVINCE]
    assert direct and sum(s.city_code == LANZHOU for s in direct) > len(direct) / 2


def test_every_figure_adds_up_school_by_school(plan):
    assert_school_figures_match_the_profile(plan)
    assert_codes_and_names_are_plausible(plan)
    merged = [s for s in plan.schools if s.role is Role.MERGED]
    assert merged and all(not s.in_annual for s in merged)


def test_the_provinces_365152_teachers_add_up_with_unique_valid_id_numbers(plan):
    # Every teacher is generated, tallied and its ID number checked for uniqueness; the record
    # checks (checksum, birth date, age, hire date) run on a seventh of them to stay fast
    # (test_simulator_plan checks every record of smaller provinces).
    a = audit(plan, every=7)
    assert_teachers_add_up(plan, a)
    assert sum(n for n, _, _ in a.tally.values()) == 365152
    assert a.registered > 365152  # plus the teachers the counting rules exclude


def test_another_seed_gives_another_province_with_the_same_findings(plan):
    other = plan_province(notice_profile(), seed=SEED + 1)
    assert plan_digest(other) != plan_digest(plan)
    outcome = expected_outcome(other)
    assert outcome["stage_table_csv"] == NOTICE_PROFILE_PATH.read_text(encoding="utf-8")
    assert outcome["lowest_cities"] == list(NOTICE_2017.lowest_cities)
    assert outcome["kindergarten_gap_counties"] == list(NOTICE_2017.kindergarten_gap_counties)
    assert outcome["review_complete"] == 344711 and outcome["staff_excluding_units"] == 390639


def test_the_same_seed_gives_the_same_province(plan):
    assert plan_digest(plan_province(notice_profile(), seed=SEED)) == plan_digest(plan)


def test_the_findings_can_be_asked_for_on_a_table_close_to_the_notices():
    text = NOTICE_PROFILE_PATH.read_text(encoding="utf-8").replace(
        "6441,3013,,,56511,33011", "6500,3100,,,57000,33500")
    profile = parse_profile(text)
    assert not is_notice_profile(profile)
    assert not plan_province(profile, seed=5, notice=None).notice_applied
    outcome = expected_outcome(plan_province(profile, seed=5, notice=NOTICE_2017))
    assert outcome["lowest_cities"] == list(NOTICE_2017.lowest_cities)
    assert outcome["kindergarten_gap_counties"] == list(NOTICE_2017.kindergarten_gap_counties)
    assert outcome["kindergartens_missing"] == 6500 - 3100


def test_findings_a_profile_cannot_hold_are_refused_with_the_reasons():
    tiny = parse_profile(f"{','.join(HEADER)}\nprimary,小学,3,2,,,12,9,10,7\n")
    with pytest.raises(PlanError) as caught:
        plan_province(tiny, seed=1, notice=NOTICE_2017)
    message = str(caught.value)
    assert "kindergarten" in message and "344711 reviews complete but 9 staff" in message
