"""What the 数据统计 page's charts draw: reporting's JSON reports and progress series reduced
to labels and numbers (pure functions). The page puts the result in a JSON data block; the
static charts.js draws it with the vendored ECharts. The tables below the charts hold the same
figures, so the page says everything without JavaScript too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from services.web.domain.views import cell

TOTAL_STAGE = "total"  # reporting's key of the stage table's 合计 row


def _percent(value: Any) -> float | None:
    """A rate (0.5) as a percentage with one decimal (50.0); unknown stays None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return round(float(value) * 100, 1)


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _counts(name: str, axis: int, rows: Sequence[Mapping[str, Any]], key: str
            ) -> dict[str, Any]:
    """One series of counts: `key` of every row, on the left (0) or right (1) axis."""
    return {"name": name, "axis": axis, "values": [_count(r.get(key)) for r in rows]}


def _rows(report: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    tables = (report or {}).get("tables") or []
    return list(tables[0].get("rows") or []) if tables else []


def region_rates(report: Mapping[str, Any] | None, name_key: str, title: str
                 ) -> dict[str, Any] | None:
    """Entry rates per city or county (bar chart): school and staff rates in percent."""
    rows = _rows(report)
    if not rows:
        return None
    return {"kind": "rates", "title": title,
            "labels": [str(r.get(name_key) or "") for r in rows],
            "series": [{"name": "学校录入率",
                        "values": [_percent(r.get("school_rate")) for r in rows]},
                       {"name": "教职工录入率",
                        "values": [_percent(r.get("staff_rate")) for r in rows]}],
            "unknown": all(r.get("school_rate") is None and r.get("staff_rate") is None
                           for r in rows)}


def stage_counts(report: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The stage table as a chart: staff and schools per stage, annual report vs entered
    (the 合计 row is left out: it would dwarf the stages)."""
    rows = [r for r in _rows(report) if r.get("stage") != TOTAL_STAGE]
    if not rows:
        return None
    return {"kind": "stages", "title": "分学段录入情况（年报与系统录入）",
            "labels": [str(r.get("stage_name") or "") for r in rows],
            "series": [_counts("教职工数·年报", 0, rows, "staff_annual"),
                       _counts("教职工数·系统录入", 0, rows, "staff_entered"),
                       _counts("学校数·年报", 1, rows, "schools_annual"),
                       _counts("学校数·系统录入", 1, rows, "schools_entered")],
            "axes": ["教职工数", "学校数"]}


def progress_line(progress: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Progress over time (line chart): entered staff, reviewed staff and entered schools as
    of each day of reporting's series."""
    points: Sequence[Mapping[str, Any]] = (progress or {}).get("points") or []
    if not points:
        return None
    return {"kind": "progress", "title": "录入进度（按日期）",
            "labels": [str(p.get("as_of") or "") for p in points],
            "series": [_counts("录入教职工数", 0, points, "entered_staff"),
                       _counts("审核完成", 0, points, "review_complete"),
                       _counts("录入学校数", 1, points, "entered_schools")],
            "axes": ["教职工数", "学校数"]}


def progress_rows(progress: Mapping[str, Any] | None) -> list[list[str]]:
    """The series as the table under its chart (for readers without JavaScript)."""
    return [[str(p.get("as_of") or ""), cell(p.get("entered_schools"), "int"),
             cell(p.get("entered_staff"), "int"), cell(p.get("review_complete"), "int"),
             cell(p.get("staff_rate"), "rate")]
            for p in (progress or {}).get("points") or []]


PROGRESS_HEADERS = ("截至日期", "录入学校数", "录入教职工数", "审核完成", "教职工录入率")


def dashboard_charts(reports: Mapping[str, Mapping[str, Any]],
                     progress: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """The charts of the page by id, only those with something to draw: `reports` are
    reporting's JSON reports by name."""
    charts = {
        "chart-progress": progress_line(progress),
        "chart-stages": stage_counts(reports.get("stages")),
        "chart-cities": region_rates(reports.get("cities"), "city_name", "分市州录入率"),
        "chart-counties": region_rates(reports.get("counties"), "county_name", "分县区录入率"),
    }
    return {k: v for k, v in charts.items() if v is not None}
