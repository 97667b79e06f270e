"""Following orgsync's restructuring batches: what each operation means for the registry.

`plan_batch` is pure: given the batch and the current state of every school it names (and the
teachers of the schools that lose teachers), it returns the events to append, in order, with
each stream's expected version, and the operations it skipped with the reason. An operation
the registry already reflects (school already registered, already closed, profile already so)
is skipped, not an error: a batch replayed or re-applied changes nothing.

    open                      -> SchoolRegistered (batch_id)
    rename / restage /
    change_reporting_line /
    move_county               -> SchoolChanged (batch_id)
    close                     -> [TeacherReassigned per teacher to target_code], SchoolClosed
    merge A into B            -> TeacherReassigned per teacher of A (A -> B), SchoolClosed(A, B)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from services.intake.domain import school as schools
from services.intake.domain import teacher as teachers
from services.intake.domain.school import School
from services.intake.domain.teacher import Teacher
from shared.contracts.base import EventPayload
from shared.contracts.events import RestructuringBatchApplied, RestructuringOperation
from shared.errors import Conflict, ValidationProblem

_PROFILE_OPS = ("rename", "restage", "change_reporting_line", "move_county")
_PROFILE_KEYS = ("name", "stage", "is_teaching_point", "county_code", "city_code",
                 "reporting_line", "is_rural")


@dataclass(frozen=True)
class Step:
    """One event for one stream, appended at `expected_version` (the version before it)."""

    stream_id: str
    expected_version: int
    event: EventPayload


@dataclass
class Plan:
    steps: list[Step] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)
    schools: dict[str, School] = field(default_factory=dict)
    teachers: dict[str, Teacher] = field(default_factory=dict)

    def school_step(self, code: str, before: School | None, event: EventPayload) -> None:
        version = before.version if before else 0
        self.steps.append(Step(schools.stream_id(code), version, event))
        after = schools.evolve(before, event, version + 1)
        self.schools[after.code] = after

    def teacher_step(self, before: Teacher, event: EventPayload) -> None:
        self.steps.append(Step(before.stream_id, before.version, event))
        self.teachers[before.teacher_id] = teachers.evolve(before, event, before.version + 1)


def codes_named(batch: RestructuringBatchApplied) -> set[str]:
    """Every school code the batch names (to load them before planning)."""
    return {c for op in batch.operations for c in (op.school_code, op.target_code) if c}


def losing_schools(batch: RestructuringBatchApplied) -> set[str]:
    """Schools whose teachers may move (merge sources, closes with a target)."""
    return {op.school_code for op in batch.operations
            if op.op == "merge" or (op.op == "close" and op.target_code)}


def plan_batch(batch: RestructuringBatchApplied, current: dict[str, School],
               staff: dict[str, list[Teacher]]) -> Plan:
    """The events that apply `batch` to the registry whose schools are `current` and whose
    active (not departed) teachers per losing school are `staff`."""
    plan = Plan(schools=dict(current))
    for op in sorted(batch.operations, key=lambda o: o.line):
        reason = _apply(plan, batch.batch_id, op, staff)
        if reason:
            plan.skipped.append((op.line, f"{op.op} {op.school_code}: {reason}"))
    return plan


def _apply(plan: Plan, batch_id: str, op: RestructuringOperation,
           staff: dict[str, list[Teacher]]) -> str | None:
    """Add the op's steps to the plan; the reason when it is skipped instead."""
    school = plan.schools.get(op.school_code)
    if op.op == "open":
        if school is not None:
            return "already registered"
        try:
            profile = schools.profile_from({k: getattr(op, k) for k in _PROFILE_KEYS})
            event: EventPayload = schools.register_school(None, op.school_code, profile, batch_id)
        except (ValidationError, ValidationProblem) as exc:
            return f"cannot open: {exc}"
        plan.school_step(op.school_code, None, event)
        return None
    if school is None:
        return "no such school in the registry"
    if not school.is_open:
        return "school already closed"
    if op.op in _PROFILE_OPS:
        changes: dict[str, Any] = {k: getattr(op, k) for k in _PROFILE_KEYS
                                   if getattr(op, k) is not None}
        try:
            changed = schools.change_school(school, changes, batch_id)
        except (ValidationError, ValidationProblem, Conflict) as exc:
            return f"cannot change: {exc}"
        if changed is None:
            return "profile already so"
        plan.school_step(school.code, school, changed)
        return None
    target_code = op.target_code
    if op.op == "merge" and not target_code:
        return "a merge needs a target school"
    if target_code:
        target = plan.schools.get(target_code)
        if target is None or not target.is_open or target_code == school.code:
            return f"target school {target_code} is not an open school of the registry"
        # Its staff now: as loaded, updated by earlier operations of this batch (a school
        # that received teachers by a merge and is merged on in turn passes them on).
        present = {t.teacher_id: t for t in staff.get(school.code, [])} | plan.teachers
        for moving in sorted(present.values(), key=lambda t: t.teacher_id):
            if moving.school_code == school.code and not moving.has_left:
                plan.teacher_step(moving, teachers.reassign(moving, target_code, batch_id))
    # A batch closes a school whatever staff is left: the province decided it (the domain's
    # guard against stranding teachers is for closures by hand).
    closed = schools.close_school(school, teachers_in_post=0,
                                  merged_into=target_code if op.op == "merge" else None,
                                  batch_id=batch_id)
    plan.school_step(school.code, school, closed)
    return None
