"""How school and teacher events change what reporting counts: facts and a pure fold.

Each school or teacher event is reduced to a *fact* (a small JSON-able dict with the event type
and only the fields counting needs). A fold turns a state and a fact into the next state. The
projection keeps, per entity, the facts ordered by business time and the resulting versions;
the same fold runs whether an event arrives in order (close the current version, open the next)
or late (rebuild the entity's versions from all its facts), so the result does not depend on
delivery order: replay equals live.

Counting rules live here and in `counting`:
- a teacher counts as staff (教职工) at school S iff their state has school S, post status
  in_post (在本单位任职) and they have not left; full-time (专任教师) iff also full-time;
- review is complete (审核完成) iff a ReviewCompleted covers the current record version.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from shared.contracts.base import EventPayload
from shared.contracts.events import (
    ReviewCompleted,
    SchoolChanged,
    SchoolClosed,
    SchoolRegistered,
    TeacherLeft,
    TeacherReassigned,
    TeacherRecord,
    TeacherRegistered,
    TeacherReturnedToPost,
    TeacherTransferred,
    TeacherUpdated,
)
from shared.contracts.vocabulary import PostStatus

Fact = dict[str, Any]

SCHOOL_EVENTS = ("SchoolRegistered", "SchoolChanged", "SchoolClosed")
TEACHER_EVENTS = ("TeacherRegistered", "TeacherUpdated", "TeacherTransferred",
                  "TeacherReturnedToPost", "TeacherLeft", "TeacherReassigned", "ReviewCompleted")


@dataclass(frozen=True)
class EntityFact:
    """Which timeline an event belongs to, and what it says. `record` is the teacher's core
    record itself, kept with the fact for the confirmation table (stored under the fact's
    "record" key); counting never reads it."""

    kind: str  # "school" | "teacher"
    entity_id: str
    fact: Fact
    record: TeacherRecord | None = None


def fact_of(payload: EventPayload, stream_version: int) -> EntityFact | None:
    """The fact an event contributes, or None for events counting ignores."""
    match payload:
        case SchoolRegistered() | SchoolChanged():
            p = payload.profile
            return EntityFact("school", payload.school_code, {
                "type": payload.event_type, "name": p.name, "stage": str(p.stage),
                "is_teaching_point": p.is_teaching_point, "county_code": p.county_code,
                "city_code": p.city_code, "reporting_line": str(p.reporting_line),
                "is_rural": p.is_rural})
        case SchoolClosed():
            return EntityFact("school", payload.school_code,
                              {"type": "SchoolClosed", "merged_into": payload.merged_into})
        case TeacherRegistered() | TeacherUpdated():
            r = payload.record
            return EntityFact("teacher", payload.teacher_id, {
                "type": payload.event_type, "school_code": payload.school_code,
                "in_post": r.post_status == PostStatus.IN_POST,
                "is_fulltime": r.is_fulltime_teacher, "completeness": payload.completeness,
                "record_version": stream_version}, record=r)
        case TeacherTransferred():
            return EntityFact("teacher", payload.teacher_id, {
                "type": "TeacherTransferred", "school_code": payload.to_school_code,
                "record_version": stream_version})
        case TeacherReturnedToPost():
            return EntityFact("teacher", payload.teacher_id, {
                "type": "TeacherReturnedToPost", "school_code": payload.school_code,
                "record_version": stream_version})
        case TeacherLeft():
            return EntityFact("teacher", payload.teacher_id, {"type": "TeacherLeft"})
        case TeacherReassigned():
            # A restructuring moves the teacher with their school: no new record to review.
            return EntityFact("teacher", payload.teacher_id, {
                "type": "TeacherReassigned", "school_code": payload.to_school_code})
        case ReviewCompleted():
            return EntityFact("teacher", payload.teacher_id, {
                "type": "ReviewCompleted", "record_version": payload.record_version})
    return None


@dataclass(frozen=True)
class SchoolState:
    registered: bool = False
    name: str | None = None
    stage: str | None = None
    is_teaching_point: bool = False
    county_code: str | None = None
    city_code: str | None = None
    reporting_line: str | None = None
    is_rural: bool = False
    open: bool = False
    merged_into: str | None = None


@dataclass(frozen=True)
class TeacherState:
    school_code: str | None = None
    in_post: bool = False
    is_fulltime: bool = False
    has_left: bool = False
    completeness: float = 0.0
    record_version: int = 0
    reviewed_version: int = 0

    @property
    def counted_school(self) -> str | None:
        """The school this teacher counts at as staff, or None (not in post, left, unknown)."""
        if self.school_code and self.in_post and not self.has_left:
            return self.school_code
        return None

    @property
    def review_complete(self) -> bool:
        return self.record_version > 0 and self.reviewed_version >= self.record_version


def fold_school(state: SchoolState, fact: Fact) -> SchoolState:
    kind = fact["type"]
    if kind in ("SchoolRegistered", "SchoolChanged"):
        profile = {k: fact[k] for k in ("name", "stage", "is_teaching_point", "county_code",
                                        "city_code", "reporting_line", "is_rural")}
        if kind == "SchoolRegistered":
            return SchoolState(registered=True, open=True, **profile)
        return replace(state, registered=True, **profile)
    if kind == "SchoolClosed":
        return replace(state, open=False, merged_into=fact.get("merged_into"))
    return state


def fold_teacher(state: TeacherState, fact: Fact) -> TeacherState:
    kind = fact["type"]
    if kind in ("TeacherRegistered", "TeacherUpdated"):
        return replace(state, school_code=fact["school_code"], in_post=fact["in_post"],
                       is_fulltime=fact["is_fulltime"], completeness=float(fact["completeness"]),
                       record_version=max(state.record_version, fact["record_version"]),
                       has_left=False if kind == "TeacherRegistered" else state.has_left)
    if kind == "TeacherTransferred":
        return replace(state, school_code=fact["school_code"],
                       record_version=max(state.record_version, fact["record_version"]))
    if kind == "TeacherReturnedToPost":
        return replace(state, school_code=fact["school_code"], in_post=True, has_left=False,
                       record_version=max(state.record_version, fact["record_version"]))
    if kind == "TeacherLeft":
        return replace(state, has_left=True)
    if kind == "TeacherReassigned":
        return replace(state, school_code=fact["school_code"])
    if kind == "ReviewCompleted":
        return replace(state, reviewed_version=max(state.reviewed_version,
                                                   fact["record_version"]))
    return state


def fold(kind: str, state: Any, fact: Fact) -> Any:
    return fold_school(state, fact) if kind == "school" else fold_teacher(state, fact)


def initial(kind: str) -> SchoolState | TeacherState:
    return SchoolState() if kind == "school" else TeacherState()


@dataclass(frozen=True)
class Version:
    valid_from: Any  # datetime; Any keeps this module free of a clock
    state: SchoolState | TeacherState
    head: tuple[Any, ...]


def versions_of(kind: str, timeline: list[tuple[tuple[Any, ...], Fact]]) -> list[Version]:
    """Fold a whole timeline (facts sorted by their key, whose first item is occurred_at) into
    versions; facts at the same instant make one version, so no interval is empty."""
    return extend_versions(kind, None, timeline)


def extend_versions(kind: str, current: Version | None,
                    timeline: list[tuple[tuple[Any, ...], Fact]]) -> list[Version]:
    """Fold facts that all sort after `current` (an entity's latest version, None for a new
    entity) onto it: `current` itself, changed in place when a fact shares its instant, then the
    versions the facts open. Folding facts one at a time in order gives the same versions."""
    out: list[Version] = [current] if current is not None else []
    state: Any = current.state if current is not None else initial(kind)
    for key, fact in timeline:
        state = fold(kind, state, fact)
        if out and out[-1].valid_from == key[0]:
            out[-1] = Version(key[0], state, key)
        else:
            out.append(Version(key[0], state, key))
    return out
