"""Stage-table profiles: the notice's format parsed as given, malformed files refused by line
and column, impossible entered figures refused before planning."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.contracts.vocabulary import Stage
from simulator.domain.profile import (
    HEADER,
    NOTICE_PROFILE_PATH,
    ProfileError,
    check_plannable,
    is_notice_profile,
    load_profile,
    notice_profile,
    parse_profile,
)

DATA = Path(__file__).parent / "data"
HEAD = ",".join(HEADER)


def problems_of(text: str) -> list[tuple[int | None, str, str]]:
    with pytest.raises(ProfileError) as caught:
        parse_profile(text, source="t.csv")
    return [(p.row, p.loc, p.msg) for p in caught.value.problems]


def test_the_notice_table_parses_with_blanks_as_unknown_and_its_total_as_given():
    profile = notice_profile()
    assert [s.key for s in profile.stages] == [s.value for s in Stage]
    senior = profile.stage(Stage.SENIOR)
    assert senior is not None and senior.staff_annual is None
    assert senior.teaching_points_annual is None and senior.fulltime_annual == 45107
    assert profile.total is not None and profile.total.schools_annual == 20166
    assert profile.stage_sums()["schools_annual"] == 20196
    assert profile.total_mismatches() == [("schools_annual", 20166, 20196)]


def test_the_notice_table_is_recognised_by_its_figures_not_by_its_file():
    text = NOTICE_PROFILE_PATH.read_text(encoding="utf-8").replace("幼儿园", "KG")
    assert is_notice_profile(parse_profile(text))
    changed = NOTICE_PROFILE_PATH.read_text(encoding="utf-8").replace("56511", "56512")
    assert not is_notice_profile(parse_profile(changed))


def test_a_bad_number_is_refused_naming_its_line_and_column():
    with pytest.raises(ProfileError) as caught:
        load_profile(DATA / "simulator_profile_malformed.csv")
    (problem,) = caught.value.problems
    assert (problem.row, problem.loc) == (2, "staff_entered")
    assert "'4o' is not a whole number" in problem.msg
    assert "line 2, column staff_entered" in str(caught.value)


@pytest.mark.parametrize("row, column, needle", [
    ("kindergarten,幼儿园,-3,,,,,,,", "schools_annual", "'-3' is not a whole number"),
    ("kindergarten,幼儿园,1.5,,,,,,,", "schools_annual", "'1.5' is not a whole number"),
    ("nursery,托儿所,1,,,,,,,", "stage", "unknown stage 'nursery'"),
    ("kindergarten,幼儿园,1,1", "stage", "expected 10 cells, found 4"),
])
def test_a_malformed_row_is_refused_with_line_column_and_reason(row, column, needle):
    problems = problems_of(f"{HEAD}\nprimary,小学,1,1,,,1,1,1,1\n{row}\n")
    assert len(problems) == 1
    line, loc, msg = problems[0]
    assert (line, loc) == (3, column) and needle in msg


def test_a_stage_given_twice_is_refused_pointing_at_the_first():
    problems = problems_of(f"{HEAD}\nprimary,小学,1,1,,,1,1,1,1\nprimary,小学,2,2,,,2,2,2,2\n")
    assert problems == [(3, "stage", "stage 'primary' already given on line 2")]


def test_a_header_with_a_missing_or_unknown_column_is_refused_on_line_one():
    header = HEAD.replace("staff_entered", "staff_in")
    problems = problems_of(f"{header}\nprimary,小学,1,1,,,1,1,1,1\n")
    assert (1, "staff_entered", "column missing from the header") in problems
    assert any(loc == "staff_in" and "unknown column" in msg for _, loc, msg in problems)


def test_every_problem_of_a_file_is_reported_at_once():
    problems = problems_of(f"{HEAD}\nprimary,小学,x,1,,,1,1,1,1\njunior,初中,1,y,,,1,1,1,1\n")
    assert [(line, loc) for line, loc, _ in problems] == [(2, "schools_annual"),
                                                          (3, "schools_entered")]


def test_an_empty_file_or_one_without_stage_rows_is_refused():
    assert problems_of("")[0][:2] == (1, "stage")
    assert "no stage rows" in problems_of(f"{HEAD}\ntotal,合计,1,1,,,1,1,1,1\n")[0][2]


def test_a_byte_order_mark_and_blank_lines_are_tolerated():
    profile = parse_profile(f"\ufeff{HEAD}\n\nprimary,小学,3,2,,,12,9,10,7\n")
    assert profile.stages[0].schools_annual == 3 and profile.total is None


def test_entered_full_time_above_entered_staff_cannot_be_planned():
    profile = load_profile(DATA / "simulator_profile_impossible.csv")
    with pytest.raises(ProfileError) as caught:
        check_plannable(profile)
    (problem,) = caught.value.problems
    assert (problem.row, problem.loc) == (3, "fulltime_entered")
    assert "subset of staff" in problem.msg


@pytest.mark.parametrize("row, column", [
    ("primary,小学,5,4,,,20,3,10,2", "staff_entered"),  # 4 schools need 4 teachers
    ("primary,小学,5,0,,,20,3,10,2", "schools_entered"),  # teachers but no school
    ("primary,小学,5,4,,5,20,30,10,2", "teaching_points_entered"),
    ("primary,小学,5,4,6,,20,30,10,2", "teaching_points_annual"),
])
def test_entered_figures_no_province_can_hold_are_refused_by_line_and_column(row, column):
    profile = parse_profile(f"{HEAD}\n{row}\n")
    with pytest.raises(ProfileError) as caught:
        check_plannable(profile)
    assert [(p.row, p.loc) for p in caught.value.problems] == [(2, column)]


def test_annual_full_time_above_annual_staff_is_kept_as_the_notice_has_it():
    profile = notice_profile()
    primary = profile.stage(Stage.PRIMARY)
    assert primary is not None and primary.fulltime_annual == 141104 > 131561
    check_plannable(profile)
