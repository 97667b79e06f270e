"""The findings: the notice's headline figures, rankings, zero-teacher schools, exclusions."""

from __future__ import annotations

from dataclasses import replace

from services.reporting.domain.facts import PendingOperation, SchoolFacts
from services.reporting.domain.reports import ReportRequest, build_report
from shared.domain.divisions import divisions
from tests.unit.test_reporting_fixtures import notice_schools, school_baseline, snapshot

UNIVERSITIES = [("U0000001", "兰州大学", "higher", 4100),
                ("U0000002", "西北民族大学", "higher", 2006)]


def _findings(schools, *extra, exclude=(), **kw):
    return build_report(ReportRequest("findings", exclude=tuple(exclude)),
                        snapshot(schools, *extra, **kw), divisions())


def test_the_province_headline_matches_the_notice():
    h = _findings(notice_schools()).summary["headline"]
    assert (h["annual_schools"], h["annual_staff"]) == (20166, 396745)
    assert (h["entered_schools"], h["entered_staff"]) == (16037, 365152)
    assert (h["school_rate_notice"], h["staff_rate_notice"]) == ("79%", "92%")
    assert round(h["school_rate"], 4) == 0.7952  # exact ratio kept; the notice truncates
    assert (h["schools_missing"], h["kindergartens_missing"]) == (4129, 3428)


def test_the_notice_wording_truncates_rates_and_uses_the_figures():
    text = " ".join(_findings(notice_schools()).summary["notice_text"])
    assert "已录入学校（机构）数 16037 所、录入教师 365152 人" in text
    assert "学校录入率 79%，教师录入率 92%" in text
    assert "尚有 4129 所学校未录入教师数据，其中幼儿园 3428 所" in text


def test_staff_excluding_named_universities_is_computed_from_their_annual_rows():
    annual_schools = school_baseline("annual", UNIVERSITIES)
    report = _findings(notice_schools(), annual_schools, exclude=["兰州大学", "U0000002"])
    h = report.summary["headline"]
    assert h["annual_staff_including_excluded"] == 396745
    assert h["annual_staff_excluding"] == 390639
    assert h["entered_staff_excluding"] == 365152
    assert h["staff_gap_excluding"] == 25487
    assert "（不包括兰州大学、西北民族大学）" in " ".join(report.summary["notice_text"])


def test_an_excluded_unit_missing_from_the_baseline_is_reported_unknown():
    h = _findings(notice_schools(), exclude=["不存在大学"]).summary["headline"]
    assert h["exclusions"][0]["found"] is False
    assert h["exclusions_unknown"] == ["不存在大学"]


def test_the_lowest_cities_by_staff_entry_rate_come_first():
    d = divisions()
    county_rows = []
    schools = []
    for i, county in enumerate(sorted(d.counties.values(), key=lambda c: c.code)):
        low = county.city_name in ("庆阳市", "兰州市", "甘南藏族自治州")
        county_rows.append((county.code, None, None, 100))
        schools.append(SchoolFacts(f"X{i:04d}", f"校{i}", "junior", False, county.code,
                                   county.city_code, staff=40 if low else 90, fulltime=10))
    baseline = school_baseline("annual", county_rows, level="county")
    lowest = _findings(schools, baseline).table("lowest_cities")
    assert {r["city_name"] for r in lowest.rows} == {"庆阳市", "兰州市", "甘南藏族自治州"}
    assert all(r["staff_rate"] < 0.5 for r in lowest.rows)


def test_counties_are_ranked_by_kindergarten_staff_gap_then_school_gap():
    d = divisions()
    names = ["城关区", "秦安县", "武山县"]
    codes = {c.name: c.code for c in d.counties.values() if c.name in names}
    rows = [(codes["城关区"], None, "kindergarten", 500), (codes["秦安县"], None, "kindergarten",
                                                           800),
            (codes["武山县"], None, "kindergarten", 300)]
    kg = _findings(notice_schools(0), school_baseline("annual", rows, level="county")) \
        .table("kindergarten_gaps")
    assert [r["county_name"] for r in kg.rows][:1] == ["秦安县"]
    gaps = [r["kg_staff_gap"] for r in kg.rows]
    assert gaps == sorted(gaps, reverse=True)


def test_zero_teacher_schools_name_those_the_annual_report_expects_teachers_at():
    schools = [SchoolFacts("V1", "甘肃档案学校", "vocational", False, "620102", "620100"),
               SchoolFacts("V2", "无人园", "kindergarten", False, "620102", "620100"),
               SchoolFacts("V3", "有人校", "junior", False, "620102", "620100", staff=3)]
    annual = school_baseline("annual", [("V1", "甘肃档案学校", "vocational", 35),
                                        ("V2", "无人园", "kindergarten", 0),
                                        ("V9", "甘肃省卫生学校", "vocational", 120)])
    report = _findings(schools, annual)
    zero = report.table("zero_teacher_schools")
    expected = report.table("zero_but_expected")
    assert {r["school_code"] for r in zero.rows} == {"V1", "V2"}
    assert {(r["school_name"], r["registered"]) for r in expected.rows} == \
        {("甘肃档案学校", True), ("甘肃省卫生学校", False)}
    assert "甘肃档案学校" in " ".join(report.summary["notice_text"])


def test_pending_restructurings_are_counted_by_the_notices_groups():
    schools = [SchoolFacts("K1", "园", "kindergarten", False, "620102", "620100", staff=1),
               SchoolFacts("P1", "小", "primary", False, "620102", "620100", staff=1),
               SchoolFacts("J1", "初", "junior", False, "620102", "620100", staff=1),
               SchoolFacts("Z1", "职", "vocational", False, "620102", "620100", staff=1)]
    pending = (PendingOperation("b1", "merge", "K1", None, None),
               PendingOperation("b1", "close", "P1", None, None),
               PendingOperation("b1", "merge", "J1", None, None),
               PendingOperation("b1", "close", "Z1", None, None),
               PendingOperation("b1", "rename", "Z1", None, None))
    table = _findings(schools, pending=pending).table("pending_restructurings")
    assert {r["group"]: r["schools"] for r in table.rows} == \
        {"kindergarten": 1, "vocational": 1, "primary_secondary": 2, "other": 0}
    assert "rename 1" in table.note


def test_review_complete_counts_only_counted_staff_whose_review_is_complete():
    schools = [SchoolFacts("R1", "校", "junior", False, "620102", "620100", staff=5,
                           reviewed=3),
               SchoolFacts("R2", "撤", "junior", False, "620102", "620100", open=False, staff=4,
                           reviewed=4)]
    assert _findings(schools).summary["headline"]["review_complete"] == 3


def test_a_region_scoped_report_only_shows_its_region():
    schools = notice_schools(0)
    report = build_report(ReportRequest("findings", scope=replace(
        ReportRequest("findings").scope, city_code="620100")), snapshot(schools), divisions())
    h = report.summary["headline"]
    assert h["entered_schools"] == sum(1 for s in schools if s.city_code == "620100")
