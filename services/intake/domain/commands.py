"""What callers ask intake to do, in the imperative. Entry points build these; handlers take them.

`occurred_at` is business time; only province administrators and service accounts may set it
(historical loads, simulation). `expected_version` None means "the version I load now".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.intake.domain.record import PersonRecord
from shared.contracts.events import SchoolProfile
from shared.contracts.vocabulary import LeaveReason


@dataclass(frozen=True)
class RegisterSchool:
    code: str
    profile: SchoolProfile
    occurred_at: datetime | None = None


@dataclass(frozen=True)
class ChangeSchool:
    code: str
    expected_version: int
    changes: dict[str, Any] = field(default_factory=dict)
    close: bool = False
    occurred_at: datetime | None = None


@dataclass(frozen=True)
class RegisterTeacher:
    school_code: str
    person: PersonRecord
    occurred_at: datetime | None = None


@dataclass(frozen=True)
class UpdateTeacher:
    teacher_id: str
    expected_version: int
    changes: dict[str, Any]
    occurred_at: datetime | None = None


@dataclass(frozen=True)
class TransferTeacher:
    teacher_id: str
    to_school_code: str
    proof_sha256: str
    expected_version: int | None = None
    occurred_at: datetime | None = None


@dataclass(frozen=True)
class ReturnTeacherToPost:
    teacher_id: str
    school_code: str
    proof_sha256: str
    expected_version: int | None = None
    occurred_at: datetime | None = None


@dataclass(frozen=True)
class RecordDeparture:
    teacher_id: str
    reason: LeaveReason
    expected_version: int | None = None
    occurred_at: datetime | None = None
    note: str = ""
    proof_sha256: str | None = None
