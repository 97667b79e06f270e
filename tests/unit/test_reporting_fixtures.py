"""Builders for reporting's unit tests (no tests here): the notice's province as SchoolFacts and
baselines."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

from services.reporting.domain.asof import parse_as_of
from services.reporting.domain.baselines import parse_rows
from services.reporting.domain.facts import (
    Baseline,
    BaselineRowData,
    Baselines,
    SchoolFacts,
    Snapshot,
)
from shared.domain.divisions import divisions

STAGE_CSV = Path(__file__).resolve().parents[2] / "shared" / "data" / \
    "notice_2017_stage_table.csv"


def notice_rows() -> list[dict[str, str]]:
    with STAGE_CSV.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _split(total: int, n: int) -> list[int]:
    base, rem = divmod(total, n)
    return [base + (1 if i < rem else 0) for i in range(n)]


def notice_schools(extra_empty: int = 25) -> list[SchoolFacts]:
    """Schools whose counted teachers add up to the notice's 'system' columns, spread over the
    province's counties, plus open schools with no teacher (which must not count)."""
    counties = sorted(divisions().counties.values(), key=lambda c: c.code)
    out: list[SchoolFacts] = []
    n = 0
    for row in notice_rows():
        stage = row["stage"]
        if stage == "total":
            continue
        schools = int(row["schools_entered"])
        points = int(row["teaching_points_entered"] or 0)
        staff = _split(int(row["staff_entered"]), schools)
        fulltime = _split(int(row["fulltime_entered"]), schools)
        for i in range(schools):
            county = counties[n % len(counties)]
            n += 1
            out.append(SchoolFacts(
                code=f"S{n:07d}", name=f"学校{n}", stage=stage, is_teaching_point=i < points,
                county_code=county.code, city_code=county.city_code, staff=staff[i],
                fulltime=fulltime[i], reviewed=staff[i], completeness_sum=staff[i] * 0.5))
    for i in range(extra_empty):
        county = counties[i % len(counties)]
        out.append(SchoolFacts(code=f"E{i:07d}", name=f"空学校{i}", stage="kindergarten",
                               is_teaching_point=False, county_code=county.code,
                               city_code=county.city_code))
    return out


def notice_baseline(kind: str = "annual", year: int = 2016) -> Baseline:
    with STAGE_CSV.open(encoding="utf-8") as f:
        rows = list(csv.reader(f))
    parsed = parse_rows(rows[0], rows[1:], kind=kind, level=None, divisions=divisions())
    return Baseline(f"notice-{kind}", kind, year, datetime(2017, 1, 1, tzinfo=UTC),
                    tuple(BaselineRowData(r.level, r.code, r.name, r.stage, r.schools,
                                          r.teaching_points, r.staff, r.fulltime, r.is_total)
                          for r in parsed.rows))


def snapshot(schools: list[SchoolFacts], *extra: Baseline, as_of: str = "2017-04-07",
             **kwargs: object) -> Snapshot:
    chosen = {}
    for b in (notice_baseline(), *extra):
        for level in {r.level for r in b.rows}:
            chosen[(b.kind, level)] = b
    return Snapshot(as_of=parse_as_of(as_of), schools=tuple(schools),
                    baselines=Baselines(2016, chosen), **kwargs)  # type: ignore[arg-type]


def school_baseline(kind: str, rows: list[tuple[str, str | None, str | None, int | None]],
                    level: str = "school", year: int = 2016) -> Baseline:
    """(code, name, stage, staff) rows at one level."""
    return Baseline(f"{kind}-{level}", kind, year, datetime(2017, 1, 2, tzinfo=UTC), tuple(
        BaselineRowData(level, code, name, stage, None, None, staff, None)
        for code, name, stage, staff in rows))


def county_baseline_for(schools: list[SchoolFacts], kind: str = "annual") -> Baseline:
    """A county-level baseline a little above what the schools entered (kindergartens split
    out), so rates and gaps have something to show."""
    totals: dict[str, list[int]] = {}
    kg: dict[str, list[int]] = {}
    for s in schools:
        if s.county_code is None:
            continue
        t = totals.setdefault(s.county_code, [0, 0])
        t[0] += 1
        t[1] += s.staff
        if s.stage == "kindergarten":
            k = kg.setdefault(s.county_code, [0, 0])
            k[0] += 1
            k[1] += s.staff
    rows = []
    for i, (code, (n, staff)) in enumerate(sorted(totals.items())):
        factor = 1.05 + (i % 7) * 0.04
        rows.append(BaselineRowData("county", code, None, None, int(n * factor), None,
                                    int(staff * factor), None))
        if code in kg:
            kn, ks = kg[code]
            rows.append(BaselineRowData("county", code, None, "kindergarten",
                                        int(kn * (1.5 + i % 5 * 0.3)), None,
                                        int(ks * (1.4 + i % 4 * 0.2)), None))
    return Baseline(f"county-{kind}", kind, 2016, datetime(2017, 1, 3, tzinfo=UTC),
                    tuple(rows))
