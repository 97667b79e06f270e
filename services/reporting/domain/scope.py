"""Which part of the province a report covers, and which units it leaves out.

A principal reads what covers its region: a province account may ask for any scope; a city
administrator gets its city (and may narrow to one of its counties), and so on. Exclusions
("excluding Lanzhou University and Northwest Minzu University") are data in the request: named
by school code or name, removed from the system side and subtracted from the baseline side.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from services.reporting.domain.facts import BaselineRowData, Baselines, Snapshot
from services.reporting.domain.figures import Adjustment, add_rows
from shared.auth import Principal, Region
from shared.errors import Forbidden


@dataclass(frozen=True)
class Scope:
    city_code: str | None = None
    county_code: str | None = None
    school_code: str | None = None

    @property
    def is_province(self) -> bool:
        return not (self.city_code or self.county_code or self.school_code)

    def label(self) -> str:
        if self.school_code:
            return f"school {self.school_code}"
        if self.county_code:
            return f"county {self.county_code}"
        if self.city_code:
            return f"city {self.city_code}"
        return "province"

    def contains(self, city: str | None, county: str | None, school: str | None = None) -> bool:
        if self.school_code:
            return school == self.school_code
        if self.county_code:
            return county == self.county_code
        if self.city_code:
            return city == self.city_code
        return True


def scope_for(principal: Principal, *, city: str | None = None, county: str | None = None,
              school: str | None = None, city_of_county: dict[str, str] | None = None
              ) -> Scope:
    """The scope asked for, narrowed to the principal's region; Forbidden when outside it."""
    asked = Scope(city, county, school)
    if principal.province_wide:
        return asked
    own = Scope(principal.city_code, principal.county_code, principal.school_code)
    if asked.is_province:
        return own
    cities = city_of_county or {}
    region = Region(school_code=school, county_code=county,
                    city_code=city or (cities.get(county) if county else None))
    if not principal.covers(region):
        raise Forbidden(f"{principal.role} may not read {asked.label()}")
    return asked


def within(snapshot: Snapshot, scope: Scope) -> Snapshot:
    """The snapshot restricted to the scope (baselines are filtered where they are used)."""
    if scope.is_province:
        return snapshot
    return snapshot.with_schools(s for s in snapshot.schools
                                 if scope.contains(s.city_code, s.county_code, s.code))


@dataclass(frozen=True)
class Exclusion:
    requested: str
    matched_codes: tuple[str, ...]
    names: tuple[str, ...]
    adjustments: tuple[Adjustment, ...]
    annual_staff: int | None  # the units' staff in the school-level annual report
    system_staff: int

    @property
    def found(self) -> bool:
        return bool(self.matched_codes)


def resolve_exclusions(snapshot: Snapshot, requested: tuple[str, ...]
                       ) -> tuple[Snapshot, tuple[Exclusion, ...]]:
    """Drop the named units from the system side; return what to subtract from annual figures.

    A unit is matched by code or exact name, in the registry and in the school-level annual
    baseline. Its annual figures come from that baseline; a unit it lacks is still reported,
    with its annual staff unknown (so the adjusted total is flagged, not guessed)."""
    if not requested:
        return snapshot, ()
    facts = snapshot.by_code()
    annual_rows = snapshot.baselines.rows("annual", "school")
    out: list[Exclusion] = []
    drop: set[str] = set()
    for wanted in requested:
        w = wanted.strip()
        codes = {s.code for s in snapshot.schools if s.code == w or s.name == w}
        rows: list[BaselineRowData] = [r for r in annual_rows if r.code == w or r.name == w]
        codes |= {r.code for r in rows}
        names = tuple(sorted({facts[c].name for c in codes if c in facts}
                             | {r.name for r in rows if r.name}))
        adjustments = tuple(
            Adjustment(unit=r.code, stage=r.stage or (facts[r.code].stage if r.code in facts
                                                       else None),
                       county_code=facts[r.code].county_code if r.code in facts else None,
                       figures=add_rows([r], count_rows_as_schools=True)) for r in rows)
        annual = None if not rows or any(r.staff is None for r in rows) else \
            sum(r.staff or 0 for r in rows)
        system = sum(facts[c].staff for c in codes if c in facts and facts[c].open)
        out.append(Exclusion(w, tuple(sorted(codes)), names, adjustments, annual, system))
        drop |= codes
    kept = snapshot.with_schools(s for s in snapshot.schools if s.code not in drop)
    kept = replace(kept, excluded=tuple(sorted(drop)),
                   baselines=_without_school_rows(snapshot.baselines, drop))
    return kept, tuple(out)


def _without_school_rows(baselines: Baselines, codes: set[str]) -> Baselines:
    chosen = {}
    for key, b in baselines.chosen.items():
        if key[1] == "school":
            b = replace(b, rows=tuple(r for r in b.rows if r.code not in codes))
        chosen[key] = b
    return Baselines(baselines.year, chosen)
