"""The orgsync domain's nouns: a batch, what orgsync knows of the registry, counts, issues.

A `Batch` is one quarterly restructuring decision (id, effective date, operations in file
order). A `RegistrySnapshot` is the part of the school registry a plan needs: the schools the
batch names and the counts of the counties it touches. An `Issue` is one thing wrong with a
batch (a problem refuses the whole batch; a warning only informs).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from shared.contracts.events import (
    RestructuringBatchAnnounced,
    RestructuringBatchApplied,
    RestructuringOperation,
    SchoolProfile,
)
from shared.contracts.vocabulary import Stage
from shared.errors import Problem

# Ops that end a school's life. Every other op keeps the school open.
TERMINAL_OPS = frozenset({"merge", "close"})


@dataclass(frozen=True)
class Batch:
    """A restructuring batch as submitted: operations keep the order (and lines) of the file."""

    batch_id: str
    effective_date: date
    operations: tuple[RestructuringOperation, ...]

    @property
    def stream_id(self) -> str:
        return f"batch-{self.batch_id}"

    def fingerprint(self) -> str:
        """What the batch decides, independent of the file's layout: the same operations from
        a CSV and from a JSON file (different line numbers) have the same fingerprint, so
        re-submitting a batch is recognised as the same batch."""
        doc = {
            "effective_date": self.effective_date.isoformat(),
            "operations": [op.model_dump(mode="json", exclude={"line"})
                           for op in self.operations],
        }
        raw = json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(raw.encode()).hexdigest()

    @classmethod
    def from_event(cls, event: RestructuringBatchAnnounced | RestructuringBatchApplied
                   ) -> Batch:
        return cls(event.batch_id, event.effective_date, tuple(event.operations))

    def school_codes(self) -> set[str]:
        """Every school code the batch names, as subject or as target."""
        codes = {op.school_code for op in self.operations}
        codes |= {op.target_code for op in self.operations if op.target_code}
        return codes

    def county_codes(self) -> set[str]:
        return {op.county_code for op in self.operations if op.county_code}


@dataclass(frozen=True)
class SchoolState:
    """One school as the registry knows it now, with its teachers."""

    code: str
    profile: SchoolProfile
    open: bool = True
    in_post: int = 0  # teachers 在本单位任职: the ones that count as staff
    attached: int = 0  # every teacher of the school who has not left (in post or not)
    merged_into: str | None = None


@dataclass(frozen=True)
class Counts:
    """Counts of one (county, stage) cell, by the notice's rules: a school counts as entered
    when it has at least one teacher in post; staff are teachers in post; teaching points are
    also counted on their own."""

    schools: int = 0
    entered: int = 0
    teaching_points: int = 0
    staff: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.schools + other.schools, self.entered + other.entered,
                      self.teaching_points + other.teaching_points, self.staff + other.staff)

    def __sub__(self, other: Counts) -> Counts:
        return Counts(self.schools - other.schools, self.entered - other.entered,
                      self.teaching_points - other.teaching_points, self.staff - other.staff)

    def as_dict(self) -> dict[str, int]:
        return {"schools": self.schools, "entered": self.entered,
                "teaching_points": self.teaching_points, "staff": self.staff}


CountKey = tuple[str, Stage]  # (county_code, stage)


@dataclass(frozen=True)
class RegistrySnapshot:
    """What a plan needs of the registry. `schools` holds (at least) every school the batch
    names; a code missing from it is unknown. `counts` holds the current counts of (at least)
    every county the batch touches; a missing cell counts as zero."""

    schools: Mapping[str, SchoolState] = field(default_factory=dict)
    counts: Mapping[CountKey, Counts] = field(default_factory=dict)


class IssueKind(StrEnum):
    # the file itself
    FORMAT = "format"
    MISSING_FIELD = "missing_field"
    UNUSED_FIELD = "unused_field"
    INVALID_VALUE = "invalid_value"
    UNKNOWN_OP = "unknown_op"
    BAD_BATCH_ID = "bad_batch_id"
    BAD_EFFECTIVE_DATE = "bad_effective_date"
    MIXED_HEADER = "mixed_header"
    EMPTY_BATCH = "empty_batch"
    TOO_MANY_OPERATIONS = "too_many_operations"
    UNKNOWN_COUNTY = "unknown_county"
    CITY_MISMATCH = "city_mismatch"
    TEACHING_POINT_STAGE = "teaching_point_stage"
    # the batch against itself
    CONFLICT = "conflict"
    SELF_MERGE = "self_merge"
    TARGET_LEAVES = "target_leaves"
    CYCLE = "cycle"
    # the batch against the registry
    UNKNOWN_SCHOOL = "unknown_school"
    CODE_EXISTS = "code_exists"
    SCHOOL_CLOSED = "school_closed"
    TARGET_CLOSED = "target_closed"
    TEACHERS_IN_POST = "teachers_in_post"
    # warnings
    NO_CHANGE = "no_change"
    CROSS_STAGE_MERGE = "cross_stage_merge"
    CROSS_COUNTY_MERGE = "cross_county_merge"
    TEACHERS_LEFT_BEHIND = "teachers_left_behind"


@dataclass(frozen=True)
class Issue:
    """One finding about a batch, located by the line of the file (None: the whole batch)."""

    kind: IssueKind
    message: str
    line: int | None = None
    field: str = "batch"

    def as_problem(self) -> Problem:
        return Problem(loc=self.field, msg=self.message, row=self.line)

    def as_dict(self) -> dict[str, object]:
        return {"kind": self.kind.value, "line": self.line, "field": self.field,
                "message": self.message}


def sort_issues(issues: list[Issue]) -> list[Issue]:
    """By line (batch-level first), then in the order found."""
    return sorted(issues, key=lambda i: -1 if i.line is None else i.line)
