"""The planner on profiles other than the notice's: odd ones (blanks, nothing entered, entered
above annual, a total that does not add up) and a tiny one. Every count must come out exactly,
from the school figures and from the generated teachers alike, and the noise must be there."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from shared.contracts.vocabulary import PostStatus, ReportingLine, ReviewLevel, Stage
from shared.domain.divisions import divisions
from shared.domain.idnumber import parse_id_number
from simulator.domain.model import Fate, ProvincePlan, Review, Role
from simulator.domain.outcome import all_teachers
from simulator.domain.plan import expected_outcome, plan_digest, plan_province
from simulator.domain.profile import ANNUAL_FIGURES, FIGURES, HEADER, Profile, load_profile
from simulator.domain.teachers import TeacherPlan, add_years, teachers_of

DATA = Path(__file__).parent / "data"


# --------------------------------------------------------------------------- helpers


def normalised(profile: Profile) -> list[dict[str, Any]]:
    """What the stage table must show for a profile, written independently of the planner:
    annual columns as given; entered columns as given with blank meaning 0; teaching points
    only where the stage (or the total's annual figure) has them; the total's entered columns
    are the sums of the rows."""
    rows: list[dict[str, Any]] = []
    for s in profile.stages:
        row: dict[str, Any] = {"stage": s.key, "stage_name": s.name}
        for column in FIGURES:
            row[column] = s.figure(column) if column in ANNUAL_FIGURES else s.figure(column) or 0
        has_points = s.teaching_points_annual is not None or (s.teaching_points_entered or 0) > 0
        row["teaching_points_entered"] = (s.teaching_points_entered or 0) if has_points else None
        rows.append({h: row[h] for h in HEADER})
    total: dict[str, Any] = {"stage": "total", "stage_name": profile.total.name
                             if profile.total else "合计"}
    for column in FIGURES:
        if column in ANNUAL_FIGURES:
            total[column] = profile.total.figure(column) if profile.total else None
        else:
            total[column] = sum(r[column] or 0 for r in rows)
    if profile.total is None or profile.total.teaching_points_annual is None:
        total["teaching_points_entered"] = None
    return [*rows, {h: total[h] for h in HEADER}]


def check_record(t: TeacherPlan, ref: date, county: str, problems: list[str]) -> None:
    """A valid GB 11643 number that states the record's birth date, gender and county; an
    age of 22 to 60 at the reference date; hired after the 18th birthday."""
    facts = parse_id_number(t.id_number)
    if (facts.birth_date, facts.gender, facts.area_code) != (t.birth_date, t.gender, county):
        problems.append(f"{t.key}: ID number disagrees with the record")
    age = ref.year - t.birth_date.year - ((ref.month, ref.day) <
                                          (t.birth_date.month, t.birth_date.day))
    if not 22 <= age <= 60:
        problems.append(f"{t.key}: age {age}")
    if not add_years(t.birth_date, 18) <= t.hire_date <= ref:
        problems.append(f"{t.key}: hired {t.hire_date}, born {t.birth_date}")


@dataclass
class Audit:
    """One pass over every generated teacher of a plan."""

    tally: dict[str, list[int]] = field(default_factory=dict)
    ids: set[str] = field(default_factory=set)
    registered: int = 0
    duplicates: int = 0
    fates: Counter[Fate] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    changed: Counter[str] = field(default_factory=Counter)
    rejected: Counter[ReviewLevel] = field(default_factory=Counter)
    retries: int = 0
    returns: int = 0
    not_in_post_schools: set[str] = field(default_factory=set)


def audit(plan: ProvincePlan, every: int = 1) -> Audit:
    """Tally and check every teacher; the costlier record checks on every `every`-th one.
    (Written for speed: the notice's province has ~367k teachers.)"""
    a = Audit()
    ref = plan.reference_date
    county_of = {s.code: s.county_code for s in plan.schools}
    ids, tally, fates = a.ids, a.tally, a.fates
    counted = (Fate.STAY, Fate.TRANSFER)
    for i, t in enumerate(all_teachers(plan)):
        fates[t.fate] += 1
        number = t.id_number
        if number in ids:
            a.duplicates += 1
        ids.add(number)
        if i % every == 0:
            check_record(t, ref, county_of[t.school_code], a.problems)
        if t.fate in counted:
            acc = tally.get(t.final_school or "")
            if acc is None:
                acc = tally[t.final_school or ""] = [0, 0, 0]
            acc[0] += 1
            acc[1] += t.counts_fulltime
            acc[2] += t.review is Review.COMPLETE
        elif t.fate is Fate.NOT_IN_POST:
            a.not_in_post_schools.add(t.school_code)
            if t.final("post_status") is not PostStatus.NOT_IN_POST:
                a.problems.append(f"{t.key}: not in post but ends in post")
        if t.change:
            a.changed[t.change[0]] += 1
            if getattr(t, t.change[0]) != t.change[1] or t.change[1] == t.change[2]:
                a.problems.append(f"{t.key}: change {t.change} is not a change")
        if t.rejected_at:
            a.rejected[t.rejected_at] += 1
        if t.retry:
            a.retries += 1
        if t.returns_to_post:
            a.returns += 1
    a.registered = sum(fates.values())
    return a


def assert_school_figures_match_the_profile(plan: ProvincePlan) -> None:
    final = plan.final_schools()
    for fig in plan.profile.stages:
        mine = [s for s in final if s.stage is fig.stage and s.role is Role.REGULAR]
        listed = [s for s in mine if s.in_annual]
        # A blank school count lists only the teaching points the annual report counts.
        assert len(listed) == (fig.schools_annual if fig.schools_annual is not None
                               else fig.teaching_points_annual or 0)
        assert sum(1 for s in listed if s.is_teaching_point) == (fig.teaching_points_annual or 0)
        assert sum(1 for s in mine if s.is_entered) == (fig.schools_entered or 0)
        assert sum(1 for s in mine if s.is_entered and s.is_teaching_point) == \
            (fig.teaching_points_entered or 0)
        assert sum(s.entered_staff for s in mine) == (fig.staff_entered or 0)
        assert sum(s.entered_fulltime for s in mine) == (fig.fulltime_entered or 0)
        if fig.staff_annual is None:
            assert all(s.annual_staff is None for s in mine)
        elif listed:
            assert sum(s.annual_staff or 0 for s in listed) == fig.staff_annual
        if fig.fulltime_annual is None:
            assert all(s.annual_fulltime is None for s in mine)
        elif listed:
            assert sum(s.annual_fulltime or 0 for s in listed) == fig.fulltime_annual
    for s in plan.schools:
        assert 0 <= s.entered_fulltime <= s.entered_staff
        assert 0 <= s.review_complete <= s.entered_staff
        assert s.stay_fulltime <= s.stay and s.stay_review_complete <= s.stay
    extra = [s for s in final if s.role is not Role.REGULAR]
    assert all(s.entered_staff == 0 and not s.in_annual for s in extra)


def assert_codes_and_names_are_plausible(plan: ProvincePlan) -> None:
    counties = divisions().counties
    codes = [s.code for s in plan.schools]
    assert len(set(codes)) == len(codes)
    assert len({s.name for s in plan.schools}) == len(plan.schools)
    for s in plan.schools:
        assert len(s.code) == 10 and s.code.isdigit() and s.code.startswith(s.county_code)
        assert counties[s.county_code].city_code == s.city_code
        if s.is_teaching_point:
            assert s.name.endswith("教学点") and s.is_rural and s.stage is Stage.PRIMARY


def assert_teachers_add_up(plan: ProvincePlan, a: Audit) -> None:
    assert a.problems == []
    assert a.duplicates == 0 and len(a.ids) == a.registered
    for s in plan.final_schools():
        assert tuple(a.tally.get(s.code, (0, 0, 0))) == (s.entered_staff, s.entered_fulltime,
                                                         s.review_complete), s.code
    assert not any(plan.school(code).role is Role.MERGED for code in a.tally)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def odd() -> ProvincePlan:
    return plan_province(load_profile(DATA / "simulator_profile_odd.csv"), seed=11)


@pytest.fixture(scope="module")
def odd_audit(odd: ProvincePlan) -> Audit:
    return audit(odd)


# --------------------------------------------------------------------------- tests


def test_an_odd_profile_gives_the_stage_table_it_describes(odd):
    assert expected_outcome(odd)["stage_table"] == normalised(odd.profile)


def test_a_total_row_that_does_not_add_up_is_kept_and_flagged(odd):
    outcome = expected_outcome(odd)
    total = outcome["stage_table"][-1]
    assert (total["schools_annual"], total["staff_annual"]) == (400, 6000)
    assert ("schools_annual", 400, 386) in outcome["total_mismatches"]
    assert ("schools_entered", 999, 276) in outcome["total_mismatches"]
    assert odd.baselines.annual_stages[-1].is_total
    assert odd.baselines.annual_stages[-1].schools == 400


def test_blank_annual_figures_stay_blank_at_every_school(odd):
    kindergartens = [s for s in odd.schools if s.stage is Stage.KINDERGARTEN and s.in_annual]
    assert kindergartens and all(s.annual_staff is None for s in kindergartens)
    rows = [r for r in odd.baselines.annual_schools if r.stage is Stage.KINDERGARTEN]
    assert all(r.staff is None and r.fulltime is None for r in rows)


def test_a_stage_with_nothing_entered_has_schools_but_no_teacher_in_post(odd):
    for stage in (Stage.JUNIOR, Stage.SENIOR):
        mine = [s for s in odd.final_schools() if s.stage is stage and s.role is Role.REGULAR]
        assert len(mine) == (40 if stage is Stage.JUNIOR else 12)
        assert all(s.entered_staff == 0 for s in mine)


def test_schools_entered_beyond_the_annual_report_are_not_in_it(odd):
    special = [s for s in odd.final_schools() if s.stage is Stage.SPECIAL
               and s.role is Role.REGULAR]
    assert len(special) == 9 and sum(s.is_entered for s in special) == 9
    assert sum(s.in_annual for s in special) == 6


def test_every_figure_of_the_odd_profile_adds_up_school_by_school(odd):
    assert_school_figures_match_the_profile(odd)
    assert_codes_and_names_are_plausible(odd)


def test_the_odd_profiles_teachers_add_up_to_the_school_figures(odd, odd_audit):
    assert_teachers_add_up(odd, odd_audit)


def test_the_event_stream_carries_everything_the_counting_rules_exclude(odd, odd_audit):
    a = odd_audit
    assert a.fates[Fate.NOT_IN_POST] >= 6 and a.fates[Fate.LEAVE] >= 3
    assert a.fates[Fate.TRANSFER] == len(odd.transfers) >= 3
    # Schools whose only teachers are not in post, or whose only teacher left, end empty.
    for code in odd.noise.empty_school_not_in_post + odd.noise.lone_leaver_schools:
        school = odd.school(code)
        assert school.registered >= 1 and school.entered_staff == 0 and not school.is_entered
    assert odd.noise.empty_school_not_in_post and odd.noise.lone_leaver_schools
    assert {"post_status", "is_fulltime_teacher", "professional_title"} <= set(a.changed)
    assert set(a.rejected) == {ReviewLevel.SCHOOL, ReviewLevel.COUNTY}
    assert a.retries >= 2 and a.returns >= 2


def test_transfers_end_at_the_receiving_school(odd):
    for tr in odd.transfers:
        origin = odd.school(tr.from_school)
        (t,) = [t for t in _teachers(odd, origin.code) if t.key == tr.teacher_key]
        assert t.fate is Fate.TRANSFER and t.final_school == tr.to_school
        assert odd.school(tr.to_school).is_entered
    assert any(not odd.school(tr.from_school).is_entered for tr in odd.transfers)


def test_merged_schools_are_extra_and_their_teachers_count_at_the_target(odd):
    (applied,) = [b for b in odd.batches if b.applied]
    assert applied.operations and all(op.op == "merge" for op in applied.operations)
    for op in applied.operations:
        merged, target = odd.school(op.school_code), odd.school(op.target_code or "")
        assert merged.role is Role.MERGED and not merged.in_annual
        assert (merged.stage, merged.county_code) == (target.stage, target.county_code)
        movers = [t for t in _teachers(odd, merged.code) if t.counts]
        assert movers and all(t.final_school == target.code for t in movers)


def test_announced_restructurings_touch_only_schools_without_teachers(odd):
    pending = [b for b in odd.batches if not b.applied]
    assert pending
    for op in pending[0].operations:
        school = odd.school(op.school_code)
        assert school.registered == 0 and not school.is_entered
        if op.op == "merge":
            target = odd.school(op.target_code or "")
            assert (target.stage, target.county_code) == (school.stage, school.county_code)


def test_the_base_table_departs_from_the_annual_report_in_a_few_counties(odd):
    base = {(r.code, r.stage): r for r in odd.baselines.base_table}
    assert 1 <= len(odd.baselines.base_differences) <= 5
    for county, stage, column, annual, reported in odd.baselines.base_differences:
        assert annual != reported and getattr(base[(county, stage)], column) == reported


def test_a_different_seed_gives_a_different_but_equally_correct_plan(odd):
    other = plan_province(odd.profile, seed=12)
    assert plan_digest(other) != plan_digest(odd)
    assert expected_outcome(other)["stage_table"] == normalised(other.profile)
    assert_school_figures_match_the_profile(other)
    assert_teachers_add_up(other, audit(other))


def test_the_same_seed_gives_the_same_plan_down_to_every_teacher(odd):
    again = plan_province(odd.profile, seed=11)
    assert plan_digest(again, teachers=True) == plan_digest(odd, teachers=True)


def test_a_tiny_profile_of_three_schools_plans_exactly():
    plan = plan_province(load_profile(DATA / "simulator_profile_tiny.csv"), seed=3)
    outcome = expected_outcome(plan)
    assert outcome["stage_table"] == normalised(plan.profile)
    assert outcome["stage_table_csv"] == (DATA / "simulator_profile_tiny.csv").read_text(
        encoding="utf-8")
    assert_school_figures_match_the_profile(plan)
    assert_teachers_add_up(plan, audit(plan))
    regular = [s for s in plan.final_schools() if s.role is Role.REGULAR]
    assert len(regular) == 3 and sum(s.is_entered for s in regular) == 2


def test_the_review_share_is_configurable_and_defaults_to_94_percent(odd):
    staff = sum(s.entered_staff for s in odd.final_schools())
    assert expected_outcome(odd)["review_complete"] == round(0.94 * staff)


def test_teachers_have_plausible_records(odd):
    teachers = [t for s in odd.schools[:300] for t in _teachers(odd, s.code)]
    assert teachers
    assert all(t.ethnicity.endswith("族") for t in teachers)
    assert all(t.stage_taught is None or t.is_fulltime_teacher or t.change for t in teachers)
    assert {t.gender for t in teachers} == {"male", "female"}
    assert any(t.teacher_qualification is None for t in teachers)  # completeness varies
    assert all(date(1950, 1, 1) < t.birth_date < date(1996, 1, 1) for t in teachers)


def test_province_level_schools_sit_in_city_seats(odd):
    for s in odd.schools:
        if s.reporting_line in (ReportingLine.UNIVERSITY, ReportingLine.PROVINCE):
            county = divisions().counties[s.county_code]
            assert county.name.endswith(("区", "市")) or s.county_code == "620123"


def _teachers(plan: ProvincePlan, code: str) -> list[TeacherPlan]:
    return teachers_of(plan, plan.school(code))


def test_when_every_school_is_entered_extra_schools_hold_the_teachers_that_never_count():
    plan = plan_province(load_profile(DATA / "simulator_profile_all_entered.csv"), seed=4)
    assert expected_outcome(plan)["stage_table"] == normalised(plan.profile)
    assert_school_figures_match_the_profile(plan)
    assert_teachers_add_up(plan, audit(plan))
    for code in plan.noise.empty_school_not_in_post + plan.noise.lone_leaver_schools:
        school = plan.school(code)
        assert school.role is Role.EXTRA and not school.in_annual and not school.is_entered
    assert plan.noise.empty_school_not_in_post and plan.noise.lone_leaver_schools
