"""The review state of one teacher, derived from facts.

Facts are intake's teacher events (`TeacherFact`) and review's own decisions (`DecisionFact`).
`derive` folds one teacher's facts, in stream-version order, into a `ReviewItem`. It is a pure
function of the *set* of facts: the order they arrived in does not matter, a fact seen twice is
the same fact, and a decision counts only for the record version it names. That is what lets
the projection survive redelivery, late events and a rebuild from the log, and what makes
"rebuilt == live" hold by construction rather than by careful replay ordering.

The way a teacher's current record version goes:

    submitted --school approves--> school_approved --county approves--> county_approved (审核完成)
        \\--school rejects--> rejected        \\--county rejects--> rejected

A new version (TeacherUpdated, TeacherTransferred, TeacherReturnedToPost) starts again at
submitted, and the reviewer sees what changed since the last county approval. A transfer or a
return to post stays the kind of the pending review until a county approves it, so its proof
document cannot be lost by a later plain update. TeacherReassigned (a restructuring merge)
moves the teacher to another school without a new review; TeacherLeft takes the teacher out of
the queues.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from services.review.domain.checks import run_checks
from services.review.domain.diff import FieldChange, diff, record_view
from shared.contracts.events import CheckResult
from shared.contracts.vocabulary import ReviewLevel


class Status(StrEnum):
    SUBMITTED = "submitted"
    SCHOOL_APPROVED = "school_approved"
    COUNTY_APPROVED = "county_approved"  # 审核完成
    REJECTED = "rejected"


class Kind(StrEnum):
    NEW = "new"
    UPDATE = "update"
    TRANSFER = "transfer"  # 省内调动
    RETURN_TO_POST = "return_to_post"  # 返岗


NEEDS_PROOF = frozenset({Kind.TRANSFER, Kind.RETURN_TO_POST})

# Teacher events that put a new record version into review.
REVIEWED_EVENTS = frozenset({"TeacherRegistered", "TeacherUpdated", "TeacherTransferred",
                             "TeacherReturnedToPost"})
TEACHER_EVENTS = REVIEWED_EVENTS | {"TeacherLeft", "TeacherReassigned"}


@dataclass(frozen=True)
class TeacherFact:
    """One of intake's teacher events, as delivered (the payload is read leniently)."""

    teacher_id: str
    source: str
    stream_version: int
    event_type: str
    event_id: str
    occurred_at: datetime
    payload: Mapping[str, Any]


@dataclass(frozen=True)
class DecisionFact:
    """One of review's own decisions (RecordApproved / RecordRejected), or the school's
    resubmission of a rejected version (RecordResubmitted: `resubmitted`, not `approved`,
    `reason` holding the school's note, `level` the level that decides again)."""

    event_id: str
    position: int
    teacher_id: str
    record_version: int
    level: ReviewLevel
    approved: bool
    reason: str
    actor: str
    decided_at: datetime
    resubmitted: bool = False


@dataclass(frozen=True)
class ReviewItem:
    """A teacher's review state: what the queues list and the reviewer's page shows."""

    teacher_id: str
    school_code: str
    active: bool
    record: Mapping[str, Any]
    record_version: int  # the teacher stream version under review
    stream_version: int  # the newest teacher stream version seen
    status: Status
    kind: Kind
    rejected_level: ReviewLevel | None
    reject_reason: str | None
    proof: Mapping[str, Any] | None
    from_school_code: str | None
    diff_base_version: int | None  # the last county-approved version before this one
    diff: tuple[FieldChange, ...]
    checks: tuple[CheckResult, ...]
    submitted_at: datetime
    school_approved_at: datetime | None
    county_approved_at: datetime | None
    source_event_id: str  # the intake event that put this version into review

    @property
    def hard_failures(self) -> tuple[CheckResult, ...]:
        return tuple(c for c in self.checks if not c.passed and c.severity == "hard")

    @property
    def warnings(self) -> tuple[CheckResult, ...]:
        return tuple(c for c in self.checks if not c.passed and c.severity == "warning")

    @property
    def needs_proof(self) -> bool:
        return self.kind in NEEDS_PROOF


@dataclass(frozen=True)
class _Pending:
    """A transfer or return to post waiting for county approval."""

    kind: Kind
    proof: Mapping[str, Any] | None
    from_school_code: str | None


@dataclass(frozen=True)
class _Version:
    number: int
    record: Mapping[str, Any]
    school_code: str
    kind: Kind
    pending: _Pending | None
    baseline: _Version | None  # the last county-approved version before this one
    occurred_at: datetime
    event_id: str


def derive(teacher_id: str, facts: Iterable[TeacherFact],
           decisions: Iterable[DecisionFact]) -> ReviewItem | None:
    """The review state of one teacher, or None while no reviewable record is known."""
    by_version: dict[int, list[DecisionFact]] = {}
    for d in decisions:
        by_version.setdefault(d.record_version, []).append(d)
    record: Mapping[str, Any] | None = None
    school: str | None = None
    active = True
    newest = 0
    current: _Version | None = None
    approved: _Version | None = None
    pending: _Pending | None = None
    for f in sorted(facts, key=lambda f: (f.stream_version, f.source, f.event_id)):
        newest = max(newest, f.stream_version)
        p = f.payload
        if f.event_type in ("TeacherRegistered", "TeacherUpdated"):
            record = _mapping(p.get("record")) or record
            school = _text(p.get("school_code")) or school
            if f.event_type == "TeacherRegistered":
                active = True
        elif f.event_type == "TeacherTransferred":
            school = _text(p.get("to_school_code")) or school
            pending = _Pending(Kind.TRANSFER, _mapping(p.get("proof")),
                               _text(p.get("from_school_code")))
        elif f.event_type == "TeacherReturnedToPost":
            school = _text(p.get("school_code")) or school
            active = True
            pending = _Pending(Kind.RETURN_TO_POST, _mapping(p.get("proof")), None)
        elif f.event_type == "TeacherLeft":
            active = False
            continue
        elif f.event_type == "TeacherReassigned":
            school = _text(p.get("to_school_code")) or school
            continue
        else:
            continue
        if record is None or school is None:
            continue  # a version whose registration has not been seen: nothing to review yet
        kind = pending.kind if pending else (Kind.UPDATE if approved else Kind.NEW)
        current = _Version(f.stream_version, record, school, kind, pending, approved,
                           f.occurred_at, f.event_id)
        if any(d.approved and d.level == ReviewLevel.COUNTY
               for d in by_version.get(f.stream_version, ())):
            approved = current
            pending = None
    if current is None or school is None:
        return None
    return _item(teacher_id, current, school, active, newest,
                 by_version.get(current.number, []))


def _item(teacher_id: str, v: _Version, school: str, active: bool, newest: int,
          decisions: list[DecisionFact]) -> ReviewItem:
    # A resubmission ends the rejections before it (in review's own order, its event store
    # position); the approvals of the version stand: a county rejection resubmitted waits
    # for the county again, not for the school's second approval.
    last_resubmit = max((d.position for d in decisions if d.resubmitted), default=-1)
    rejects = sorted((d for d in decisions if not d.approved and not d.resubmitted
                      and d.position > last_resubmit), key=lambda d: d.position)
    school_ok = sorted(d.decided_at for d in decisions
                       if d.approved and d.level == ReviewLevel.SCHOOL)
    county_ok = sorted(d.decided_at for d in decisions
                       if d.approved and d.level == ReviewLevel.COUNTY)
    if rejects:
        status = Status.REJECTED
    elif county_ok:
        status = Status.COUNTY_APPROVED
    elif school_ok:
        status = Status.SCHOOL_APPROVED
    else:
        status = Status.SUBMITTED
    proof = v.pending.proof if v.pending else None
    base = v.baseline
    changes = diff(record_view(base.record, base.school_code) if base else None,
                   record_view(v.record, v.school_code))
    return ReviewItem(
        teacher_id=teacher_id, school_code=school, active=active, record=v.record,
        record_version=v.number, stream_version=newest, status=status, kind=v.kind,
        rejected_level=rejects[-1].level if rejects else None,
        reject_reason=rejects[-1].reason if rejects else None,
        proof=proof, from_school_code=v.pending.from_school_code if v.pending else None,
        diff_base_version=base.number if base else None, diff=changes,
        checks=run_checks(v.record, needs_proof=v.kind in NEEDS_PROOF, proof=proof,
                          as_of=v.occurred_at.date()),
        submitted_at=v.occurred_at,
        school_approved_at=school_ok[0] if school_ok else None,
        county_approved_at=county_ok[0] if county_ok else None,
        source_event_id=v.event_id,
    )


def _mapping(value: Any) -> Mapping[str, Any] | None:
    return value if isinstance(value, Mapping) else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def apply_decision(item: ReviewItem, d: DecisionFact) -> ReviewItem:
    """`derive` with one more decision, computed from the item alone: what a batch of
    decisions writes without re-reading every fact of every teacher.

    Equal to `derive(facts, decisions + [d])` when `item == derive(facts, decisions)` and
    `d` names the version under review and is newer (higher position) than every decision
    already counted, which is what `decide` and the per-teacher lock guarantee: a decision
    only changes the state of the version it names, and of the current version only the
    status, the rejection and the first approval times depend on decisions (`_item`).
    A decision on another version, or on an item already rejected, raises ValueError:
    that is `derive`'s to work out."""
    if d.record_version != item.record_version:
        raise ValueError("apply_decision needs a decision on the version under review")
    if d.resubmitted:
        if item.status is not Status.REJECTED:
            raise ValueError("only a rejected version is resubmitted")
        awaiting = (Status.SUBMITTED if item.school_approved_at is None
                    else Status.SCHOOL_APPROVED)
        return replace(item, status=awaiting, rejected_level=None, reject_reason=None)
    if item.status is Status.REJECTED:
        raise ValueError("apply_decision needs a decision on the version under review")
    if not d.approved:
        return replace(item, status=Status.REJECTED, rejected_level=d.level,
                       reject_reason=d.reason)
    school_at, county_at = item.school_approved_at, item.county_approved_at
    if d.level == ReviewLevel.SCHOOL:
        school_at = d.decided_at if school_at is None else min(school_at, d.decided_at)
    else:
        county_at = d.decided_at if county_at is None else min(county_at, d.decided_at)
    status = (Status.COUNTY_APPROVED if county_at else
              Status.SCHOOL_APPROVED if school_at else Status.SUBMITTED)
    return replace(item, status=status, school_approved_at=school_at,
                   county_approved_at=county_at)
