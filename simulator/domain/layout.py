"""Where the schools are: every stage's schools spread over the 87 counties, named, coded, and
marked as listed in the annual report and/or entered (holding teachers in post at the end).

Kindergartens, primary, junior and senior schools reach every county when there are enough of
them; teaching points sit in the countryside; universities and province-direct vocational
schools sit in city seats, mostly Lanzhou's districts. Which schools are in the annual report
and which are entered is decided per county, so that each stage has exactly the profile's
counts: when the annual report lists more schools than are entered, the entered ones are among
the listed; when more are entered (the notice's 47 special schools vs 40), the extra ones are
not in the annual report.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from shared.contracts.vocabulary import ReportingLine, Stage
from shared.domain.divisions import divisions
from simulator.domain.apportion import apportion
from simulator.domain.findings import NamedSchool
from simulator.domain.model import Role, SchoolPlan
from simulator.domain.names import SchoolNamer, short_city

BIG_STAGES = (Stage.KINDERGARTEN, Stage.PRIMARY, Stage.JUNIOR, Stage.SENIOR)
# Typical staff per school, shaping sizes only (the profile fixes every total).
TYPICAL_SIZE = {Stage.KINDERGARTEN: 9.0, Stage.PRIMARY: 14.0, Stage.JUNIOR: 60.0,
                Stage.SENIOR: 150.0, Stage.SPECIAL: 20.0, Stage.VOCATIONAL: 80.0,
                Stage.HIGHER: 700.0}
TEACHING_POINT_SIZE = 0.15  # relative to a primary school
# Where universities cluster: Lanzhou's districts, then one or two per city seat.
HIGHER_WEIGHTS = {"620102": 8.0, "620103": 4.0, "620105": 5.0, "620104": 1.0, "620123": 2.0}
PROVINCE_VOCATIONAL_WEIGHTS = {"620102": 5.0, "620103": 4.0, "620105": 4.0, "620104": 2.0}
OTHER_SEAT_WEIGHT = {Stage.HIGHER: 0.9, Stage.VOCATIONAL: 0.4}  # per seat outside Lanzhou
PASTORAL = {"620923", "620924", "623025", "623026", "620721", "623024"}  # sparse counties


class PlanError(ValueError):
    """The profile and the requested findings cannot be planned together."""


@dataclass(frozen=True)
class CountyInfo:
    code: str
    name: str
    city_code: str
    city_name: str
    is_district: bool  # 区 / 市 / 市辖区: urban; a 县 is mostly rural
    is_seat: bool  # the city's seat (its first county)
    weight: float  # relative size, seeded


def county_table(rng: random.Random) -> list[CountyInfo]:
    """The 87 counties with seeded sizes: city seats and Lanzhou's districts larger, pastoral
    counties small."""
    d = divisions()
    seats: dict[str, str] = {}
    out: list[CountyInfo] = []
    for code in sorted(d.counties):
        c = d.counties[code]
        seats.setdefault(c.city_code, code)
        is_district = c.name.endswith(("区", "市"))
        w = rng.uniform(0.6, 1.5)
        if seats[c.city_code] == code:
            w *= 1.4
        if code == "620102":
            w *= 1.8
        if code in PASTORAL:
            w *= 0.3
        out.append(CountyInfo(code, c.name, c.city_code, c.city_name, is_district,
                              seats[c.city_code] == code, w))
    return out


class CodeBook:
    """School codes: county code + a 4-digit sequence, in order of creation per county."""

    def __init__(self) -> None:
        self._next: dict[str, int] = {}

    def next(self, county: str) -> str:
        n = self._next.get(county, 0) + 1
        if n > 9999:
            raise PlanError(f"county {county} would need more than 9999 school codes")
        self._next[county] = n
        return f"{county}{n:04d}"


class Layout:
    """Builds the skeleton of the province, stage by stage."""

    def __init__(self, rng: random.Random, counties: list[CountyInfo], codes: CodeBook,
                 namer: SchoolNamer) -> None:
        self.rng = rng
        self.counties = counties
        self.by_code = {c.code: c for c in counties}
        self.codes = codes
        self.namer = namer
        self.entered: set[str] = set()  # schools holding teachers in post at the end

    def new_school(self, county: CountyInfo, stage: Stage, name: str, *,
                   teaching_point: bool = False, line: ReportingLine = ReportingLine.COUNTY,
                   rural: bool = False, size: float = 1.0, role: Role = Role.REGULAR
                   ) -> SchoolPlan:
        school = SchoolPlan(code=self.codes.next(county.code), name=name, stage=stage,
                            is_teaching_point=teaching_point, county_code=county.code,
                            city_code=county.city_code, reporting_line=line, is_rural=rural,
                            role=role, size=size)
        return school

    def county_school(self, county: CountyInfo, stage: Stage, teaching_point: bool,
                      role: Role = Role.REGULAR) -> SchoolPlan:
        """A county-run school with a plausible name, rurality and seeded size."""
        rng = self.rng
        if stage is Stage.HIGHER:
            name = self.namer.institution(short_city(county.city_name), ("学院", "职业技术学院"))
            size = TYPICAL_SIZE[stage] * rng.lognormvariate(0.0, 0.5)
            return self.new_school(county, stage, name, line=ReportingLine.UNIVERSITY,
                                   size=size, role=role)
        urban = county.is_district and rng.random() < 0.6
        name = self.namer.county_school(county.name, stage.value, urban=urban,
                                        teaching_point=teaching_point)
        numbered = "第" in name[len(county.name):] or name.endswith(("特殊教育学校",
                                                                     "职业中等专业学校"))
        rural = teaching_point or (stage in (Stage.KINDERGARTEN, Stage.PRIMARY, Stage.JUNIOR)
                                   and not numbered)
        size = TYPICAL_SIZE[stage] * rng.lognormvariate(0.0, 0.45) * (0.7 + 0.3 * county.weight)
        if teaching_point:
            size *= TEACHING_POINT_SIZE
        line = ReportingLine.COUNTY
        if county.is_seat and stage in (Stage.SENIOR, Stage.SPECIAL) and rng.random() < 0.25:
            line = ReportingLine.CITY
        return self.new_school(county, stage, name, teaching_point=teaching_point, line=line,
                               rural=rural, size=size, role=role)

    # ------------------------------------------------------------------ placing a stage

    def place_stage(self, stage: Stage, total: int, teaching_points: int,
                    named: Sequence[NamedSchool], county_boost: dict[str, float]
                    ) -> list[SchoolPlan]:
        """Create `total` schools of a stage (of which `teaching_points` teaching points),
        the named ones first at their counties."""
        made: list[SchoolPlan] = []
        for ns in named:
            county = self.by_code[ns.county_code]
            size = TYPICAL_SIZE[stage] * self.rng.lognormvariate(0.0, 0.3)
            made.append(self.new_school(county, stage, self.namer.claim(ns.name),
                                        line=ns.reporting_line, size=size))
        free = total - len(made)
        if free < 0:
            raise PlanError(f"{stage.value}: the profile has {total} schools, fewer than the "
                            f"{len(made)} the findings name")
        if stage is Stage.HIGHER:
            made += self._institutions(stage, free, HIGHER_WEIGHTS)
            return made
        if stage is Stage.VOCATIONAL:
            province_direct = min(free, max(0, round(0.12 * total) - len(made)))
            made += self._institutions(stage, province_direct, PROVINCE_VOCATIONAL_WEIGHTS)
            free -= province_direct
        regular = free - teaching_points
        if regular < 0:
            raise PlanError(f"{stage.value}: {teaching_points} teaching points but only {free} "
                            "schools to place")
        weights = [c.weight * county_boost.get(c.code, 1.0) for c in self.counties]
        floors = [1] * len(self.counties) if stage in BIG_STAGES and \
            regular >= len(self.counties) else None
        for county, n in zip(self.counties, apportion(regular, weights, floors=floors),
                             strict=True):
            made += [self.county_school(county, stage, False) for _ in range(n)]
        rural_w = [c.weight * (0.15 if c.is_district else 1.0) for c in self.counties]
        for county, n in zip(self.counties, apportion(teaching_points, rural_w), strict=True):
            made += [self.county_school(county, stage, True) for _ in range(n)]
        return made

    def _institutions(self, stage: Stage, n: int, lanzhou: dict[str, float]
                      ) -> list[SchoolPlan]:
        """Province-level institutions: mostly in Lanzhou, the rest in the other city seats."""
        seats = [c for c in self.counties if c.is_seat and c.city_code != "620100"]
        places = [self.by_code[code] for code in lanzhou] + seats
        weights = list(lanzhou.values()) + [OTHER_SEAT_WEIGHT[stage]] * len(seats)
        out: list[SchoolPlan] = []
        for county, k in zip(places, apportion(n, weights), strict=True):
            for _ in range(k):
                if stage is Stage.HIGHER and county.city_code == "620100":
                    prefix = "甘肃" if self.rng.random() < 0.5 else "兰州"
                    name = self.namer.institution(prefix, ("大学", "学院", "职业技术学院",
                                                           "职业学院"))
                    line = ReportingLine.UNIVERSITY
                elif stage is Stage.HIGHER:
                    name = self.namer.institution(short_city(county.city_name),
                                                  ("学院", "职业技术学院"))
                    line = ReportingLine.UNIVERSITY
                else:
                    name = self.namer.institution("甘肃省", ("学校", "中等专业学校", "职业学校"))
                    line = ReportingLine.PROVINCE
                size = TYPICAL_SIZE[stage] * self.rng.lognormvariate(0.0, 0.5)
                out.append(self.new_school(county, stage, name, line=line, size=size))
        return out

    # ------------------------------------------------------------------ annual and entered

    def mark(self, schools: list[SchoolPlan], annual: int, entered: int,
             forced_zero: set[str], entered_weight: Callable[[CountyInfo], float]) -> None:
        """Choose which of these schools (one category of one stage) are in the annual report
        and which are entered: exactly `annual` and `entered` of them, county by county."""
        n = len(schools)
        if max(annual, entered) != n:
            raise PlanError(f"internal: {n} schools for annual {annual} / entered {entered}")
        by_county: dict[str, list[SchoolPlan]] = {}
        for s in schools:
            by_county.setdefault(s.county_code, []).append(s)
        codes = sorted(by_county)
        sizes = [len(by_county[c]) for c in codes]
        zero = [sum(1 for s in by_county[c] if s.code in forced_zero) for c in codes]
        if entered == n and any(zero):
            raise PlanError("a stage whose schools are all entered cannot hold the named "
                            "schools with no teacher")
        annual_k = sizes if annual == n else apportion(annual, sizes, floors=zero, caps=sizes)
        entered_w = [sizes[i] * entered_weight(self.by_code[c]) for i, c in enumerate(codes)]
        caps = [sizes[i] - zero[i] for i in range(len(codes))]
        entered_k = sizes if entered == n else apportion(entered, entered_w, caps=caps)
        for i, code in enumerate(codes):
            group = by_county[code]
            order = [s for s in group if s.code not in forced_zero]
            self.rng.shuffle(order)
            if annual == n:
                for s in group:
                    s.in_annual = True
                chosen = order[: entered_k[i]]
            else:
                chosen = group
                listed = [s for s in group if s.code in forced_zero] + order
                for s in listed[: annual_k[i]]:
                    s.in_annual = True
            self.entered.update(s.code for s in chosen)
