"""The teacher aggregate: register, update, transfer (省内调动), return to post (返岗), leave,
and the restructuring reassignment. Decisions return one event or raise; `evolve` folds.

State kept here is what decisions need: the teacher's school, the public (masked) record, the
stream version and whether the teacher has left the province's schools. The ID number is
looked up by the service layer from intake's private identities table when a rule needs it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from services.intake.domain.record import (
    REQUIRED_FIELDS,
    PersonRecord,
    changed_fields,
    check_record,
    prefixed,
)
from services.intake.domain.school import School
from shared.contracts.base import EventPayload
from shared.contracts.events import (
    ProofDocument,
    TeacherLeft,
    TeacherReassigned,
    TeacherRecord,
    TeacherRegistered,
    TeacherReturnedToPost,
    TeacherTransferred,
    TeacherUpdated,
)
from shared.contracts.vocabulary import LeaveReason, PostStatus
from shared.errors import Conflict, Problem, ValidationProblem


@dataclass(frozen=True)
class Teacher:
    teacher_id: str
    school_code: str
    record: TeacherRecord
    completeness: float
    version: int
    has_left: bool = False

    @property
    def stream_id(self) -> str:
        return stream_id(self.teacher_id)

    @property
    def in_post(self) -> bool:
        """在本单位任职 and not departed: the only teachers that count as staff."""
        return not self.has_left and self.record.post_status is PostStatus.IN_POST


def stream_id(teacher_id: str) -> str:
    return f"teacher-{teacher_id}"


def require_open(school: School, loc: str = "school_code") -> None:
    if not school.is_open:
        where = f"; it was merged into {school.merged_into}" if school.merged_into else ""
        raise ValidationProblem([Problem(loc, f"school {school.code} is closed{where} "
                                              "(学校已撤销，不能再报送)")])


def register_teacher(teacher_id: str, school: School, person: PersonRecord,
                     today: date) -> TeacherRegistered:
    require_open(school)
    problems = check_record(person, today)
    if problems:
        raise ValidationProblem(prefixed(problems, "record"))
    return registration(teacher_id, school, person)


def registration(teacher_id: str, school: School, person: PersonRecord) -> TeacherRegistered:
    """The event for a record already checked (bulk import checks each row as it reads it)."""
    require_open(school)
    return TeacherRegistered(teacher_id=teacher_id, school_code=school.code,
                             record=person.public(), completeness=person.completeness)


def update_teacher(teacher: Teacher, current: PersonRecord, changes: dict[str, Any],
                   school: School, today: date) -> TeacherUpdated | None:
    """The record with `changes`; None when nothing changes. A departed teacher's record is
    frozen: they come back with a return to post first."""
    if teacher.has_left:
        raise Conflict(f"teacher {teacher.teacher_id} has left; record a return to post "
                       "(返岗) before changing the record")
    require_open(school, loc="school_code")
    cleared = [f for f in REQUIRED_FIELDS if f in changes and changes[f] is None]
    if cleared:
        raise ValidationProblem([Problem(f"record.{f}", "is required and cannot be cleared")
                                 for f in cleared])
    new = current.with_changes(changes)
    problems = check_record(new, today)
    if problems:
        raise ValidationProblem(prefixed(problems, "record"))
    changed = changed_fields(current, new)
    if not changed:
        return None
    return TeacherUpdated(teacher_id=teacher.teacher_id, school_code=teacher.school_code,
                          record=new.public(), changed_fields=changed,
                          completeness=new.completeness)


def transfer_teacher(teacher: Teacher, target: School, proof: ProofDocument) -> TeacherTransferred:
    if teacher.has_left:
        raise Conflict(f"teacher {teacher.teacher_id} has left; a departed teacher comes back "
                       "with a return to post (返岗), not a transfer")
    if target.code == teacher.school_code:
        raise ValidationProblem([Problem("to_school_code",
                                         f"the teacher is already at school {target.code}")])
    require_open(target, loc="to_school_code")
    return TeacherTransferred(teacher_id=teacher.teacher_id, from_school_code=teacher.school_code,
                              to_school_code=target.code, proof=proof)


def return_to_post(teacher: Teacher, school: School, proof: ProofDocument) -> TeacherReturnedToPost:
    if teacher.in_post:
        raise Conflict(f"teacher {teacher.teacher_id} is in post at school "
                       f"{teacher.school_code}; nothing to return from")
    require_open(school)
    return TeacherReturnedToPost(teacher_id=teacher.teacher_id, school_code=school.code,
                                 proof=proof)


def leave(teacher: Teacher, reason: LeaveReason, note: str = "",
          proof: ProofDocument | None = None) -> TeacherLeft:
    if teacher.has_left:
        raise Conflict(f"teacher {teacher.teacher_id} has already left")
    return TeacherLeft(teacher_id=teacher.teacher_id, school_code=teacher.school_code,
                       reason=reason, note=note.strip(), proof=proof)


def reassign(teacher: Teacher, to_school: str, batch_id: str) -> TeacherReassigned:
    return TeacherReassigned(teacher_id=teacher.teacher_id, from_school_code=teacher.school_code,
                             to_school_code=to_school, batch_id=batch_id)


def evolve(teacher: Teacher | None, event: EventPayload, version: int) -> Teacher:
    """The teacher after `event`, which the store appended as stream version `version`."""
    if isinstance(event, TeacherRegistered):
        return Teacher(teacher_id=event.teacher_id, school_code=event.school_code,
                       record=event.record, completeness=event.completeness, version=version)
    assert teacher is not None, f"{event.event_type} before TeacherRegistered"
    if isinstance(event, TeacherUpdated):
        return replace(teacher, record=event.record, completeness=event.completeness,
                       version=version)
    if isinstance(event, TeacherTransferred | TeacherReassigned):
        return replace(teacher, school_code=event.to_school_code, version=version)
    if isinstance(event, TeacherReturnedToPost):
        record = teacher.record.model_copy(update={"post_status": PostStatus.IN_POST})
        return replace(teacher, school_code=event.school_code, record=record, has_left=False,
                       version=version)
    if isinstance(event, TeacherLeft):
        return replace(teacher, has_left=True, version=version)
    raise TypeError(f"not a teacher event: {event.event_type}")
