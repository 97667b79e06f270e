"""Teacher self-service: a teacher confirms their record, or flags a field as wrong.

A confirmation names the record version the teacher saw; if the school changed the record
since, the confirmation is refused (the teacher reads it again). Confirming the same version
twice records it once. A flag names one field of the record and says what is wrong; it reaches
the school's administrators, who fix the record or explain, and resolve the flag.

Comments are free text: a teacher who flags their ID number may well type the right one. The
event carries the comment with anything shaped like an ID number masked; the full comment stays
in intake's private flags table, which only the school's side reads.
"""

from __future__ import annotations

import re

from services.intake.domain.record import ALL_FIELDS
from services.intake.domain.teacher import Teacher
from shared.contracts.events_accounts import (
    TeacherFieldFlagged,
    TeacherFlagResolved,
    TeacherRecordConfirmed,
)
from shared.errors import ConcurrencyConflict, Conflict, Problem, ValidationProblem

FLAGGABLE_FIELDS: tuple[str, ...] = (*ALL_FIELDS, "school_code")
# 18 characters (6 area, 8 birth date, 3 sequence, 1 check) or the old 15 (6, 6, 3).
_ID_LIKE = re.compile(r"(?<![0-9])([0-9]{6})([0-9]{8}|[0-9]{6})([0-9]{3}[0-9Xx]?)(?![0-9Xx])")


def mask_id_like(text: str) -> str:
    """Mask every run of characters shaped like an ID number: keep only the last 3-4
    characters, as `shared.domain.idnumber.mask` does (the area code is hidden too)."""
    return _ID_LIKE.sub(lambda m: "*" * (len(m.group(1)) + len(m.group(2))) + m.group(3), text)


def confirm(account_id: str, teacher: Teacher, record_version: int,
            confirmed_versions: set[int]) -> TeacherRecordConfirmed | None:
    if teacher.has_left:
        raise Conflict("this record is closed: the teacher has left (已离岗)")
    if record_version != teacher.version:
        raise ConcurrencyConflict(teacher.stream_id, record_version, teacher.version)
    if record_version in confirmed_versions:
        return None
    return TeacherRecordConfirmed(account_id=account_id, teacher_id=teacher.teacher_id,
                                  school_code=teacher.school_code, record_version=record_version)


def flag(account_id: str, flag_id: str, teacher: Teacher, field: str,
         comment: str) -> TeacherFieldFlagged:
    if field not in FLAGGABLE_FIELDS:
        raise ValidationProblem([Problem("field", f"one of {', '.join(FLAGGABLE_FIELDS)}")])
    if not comment.strip():
        raise ValidationProblem([Problem("comment", "say what is wrong (请说明错误之处)")])
    return TeacherFieldFlagged(account_id=account_id, flag_id=flag_id,
                               teacher_id=teacher.teacher_id, school_code=teacher.school_code,
                               field=field, record_version=teacher.version,
                               comment=mask_id_like(comment.strip())[:500])


def resolve(account_id: str, flag_id: str, teacher_id: str, school_code: str, is_open: bool,
            note: str) -> TeacherFlagResolved | None:
    if not is_open:
        return None
    return TeacherFlagResolved(account_id=account_id, flag_id=flag_id, teacher_id=teacher_id,
                               school_code=school_code, note=mask_id_like(note.strip())[:500])
