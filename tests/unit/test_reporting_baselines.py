"""Baseline import: levels, blanks, totals kept and checked, bad files refused whole."""

from __future__ import annotations

import csv

import pytest

from services.reporting.adapters.baseline_files import read_table, write_csv, write_xlsx
from services.reporting.domain.baselines import CHUNK_ROWS, chunk_events, parse_rows, template
from shared.domain.divisions import divisions
from shared.errors import ValidationProblem
from tests.unit.test_reporting_fixtures import STAGE_CSV


def parse(header, rows, kind="annual", level=None):
    return parse_rows(header, rows, kind=kind, level=level, divisions=divisions())


def test_the_notices_stage_table_imports_as_a_stage_level_annual_baseline():
    header, rows = read_table(STAGE_CSV.read_bytes(), "notice.csv")
    parsed = parse(header, rows)
    assert parsed.level == "stage"
    assert set(parsed.ignored_columns) == {"schools_entered", "teaching_points_entered",
                                           "staff_entered", "fulltime_entered"}
    senior = next(r for r in parsed.rows if r.stage == "senior")
    assert senior.staff is None  # blank: unknown, not zero
    total = next(r for r in parsed.rows if r.is_total)
    assert (total.schools, total.staff) == (20166, 396745)
    assert [(c["column"], c["rows_sum"], c["total"]) for c in parsed.checks] == \
        [("schools", 20196, 20166)]


def test_a_bad_file_is_refused_whole_with_row_and_field():
    header = ["county_code", "county_name", "schools", "staff"]
    rows = [["620102", "城关区", "10", "100"], ["999999", "", "1", "2"],
            ["620103", "七里河区", "x", "-3"], ["620102", "城关区", "1", "1"]]
    with pytest.raises(ValidationProblem) as err:
        parse(header, rows)
    found = {(p.row, p.loc) for p in err.value.problems}
    assert found == {(3, "county_code"), (4, "schools"), (4, "staff"), (5, "county_code")}


def test_a_county_name_that_contradicts_its_code_is_refused():
    with pytest.raises(ValidationProblem) as err:
        parse(["county_code", "county_name", "staff"], [["620102", "七里河区", "5"]])
    assert err.value.problems[0].loc == "county_name"


def test_chinese_headers_and_stage_names_are_understood():
    parsed = parse(["县区代码", "学段", "学校数", "教职工数"],
                   [["620102", "幼儿园", "12", "300"], ["620102", "小学", "", "500"]])
    assert parsed.level == "county"
    assert [(r.stage, r.schools, r.staff) for r in parsed.rows] == \
        [("kindergarten", 12, 300), ("primary", None, 500)]


def test_a_base_table_reads_base_columns_and_ignores_annual_ones():
    parsed = parse(["school_code", "school_name", "staff_base", "staff_annual"],
                   [["S1", "一中", "80", "90"]], kind="base")
    assert parsed.rows[0].staff == 80 and parsed.level == "school"


def test_big_baselines_are_split_into_events_of_at_most_2000_rows():
    rows = [[f"S{i}", "", str(i)] for i in range(4500)]
    parsed = parse(["school_code", "school_name", "staff"], rows)
    events = chunk_events("b1", "annual", 2016, parsed.rows)
    assert [len(e.rows) for e in events] == [CHUNK_ROWS, CHUNK_ROWS, 500]
    assert {e.chunks for e in events} == {3}


def test_templates_round_trip_through_csv_and_xlsx():
    for level in ("stage", "county", "school"):
        header, rows = template("annual", level, divisions())
        for data in (write_csv(header, rows), write_xlsx(header, rows, level)):
            h2, r2 = read_table(data)
            assert [str(h) for h in h2] == header
            assert len(r2) == len(rows)
    header, rows = template("annual", "county", divisions())
    assert len(rows) == len(divisions().counties)


def test_gb18030_csv_is_read():
    data = "county_code,county_name,staff\n620102,城关区,5\n".encode("gb18030")
    header, rows = read_table(data)
    assert parse(header, rows).rows[0].staff == 5


def test_the_reference_csv_is_what_the_test_reads():
    with STAGE_CSV.open(encoding="utf-8") as f:
        assert next(csv.reader(f))[0] == "stage"
