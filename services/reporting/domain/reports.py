"""Assemble a named report from a snapshot: the one pure function every output goes through
(HTTP JSON/CSV/XLSX, the CLI, the dashboard), so they can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from services.reporting.domain.comparison import comparison_table
from services.reporting.domain.confirmation import confirmation_tables
from services.reporting.domain.facts import Snapshot
from services.reporting.domain.figures import stage_figures
from services.reporting.domain.findings import (
    FindingsParams,
    data_issue_flags,
    headline,
    kindergarten_gaps,
    lowest_cities,
    notice_text,
    pending_restructurings,
    zero_teacher_schools,
)
from services.reporting.domain.regions import (
    city_table,
    county_table,
    region_inputs,
    school_table,
)
from services.reporting.domain.scope import Scope, resolve_exclusions, within
from services.reporting.domain.stages import stage_table
from services.reporting.domain.tables import Report, Table
from shared.domain.divisions import Divisions
from shared.errors import Problem, ValidationProblem

REPORTS = ("stages", "cities", "counties", "schools", "findings", "confirmation", "comparison")
TITLES = {"stages": "分学段数据录入情况统计表", "cities": "分市州录入数据对比",
          "counties": "分县区录入数据对比", "schools": "分学校录入数据对比",
          "findings": "数据采集情况主要发现", "confirmation": "教师系统信息审核确认情况统计表",
          "comparison": "基数表、年报、系统数据三方对比"}


@dataclass(frozen=True)
class ReportRequest:
    name: str
    scope: Scope = field(default_factory=Scope)
    exclude: tuple[str, ...] = ()
    findings: FindingsParams = field(default_factory=FindingsParams)


def regions_in(scope: Scope, divisions: Divisions, snapshot: Snapshot
               ) -> tuple[list[str], list[str]]:
    if scope.is_province:
        return sorted(divisions.cities), sorted(divisions.counties)
    if scope.city_code:
        return [scope.city_code], sorted(c.code for c in divisions.counties_of(scope.city_code))
    county = scope.county_code
    if county is None and scope.school_code:
        school = snapshot.by_code().get(scope.school_code)
        county = school.county_code if school else None
    if county is None:
        return [], []
    city = divisions.city_of(county)
    return ([city] if city else []), [county]


def build_report(request: ReportRequest, snapshot: Snapshot, divisions: Divisions) -> Report:
    if request.name not in REPORTS:
        raise ValidationProblem([Problem("report", f"unknown report {request.name!r}; one of "
                                                   f"{', '.join(REPORTS)}")])
    scope = request.scope
    full = snapshot
    snapshot, exclusions = resolve_exclusions(snapshot, request.exclude)
    adjustments = [a for e in exclusions for a in e.adjustments]
    cities, counties = regions_in(scope, divisions, full)
    scoped = within(snapshot, scope)
    county_set = None if scope.is_province else set(counties)
    stages, annual_figs = stage_table(scoped, province_scope=scope.is_province,
                                      counties=county_set, adjustments=adjustments)
    tables: list[Table] = []
    summary: dict[str, Any] = {}
    flags = list(data_issue_flags(scoped))
    inputs = region_inputs(snapshot, divisions, adjustments)
    h = headline(scoped, annual_figs, exclusions,
                 stage_table(within(full, scope), province_scope=scope.is_province,
                             counties=county_set)[1] if exclusions else None)
    summary["headline"] = h
    if request.name == "stages":
        tables.append(stages)
    elif request.name == "cities":
        tables.append(city_table(snapshot, divisions, inputs, cities))
    elif request.name == "counties":
        tables.append(county_table(snapshot, divisions, inputs, counties))
    elif request.name == "schools":
        schools = sorted(scoped.schools, key=lambda s: (s.county_code or "", s.code))
        tables.append(school_table(snapshot, schools, divisions))
    elif request.name == "findings":
        params = request.findings
        lowest = lowest_cities(inputs, divisions, params.lowest_cities)
        kg = kindergarten_gaps(inputs, divisions, params.kindergarten_counties)
        if not scope.is_province:  # a city or county reads its own part of the rankings
            lowest = replace(lowest, rows=tuple(r for r in lowest.rows
                                                if r["city_code"] in cities))
            kg = replace(kg, rows=tuple(r for r in kg.rows if r["county_code"] in counties))
        zero, expected = zero_teacher_schools(scoped, divisions, params.zero_school_limit)
        pending = pending_restructurings(scoped)
        tables += [lowest, kg, expected, zero, pending]
        summary["notice_text"] = notice_text(h, snapshot.baselines.year, _as_of_words(snapshot),
                                             lowest, kg, expected, pending)
        flags += stages.flags
    elif request.name == "confirmation":
        tables += confirmation_tables(scoped, divisions, scoped.schools)
    elif request.name == "comparison":
        base_figs = stage_figures(scoped.baselines, "base", province_scope=scope.is_province,
                                  counties=county_set, facts=scoped.by_code())
        school_scope = None if scope.is_province else {s.code for s in scoped.schools}
        tables.append(comparison_table(scoped, divisions, inputs, annual_figs, base_figs,
                                       cities, counties, include_province=True,
                                       school_scope=school_scope))
    sources = {"year": snapshot.baselines.year,
               "baselines": {f"{k}/{lvl}": b.baseline_id
                             for (k, lvl), b in sorted(snapshot.baselines.chosen.items())},
               "annual_stage_source": annual_figs.source, "scope": scope.label(),
               "excluded": list(snapshot.excluded)}
    return Report(request.name, TITLES[request.name], snapshot.as_of.label,
                  snapshot.as_of.cutoff.isoformat(), tuple(tables), summary, tuple(flags),
                  sources)


def _as_of_words(snapshot: Snapshot) -> str:
    d = snapshot.as_of.day
    return f"{d.year} 年 {d.month} 月 {d.day} 日"
