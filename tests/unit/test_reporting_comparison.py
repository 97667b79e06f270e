"""The three-way comparison flags where base table, annual report and system differ."""

from __future__ import annotations

from services.reporting.domain.facts import SchoolFacts
from services.reporting.domain.reports import ReportRequest, build_report
from shared.domain.divisions import divisions
from tests.unit.test_reporting_fixtures import school_baseline, snapshot


def _rows():
    schools = [SchoolFacts("S1", "一中", "junior", False, "620102", "620100", staff=50),
               SchoolFacts("S2", "二中", "junior", False, "620102", "620100", staff=30)]
    annual = school_baseline("annual", [("620102", None, None, 90)], level="county")
    base = school_baseline("base", [("620102", None, None, 80)], level="county")
    base_schools = school_baseline("base", [("S1", "一中", "junior", 50),
                                            ("S2", "二中", "junior", 31)])
    snap = snapshot(schools, annual, base, base_schools)
    report = build_report(ReportRequest("comparison"), snap, divisions())
    return {(r["level"], r["code"]): r for r in report.table("comparison").rows}, report


def test_each_level_compares_base_annual_and_system_and_sizes_the_difference():
    rows, report = _rows()
    county = rows[("county", "620102")]
    assert (county["staff_base"], county["staff_annual"], county["staff_system"]) == \
        (80, 90, 80)
    diffs = {(d["measure"], d["between"]): d["difference"] for d in county["difference_list"]}
    assert diffs[("staff", "annual-base")] == 10
    assert diffs[("staff", "system-annual")] == -10
    assert ("staff", "system-base") not in diffs
    assert not county["agrees"]
    assert rows[("school", "S1")]["agrees"]
    assert rows[("school", "S2")]["difference_list"][0]["difference"] == -1
    assert any(f.code == "differs" for f in report.table("comparison").flags)


def test_unknown_figures_are_not_compared():
    rows, _ = _rows()
    city = rows[("city", "620500")]
    assert city["staff_base"] is None and city["staff_annual"] is None
    assert city["agrees"]  # nothing known to disagree with
