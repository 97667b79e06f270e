"""The baselines the department compares the system with, as the plan imports them.

- 年报 (annual report): one row per school it lists (staff and full-time as the school
  reported them), and the stage table's rows and total row exactly as the profile gives them,
  so a total that does not add up (the notice's 20166 against 20196) is there to be flagged;
- 基数表 (base table): per county and stage, the annual report's figures, except in a few
  counties where the base table departs a little (a school or a few staff), for the three-way
  comparison the notice describes.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from shared.contracts.vocabulary import Stage
from simulator.domain.layout import CountyInfo
from simulator.domain.model import AnnualRow, Baselines, SchoolPlan
from simulator.domain.profile import Profile

BASE_DIFFERENCES = 5


def annual_school_rows(schools: Sequence[SchoolPlan], profile: Profile) -> tuple[AnnualRow, ...]:
    with_points = {s.key for s in profile.stages if s.teaching_points_annual is not None}
    return tuple(
        AnnualRow(level="school", code=s.code, name=s.name, stage=s.stage, schools=1,
                  teaching_points=(1 if s.is_teaching_point else 0)
                  if s.stage.value in with_points else None,
                  staff=s.annual_staff, fulltime=s.annual_fulltime)
        for s in schools if s.in_annual)


def annual_stage_rows(profile: Profile) -> tuple[AnnualRow, ...]:
    rows = [AnnualRow(level="province", code="province", name=s.name, stage=s.stage,
                      schools=s.schools_annual, teaching_points=s.teaching_points_annual,
                      staff=s.staff_annual, fulltime=s.fulltime_annual) for s in profile.stages]
    if profile.total is not None:
        t = profile.total
        rows.append(AnnualRow(level="province", code="province", name=t.name, stage=None,
                              schools=t.schools_annual, teaching_points=t.teaching_points_annual,
                              staff=t.staff_annual, fulltime=t.fulltime_annual, is_total=True))
    return tuple(rows)


def _add(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else a + b


def base_table(school_rows: Sequence[AnnualRow], county_of: dict[str, str],
               counties: Sequence[CountyInfo], rng: random.Random
               ) -> tuple[tuple[AnnualRow, ...], tuple[tuple[str, Stage, str, int, int], ...]]:
    sums: dict[tuple[str, Stage], list[int | None]] = {}
    for r in school_rows:
        assert r.stage is not None
        key = (county_of[r.code], r.stage)
        acc = sums.get(key)
        if acc is None:
            sums[key] = [1, r.teaching_points, r.staff, r.fulltime]
        else:
            acc[0] = (acc[0] or 0) + 1
            acc[1] = _add(acc[1], r.teaching_points)
            acc[2] = _add(acc[2], r.staff)
            acc[3] = _add(acc[3], r.fulltime)
    keys = sorted(sums, key=lambda k: (k[0], list(Stage).index(k[1])))
    differences: list[tuple[str, Stage, str, int, int]] = []
    changed = rng.sample(keys, min(BASE_DIFFERENCES, len(keys)))
    for key in sorted(changed, key=keys.index):
        acc = sums[key]
        column = "staff" if acc[2] is not None and rng.random() < 0.6 else "schools"
        index = 2 if column == "staff" else 0
        before = acc[index] or 0
        delta = rng.randint(3, 40) if column == "staff" else rng.randint(1, 3)
        after = before + delta if rng.random() < 0.5 or before - delta < 0 else before - delta
        acc[index] = after
        differences.append((key[0], key[1], column, before, after))
    names = {c.code: c.name for c in counties}
    rows = tuple(AnnualRow(level="county", code=county, name=names.get(county), stage=stage,
                           schools=sums[(county, stage)][0],
                           teaching_points=sums[(county, stage)][1],
                           staff=sums[(county, stage)][2], fulltime=sums[(county, stage)][3])
                 for county, stage in keys)
    return rows, tuple(differences)


def build_baselines(schools: Sequence[SchoolPlan], profile: Profile,
                    counties: Sequence[CountyInfo], rng: random.Random) -> Baselines:
    school_rows = annual_school_rows(schools, profile)
    county_of = {s.code: s.county_code for s in schools}
    table, differences = base_table(school_rows, county_of, counties, rng)
    return Baselines(annual_schools=school_rows, annual_stages=annual_stage_rows(profile),
                     base_table=table, base_differences=differences)
