"""The stage table reproduces the notice's table from counted teachers and its baseline."""

from __future__ import annotations

import csv
import io

from services.reporting.adapters.renderers import to_csv
from services.reporting.domain.facts import SchoolFacts
from services.reporting.domain.reports import ReportRequest, build_report
from services.reporting.domain.stages import CSV_COLUMNS, csv_rows, stage_table
from shared.domain.divisions import divisions
from tests.unit.test_reporting_fixtures import STAGE_CSV, notice_schools, snapshot


def _table():
    table, _ = stage_table(snapshot(notice_schools()), province_scope=True, counties=None)
    return table


def test_the_stage_csv_equals_the_notices_table_byte_for_byte():
    report = build_report(ReportRequest("stages"), snapshot(notice_schools()), divisions())
    body = to_csv(report)
    assert body.startswith("\ufeff".encode())  # for Excel on a Chinese desktop
    assert body.decode("utf-8-sig") == STAGE_CSV.read_text(encoding="utf-8")


def test_the_stage_csv_with_chinese_titles_has_the_same_rows_under_a_chinese_header():
    report = build_report(ReportRequest("stages"), snapshot(notice_schools()), divisions())
    keyed = list(csv.reader(io.StringIO(to_csv(report).decode("utf-8-sig"))))
    titled = list(csv.reader(io.StringIO(to_csv(report, "title").decode("utf-8-sig"))))
    assert titled[1:] == keyed[1:]
    assert titled[0][:2] == ["学段键", "学段"] and "学校数·年报" in titled[0]


def test_every_report_csv_with_titles_names_its_columns_in_chinese():
    report = build_report(ReportRequest("counties"), snapshot(notice_schools()), divisions())
    header = next(r for r in csv.reader(io.StringIO(to_csv(report, "title").decode("utf-8-sig")))
                  if r and not r[0].startswith("#"))
    assert header and all(any("\u4e00" <= ch <= "\u9fff" for ch in h) for h in header), header


def test_the_stage_csv_has_exactly_the_notices_columns():
    rows = csv_rows(_table())
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [r[0] for r in rows[1:]] == ["kindergarten", "primary", "junior", "senior",
                                        "special", "vocational", "higher", "total"]


def test_schools_without_a_counted_teacher_are_not_counted():
    schools = notice_schools(extra_empty=0)
    with_empty = [*schools, SchoolFacts("Z1", "空园", "kindergarten", False, "620102", "620100")]
    a = _kg(stage_table(snapshot(schools), province_scope=True, counties=None)[0])
    b = _kg(stage_table(snapshot(with_empty), province_scope=True, counties=None)[0])
    assert a["schools_entered"] == b["schools_entered"] == 3013


def test_a_closed_school_does_not_count_even_with_teachers():
    closed = SchoolFacts("C1", "撤并园", "kindergarten", False, "620102", "620100", open=False,
                         staff=9, fulltime=9)
    table, _ = stage_table(snapshot([*notice_schools(), closed]), province_scope=True,
                           counties=None)
    assert _kg(table)["schools_entered"] == 3013
    assert _kg(table)["staff_entered"] == 33011


def _kg(table):
    return next(r for r in table.rows if r["stage"] == "kindergarten")


def test_the_total_that_does_not_sum_is_flagged_and_kept():
    table = _table()
    total = table.rows[-1]
    assert total["schools_annual"] == 20166
    mismatch = [f for f in table.flags if f.code == "sum_mismatch"]
    assert [(f.where["column"], f.where["rows_sum"], f.where["total"]) for f in mismatch] == \
        [("schools_annual", 20196, 20166)]


def test_a_blank_annual_figure_stays_unknown_and_is_flagged():
    table = _table()
    senior = next(r for r in table.rows if r["stage"] == "senior")
    assert senior["staff_annual"] is None
    assert senior["staff_rate"] is None
    assert any(f.code == "unknown" and f.where == {"stage": "senior", "column": "staff_annual"}
               for f in table.flags)
    # and the stated total equals the sum of the known rows: no mismatch flag for staff
    assert not any(f.code == "sum_mismatch" and f.where["column"] == "staff_annual"
                   for f in table.flags)


def test_entered_above_annual_is_shown_not_clamped():
    table = _table()
    primary = next(r for r in table.rows if r["stage"] == "primary")
    assert primary["staff_entered"] == 138035 > primary["staff_annual"] == 131561
    assert primary["staff_gap"] == 131561 - 138035
    over = {(f.where["stage"], f.where["column"]) for f in table.flags
            if f.code == "entered_exceeds_annual"}
    assert {("primary", "staff"), ("junior", "fulltime"), ("special", "schools")} <= over


def test_teaching_points_appear_only_on_the_primary_row():
    rows = list(csv.DictReader(io.StringIO("\n".join(",".join(r) for r in csv_rows(_table())))))
    assert {r["stage"] for r in rows if r["teaching_points_entered"]} == {"primary"}
    primary = next(r for r in rows if r["stage"] == "primary")
    assert (primary["teaching_points_annual"], primary["teaching_points_entered"]) == \
        ("4661", "4015")


def test_fulltime_teachers_are_a_subset_of_staff_in_every_row():
    for row in _table().rows:
        assert row["fulltime_entered"] <= row["staff_entered"]
