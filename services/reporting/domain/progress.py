"""Progress over time: the headline figures of a scope as of several days, oldest first.

The days of a series end at the asked day (or now) and go back `step` days at a time; each
point is the same headline the reports carry (built by `build_report`), so a chart of the
series and the 数据统计 tiles as of one of its days can never disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from services.reporting.domain.asof import AsOf, end_of_day
from services.reporting.domain.facts import Snapshot
from services.reporting.domain.reports import ReportRequest, build_report
from services.reporting.domain.scope import Scope
from shared.domain.divisions import Divisions

MAX_POINTS = 26
FIELDS = ("annual_schools", "annual_staff", "entered_schools", "entered_staff",
          "entered_fulltime", "review_complete", "school_rate", "staff_rate")


def series_cutoffs(last: AsOf, step_days: int, points: int) -> list[AsOf]:
    """`points` cut-offs `step_days` apart, the last one `last` itself, oldest first."""
    out = [last]
    for k in range(1, points):
        day = last.day - timedelta(days=step_days * k)
        out.append(AsOf(day.isoformat(), end_of_day(day), day))
    return out[::-1]


def progress_point(snapshot: Snapshot, scope: Scope, divisions: Divisions) -> dict[str, Any]:
    """One point of the series: the day and the scope's headline figures then."""
    headline = build_report(ReportRequest("stages", scope), snapshot, divisions).summary
    figures = headline.get("headline") or {}
    return {"as_of": snapshot.as_of.day.isoformat(), "label": snapshot.as_of.label,
            **{f: figures.get(f) for f in FIELDS}}


def progress_body(scope: Scope, step_days: int, points: Sequence[dict[str, Any]]
                  ) -> dict[str, Any]:
    return {"scope": scope.label(), "step_days": step_days, "points": list(points)}
