"""What a report is computed from: the per-school facts as of a cut-off, the baselines in use,
sign-offs, confirmation status and pending restructurings. Adapters build a Snapshot with SQL;
everything after that is pure and unit-tested.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime

from services.reporting.domain.asof import AsOf


@dataclass(frozen=True)
class SchoolFacts:
    """One school as of the cut-off, with its counted teachers (the counting rules applied)."""

    code: str
    name: str
    stage: str | None
    is_teaching_point: bool
    county_code: str | None
    city_code: str | None
    reporting_line: str | None = None
    open: bool = True
    staff: int = 0  # 教职工: in post at this unit, not left
    fulltime: int = 0  # 专任教师: a subset of staff
    reviewed: int = 0  # staff whose current record version completed county review
    completeness_sum: float = 0.0

    @property
    def entered(self) -> bool:
        """A school counts as entered iff it is open and has at least one counted teacher."""
        return self.open and self.staff > 0


@dataclass(frozen=True)
class BaselineRowData:
    level: str  # province | city | county | school
    code: str
    name: str | None
    stage: str | None
    schools: int | None
    teaching_points: int | None
    staff: int | None
    fulltime: int | None
    is_total: bool = False


@dataclass(frozen=True)
class Baseline:
    """One imported baseline (all chunks received): annual report or base table, one year."""

    baseline_id: str
    kind: str
    year: int
    imported_at: datetime
    rows: tuple[BaselineRowData, ...]

    def at(self, level: str) -> tuple[BaselineRowData, ...]:
        return tuple(r for r in self.rows if r.level == level)


@dataclass(frozen=True)
class Baselines:
    """The baselines a report uses: per (kind, level) the newest import of the year."""

    year: int | None = None
    chosen: dict[tuple[str, str], Baseline] = field(default_factory=dict)

    def rows(self, kind: str, level: str) -> tuple[BaselineRowData, ...]:
        b = self.chosen.get((kind, level))
        return b.at(level) if b else ()

    def source(self, kind: str, level: str) -> str | None:
        b = self.chosen.get((kind, level))
        return b.baseline_id if b else None


@dataclass(frozen=True)
class Signoff:
    county_code: str
    city_code: str
    occurred_at: datetime
    actor: str
    agrees: bool
    schools_system: int
    staff_system: int
    schools_base: int | None
    staff_base: int | None
    explanation: str


@dataclass(frozen=True)
class Confirmation:
    """A school's confirmation table status as of the cut-off."""

    school_code: str
    exported_at: datetime | None = None
    exported_teachers: tuple[str, ...] = ()
    returned_at: datetime | None = None
    signed: bool = False
    confirmed_teachers: frozenset[str] = frozenset()


@dataclass(frozen=True)
class PendingOperation:
    """A restructuring operation announced but not applied as of the cut-off."""

    batch_id: str
    op: str
    school_code: str
    stage: str | None
    effective_date: str | None


@dataclass(frozen=True)
class Snapshot:
    as_of: AsOf
    schools: tuple[SchoolFacts, ...]
    baselines: Baselines = field(default_factory=Baselines)
    # teachers counted at a school the registry does not know (yet) / that is closed
    staff_at_unknown_schools: dict[str, int] = field(default_factory=dict)
    staff_at_closed_schools: dict[str, int] = field(default_factory=dict)
    signoffs: dict[str, Signoff] = field(default_factory=dict)
    confirmations: dict[str, Confirmation] = field(default_factory=dict)
    confirmed_counted: dict[str, int] = field(default_factory=dict)  # school -> staff confirmed
    pending: tuple[PendingOperation, ...] = ()
    excluded: tuple[str, ...] = ()

    def by_code(self) -> dict[str, SchoolFacts]:
        return {s.code: s for s in self.schools}

    def open_schools(self) -> Iterable[SchoolFacts]:
        return (s for s in self.schools if s.open)

    def with_schools(self, schools: Iterable[SchoolFacts]) -> Snapshot:
        return replace(self, schools=tuple(schools))
