"""What a province plan is made of: schools, the teacher roster spec of each school, the noise
the counting rules must exclude, restructurings, reviews and baselines.

Teachers themselves are not stored: ~365k records would be hundreds of MB. Each school carries
how many teachers are registered there and what becomes of them; `teachers.py` generates the
records of one school on demand from a per-school seed, identically every time.

The end state (what reports must count) is defined per school:
    entered_staff     teachers in post there at the end (stayers + transfers in + merged in)
    entered_fulltime  of those, full-time teachers
    review_complete   of those, county approved
A school "is entered" iff entered_staff >= 1. A school planned to be merged away
(role MERGED) is not a school at the end: its teachers count at its target.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from shared.contracts.vocabulary import LeaveReason, ReportingLine, ReviewLevel, Stage
from simulator.domain.profile import Profile


class Role(StrEnum):
    REGULAR = "regular"  # a school of the profile
    MERGED = "merged"  # an extra school, merged into another before the end (applied batch)
    EXTRA = "extra"  # an extra school holding only teachers who do not count (noise)


class Fate(StrEnum):
    """What becomes of a registered teacher by the end."""

    STAY = "stay"  # in post at the school of registration (or its merge target) at the end
    TRANSFER = "transfer"  # 省内调动 to another school, in post there at the end
    LEAVE = "leave"  # in post at first, then left (retired, resigned)
    NOT_IN_POST = "not_in_post"  # registered with a status that does not count


class Review(StrEnum):
    """Where a record's review stands at the end."""

    SUBMITTED = "submitted"
    SCHOOL_APPROVED = "school_approved"
    COMPLETE = "complete"  # county approved: 审核完成


@dataclass(frozen=True, slots=True)
class TransferPlan:
    teacher_key: str
    from_school: str
    to_school: str
    is_fulltime: bool
    review: Review


@dataclass(frozen=True, slots=True)
class RestructuringOp:
    op: str  # "merge" | "close"
    school_code: str
    target_code: str | None = None


@dataclass(frozen=True, slots=True)
class RestructuringBatch:
    batch_id: str
    effective_date: date
    applied: bool
    operations: tuple[RestructuringOp, ...]


@dataclass(slots=True)
class SchoolPlan:
    code: str
    name: str
    stage: Stage
    is_teaching_point: bool
    county_code: str
    city_code: str
    reporting_line: ReportingLine
    is_rural: bool
    role: Role = Role.REGULAR
    in_annual: bool = False
    annual_staff: int | None = None
    annual_fulltime: int | None = None
    entered_staff: int = 0
    entered_fulltime: int = 0
    review_complete: int = 0
    merged_into: str | None = None
    size: float = 1.0  # relative size, used to shape the figures
    # The roster registered here: stayers first, then transfers out, leavers, not in post.
    stay: int = 0
    stay_fulltime: int = 0
    stay_review_complete: int = 0
    transfers_out: tuple[TransferPlan, ...] = ()
    leavers: int = 0
    not_in_post: int = 0
    id_base: int = 0  # this roster's first index in its county's ID-number space

    @property
    def is_entered(self) -> bool:
        return self.role is not Role.MERGED and self.entered_staff >= 1

    @property
    def registered(self) -> int:
        return self.stay + len(self.transfers_out) + self.leavers + self.not_in_post

    def key(self, index: int) -> str:
        return teacher_key(self.code, index)


def teacher_key(school_code: str, index: int) -> str:
    """The stable synthetic key of the teacher registered `index`-th at a school."""
    return f"{school_code}-{index:04d}"


@dataclass(frozen=True, slots=True)
class AnnualRow:
    """A row of an imported baseline, in the fields of the contracts' BaselineRow."""

    level: str  # "school" | "county" | "province"
    code: str
    name: str | None
    stage: Stage | None
    schools: int | None
    teaching_points: int | None
    staff: int | None
    fulltime: int | None
    is_total: bool = False


@dataclass(frozen=True)
class Baselines:
    annual_schools: tuple[AnnualRow, ...]  # 年报, one row per school in the annual report
    annual_stages: tuple[AnnualRow, ...]  # 年报, the stage table's rows and total as given
    base_table: tuple[AnnualRow, ...]  # 基数表, per county and stage
    base_differences: tuple[tuple[str, Stage, str, int, int], ...]  # county, stage, column,
    # annual value, base value: where the base table departs from the annual report


@dataclass(frozen=True)
class Noise:
    """Teachers whose registration or history the counting rules must see through."""

    retries: frozenset[str]  # registration sent twice with the same Idempotency-Key
    updates: dict[str, str]  # key -> field changed after registration
    rejections: dict[str, ReviewLevel]  # key -> level that rejected first (then fixed)
    returns: frozenset[str]  # registered not in post, then back in post (返岗)
    leave_reasons: dict[str, LeaveReason]  # key -> why the teacher left
    empty_school_not_in_post: tuple[str, ...]  # schools whose only teachers are not in post
    lone_leaver_schools: tuple[str, ...]  # schools whose only teacher left
    touched: frozenset[str] = frozenset()  # every key above (a fast test for "any noise")


@dataclass
class ProvincePlan:
    profile: Profile
    seed: int
    reference_date: date  # ages and dates are planned as of this day (the notice's cut-off)
    notice_applied: bool
    schools: list[SchoolPlan]
    transfers: tuple[TransferPlan, ...]
    batches: tuple[RestructuringBatch, ...]
    noise: Noise
    baselines: Baselines
    excluded_units: tuple[str, ...]  # school codes excluded from the staff headline
    id_blocks: dict[str, int]  # county -> ID-number blocks (see teachers.py)
    notes: tuple[str, ...] = ()
    _by_code: dict[str, SchoolPlan] = field(default_factory=dict, repr=False)

    def school(self, code: str) -> SchoolPlan:
        if not self._by_code:
            self._by_code = {s.code: s for s in self.schools}
        return self._by_code[code]

    def final_schools(self) -> list[SchoolPlan]:
        """The schools the registry holds at the end (merged-away schools are gone)."""
        return [s for s in self.schools if s.role is not Role.MERGED]
