"""The decision rules: who may approve or reject which record version, and what is recorded.

`decide` is pure: given the current review state of a teacher and a command, it returns the
events to append (RecordApproved / RecordRejected, plus ReviewCompleted when a county approves)
or raises one of the errors of `services.review.domain.errors`.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.review.domain.errors import (
    ChecksFailed,
    NotAwaitingDecision,
    ProofMissing,
    StaleRecord,
)
from services.review.domain.model import ReviewItem, Status
from shared.contracts.base import EventPayload
from shared.contracts.events import (
    RecordApproved,
    RecordRejected,
    RecordResubmitted,
    ReviewCompleted,
)
from shared.contracts.vocabulary import ReviewLevel
from shared.errors import Problem, ValidationProblem


@dataclass(frozen=True)
class DecideRecord:
    """Approve or reject one record version of a teacher (the reviewer names the version they
    read, so a record that changed meanwhile is not approved blind)."""

    teacher_id: str
    record_version: int
    approve: bool
    reason: str = ""
    comment: str = ""
    level: ReviewLevel | None = None


AWAITING = {ReviewLevel.SCHOOL: Status.SUBMITTED, ReviewLevel.COUNTY: Status.SCHOOL_APPROVED}


def awaiting_level(item: ReviewItem) -> ReviewLevel | None:
    """The level whose decision the record waits for, or None (rejected or complete)."""
    for level, status in AWAITING.items():
        if item.status == status:
            return level
    return None


def decide(item: ReviewItem, cmd: DecideRecord, level: ReviewLevel,
           county_code: str) -> list[EventPayload]:
    if not item.active:
        raise NotAwaitingDecision(f"teacher {item.teacher_id} has left; nothing to review "
                                  "(该教师已离开，无需审核)")
    if cmd.record_version != item.record_version:
        raise StaleRecord(item.teacher_id, cmd.record_version, item.record_version)
    if item.status != AWAITING[level]:
        raise NotAwaitingDecision(_why_not(item, level))
    if not cmd.approve:
        reason = cmd.reason.strip()
        if not reason:
            raise ValidationProblem([Problem("reason", "a rejection needs a reason "
                                                       "(退回须填写原因)")])
        return [RecordRejected(teacher_id=item.teacher_id, level=level,
                               record_version=item.record_version,
                               school_code=item.school_code, county_code=county_code,
                               reason=reason)]
    if item.needs_proof and not item.proof:
        raise ProofMissing(item.teacher_id, item.kind.value)
    failed = item.hard_failures
    if failed:
        raise ChecksFailed([Problem(f"checks.{c.check}", c.message) for c in failed],
                           f"teacher {item.teacher_id}: core-information checks failed: "
                           + "; ".join(c.message for c in failed))
    events: list[EventPayload] = [RecordApproved(
        teacher_id=item.teacher_id, level=level, record_version=item.record_version,
        school_code=item.school_code, county_code=county_code, comment=cmd.comment.strip())]
    if level == ReviewLevel.COUNTY:
        events.append(ReviewCompleted(teacher_id=item.teacher_id,
                                      record_version=item.record_version,
                                      school_code=item.school_code, county_code=county_code))
    return events


@dataclass(frozen=True)
class ResubmitRecord:
    """The school sends a rejected record version back unchanged, saying why it is right
    (重新提交): for a rejection that needs an explanation, not a correction."""

    teacher_id: str
    record_version: int
    note: str


NOTE_MAX = 500


def resubmit(item: ReviewItem, cmd: ResubmitRecord, county_code: str) -> list[EventPayload]:
    """RecordResubmitted back to the level that rejected the version, or why it cannot be."""
    if not item.active:
        raise NotAwaitingDecision(f"teacher {item.teacher_id} has left; nothing to resubmit "
                                  "(该教师已离开)")
    if cmd.record_version != item.record_version:
        raise StaleRecord(item.teacher_id, cmd.record_version, item.record_version)
    if item.status != Status.REJECTED or item.rejected_level is None:
        raise NotAwaitingDecision(f"teacher {item.teacher_id} (version {item.record_version}) "
                                  f"is {item.status}, not rejected: nothing to resubmit "
                                  "(只有已退回的记录可以重新提交)")
    note = cmd.note.strip()
    if not note:
        raise ValidationProblem([Problem("note", "a resubmission without changes needs a note "
                                                 "to the reviewer (请填写重新提交说明)")])
    if len(note) > NOTE_MAX:
        raise ValidationProblem([Problem("note", f"at most {NOTE_MAX} characters "
                                                 f"(说明不超过 {NOTE_MAX} 字)")])
    return [RecordResubmitted(teacher_id=item.teacher_id, level=item.rejected_level,
                              record_version=item.record_version,
                              school_code=item.school_code, county_code=county_code,
                              note=note)]


def _why_not(item: ReviewItem, level: ReviewLevel) -> str:
    who = f"teacher {item.teacher_id} (version {item.record_version})"
    if item.status == Status.REJECTED:
        return (f"{who} was rejected at {item.rejected_level} level; it comes back when the "
                "school corrects or resubmits it (已退回，待学校修改或重新提交)")
    if item.status == Status.COUNTY_APPROVED:
        return f"{who}: review is complete (审核已完成)"
    if level == ReviewLevel.COUNTY:
        return f"{who} awaits the school's review first (待学校审核)"
    return f"{who} is already approved by the school and awaits the county (待县级审核)"
