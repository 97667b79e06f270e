"""Baseline figures per stage and per region, from whichever level of baseline exists.

A baseline can be imported per stage (the province's stage table, like the notice's), per
county (optionally split by stage) or per school. Each view takes its figures from the most
direct level available and says which it used:

    stage table:   province stage rows  > county stage rows (summed) > school rows (summed)
    county/city:   county rows          > school rows (placed by the registry's county)
    school:        school rows

Units a report is asked to exclude are subtracted as `Adjustment`s (their school-level figures),
so "annual staff excluding Lanzhou University and Northwest Minzu University" is computed, not
typed in.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from services.reporting.domain.counting import known_sum
from services.reporting.domain.facts import BaselineRowData, Baselines, SchoolFacts

FIELDS = ("schools", "teaching_points", "staff", "fulltime")


@dataclass(frozen=True)
class Figures:
    schools: int | None = None
    teaching_points: int | None = None
    staff: int | None = None
    fulltime: int | None = None
    partial: frozenset[str] = frozenset()  # fields summed over rows some of which were blank

    def get(self, name: str) -> int | None:
        value: int | None = getattr(self, name)
        return value


UNKNOWN = Figures()


def add_rows(rows: Iterable[BaselineRowData], *, count_rows_as_schools: bool = False
             ) -> Figures:
    rows = list(rows)
    if not rows:
        return UNKNOWN
    values: dict[str, int | None] = {}
    partial: set[str] = set()
    for f in FIELDS:
        if f == "schools" and count_rows_as_schools:
            # a school-level row is one school unless it says otherwise
            s = known_sum(r.schools if r.schools is not None else 1 for r in rows)
        else:
            s = known_sum(getattr(r, f) for r in rows)
        values[f] = s.value
        if s.partial:
            partial.add(f)
    return Figures(partial=frozenset(partial), **values)


def add_figures(items: Iterable[Figures]) -> Figures:
    items = list(items)
    if not items:
        return UNKNOWN
    values: dict[str, int | None] = {}
    partial: set[str] = set()
    for f in FIELDS:
        s = known_sum(i.get(f) for i in items)
        values[f] = s.value
        if s.partial or any(f in i.partial for i in items):
            partial.add(f)
    return Figures(partial=frozenset(partial), **values)


@dataclass(frozen=True)
class Adjustment:
    """An excluded unit's own figures, to subtract where the unit is included."""

    unit: str
    stage: str | None
    county_code: str | None
    figures: Figures


def subtract(base: Figures, adjustments: Iterable[Adjustment]) -> Figures:
    adjustments = list(adjustments)
    if not adjustments:
        return base
    values: dict[str, int | None] = {}
    for f in FIELDS:
        v = base.get(f)
        if v is not None:
            for a in adjustments:
                v -= a.figures.get(f) or 0
        values[f] = v
    return Figures(partial=base.partial, **values)


@dataclass(frozen=True)
class StageFigures:
    per_stage: dict[str, Figures]
    total: Figures  # the baseline's own total row when it has one, else the sum of the rows
    total_is_stated: bool  # True when `total` is the baseline's total row
    rows_sum: Figures  # the sum of the stage rows, to check the stated total against
    source: str | None  # "province" | "county" | "school" | None (no baseline)


def stage_figures(baselines: Baselines, kind: str, *, province_scope: bool,
                  counties: set[str] | None, facts: Mapping[str, SchoolFacts],
                  adjustments: Sequence[Adjustment] = ()) -> StageFigures:
    per_stage: dict[str, Figures] = {}
    stated: Figures | None = None
    source: str | None = None
    province = baselines.rows(kind, "province")
    county = [r for r in baselines.rows(kind, "county")
              if counties is None or r.code in counties]
    school = [r for r in baselines.rows(kind, "school")
              if counties is None or _county_of(r, facts) in counties]
    if province_scope and any(r.stage for r in province):
        source = "province"
        for r in province:
            if r.is_total or r.stage is None:
                stated = add_rows([r])
            else:
                per_stage[r.stage] = add_rows([r])  # import refuses a stage twice
    elif any(r.stage for r in county):
        source = "county"
        grouped: dict[str, list[BaselineRowData]] = defaultdict(list)
        for r in county:
            if r.stage and not r.is_total:
                grouped[r.stage].append(r)
        per_stage = {s: add_rows(rs) for s, rs in grouped.items()}
    elif school:
        source = "school"
        grouped = defaultdict(list)
        for r in school:
            if r.stage and not r.is_total:
                grouped[r.stage].append(r)
        per_stage = {s: add_rows(rs, count_rows_as_schools=True) for s, rs in grouped.items()}
    for a in adjustments:
        if a.stage in per_stage:
            per_stage[a.stage] = subtract(per_stage[a.stage], [a])
    rows_sum = add_figures(per_stage.values())
    if stated is not None:
        stated = subtract(stated, adjustments)
    return StageFigures(per_stage, stated if stated is not None else rows_sum,
                        stated is not None, rows_sum, source)


def _county_of(row: BaselineRowData, facts: Mapping[str, SchoolFacts]) -> str | None:
    school = facts.get(row.code)
    return school.county_code if school else None


@dataclass(frozen=True)
class RegionFigures:
    county: dict[str, Figures]  # all stages
    county_kindergarten: dict[str, Figures]
    city: dict[str, Figures]
    source: str | None  # "county" | "school" | None
    unplaced: tuple[str, ...] = field(default=())  # school rows whose county is unknown


def region_figures(baselines: Baselines, kind: str, facts: Mapping[str, SchoolFacts],
                   city_of: Mapping[str, str],
                   adjustments: Sequence[Adjustment] = ()) -> RegionFigures:
    """Per county (all stages and kindergarten alone) and per city; cities are the sum of
    their counties unless the baseline has city rows of its own."""
    county_rows = [r for r in baselines.rows(kind, "county") if not r.is_total]
    school_rows = [r for r in baselines.rows(kind, "school") if not r.is_total]
    county: dict[str, Figures] = {}
    kindergarten: dict[str, Figures] = {}
    unplaced: list[str] = []
    source: str | None = None
    if county_rows:
        source = "county"
        by_county: dict[str, list[BaselineRowData]] = defaultdict(list)
        for r in county_rows:
            by_county[r.code].append(r)
        for code, rows in by_county.items():
            whole = [r for r in rows if r.stage is None]
            county[code] = add_rows(whole) if whole else add_rows(rows)
            kg = [r for r in rows if r.stage == "kindergarten"]
            if kg:
                kindergarten[code] = add_rows(kg)
    elif school_rows:
        source = "school"
        grouped: dict[str, list[BaselineRowData]] = defaultdict(list)
        kg_grouped: dict[str, list[BaselineRowData]] = defaultdict(list)
        for r in school_rows:
            c = _county_of(r, facts)
            if c is None:
                unplaced.append(r.code)
                continue
            grouped[c].append(r)
            if r.stage == "kindergarten":
                kg_grouped[c].append(r)
        county = {c: add_rows(rs, count_rows_as_schools=True) for c, rs in grouped.items()}
        kindergarten = {c: add_rows(rs, count_rows_as_schools=True)
                        for c, rs in kg_grouped.items()}
    for a in adjustments:
        if a.county_code and a.county_code in county and source == "county":
            county[a.county_code] = subtract(county[a.county_code], [a])
    city_rows = [r for r in baselines.rows(kind, "city") if not r.is_total]
    city: dict[str, Figures] = {}
    if city_rows:
        for r in city_rows:
            city[r.code] = add_figures([city[r.code], add_rows([r])]) if r.code in city \
                else add_rows([r])
    else:
        grouped_city: dict[str, list[Figures]] = defaultdict(list)
        for code, fig in county.items():
            c = city_of.get(code)
            if c:
                grouped_city[c].append(fig)
        city = {c: add_figures(figs) for c, figs in grouped_city.items()}
    return RegionFigures(county, kindergarten, city, source, tuple(unplaced))


def school_figures(baselines: Baselines, kind: str) -> dict[str, BaselineRowData]:
    return {r.code: r for r in baselines.rows(kind, "school") if not r.is_total}
