"""Every event of the system: the payload contracts, grouped by the service that emits them.

Names are in the past tense. A teacher is known by an opaque `teacher_id` (a UUID minted by
intake); the national ID number never appears here, only a masked form for human reviewers.
Intake keeps the ID number in its private store for validation and duplicate detection.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.base import EventPayload, register
from shared.contracts.vocabulary import (
    BaselineKind,
    Gender,
    LeaveReason,
    PostStatus,
    ReportingLine,
    ReviewLevel,
    Stage,
)

SchoolCode = str
TeacherId = str


class _Part(BaseModel):
    """A value object nested in a payload."""

    model_config = ConfigDict(frozen=True, extra="forbid")


# --------------------------------------------------------------------------- intake: schools


class SchoolProfile(_Part):
    name: str = Field(min_length=1, max_length=100)
    stage: Stage
    is_teaching_point: bool = False
    county_code: str = Field(pattern=r"^\d{6}$")
    city_code: str = Field(pattern=r"^\d{6}$")
    reporting_line: ReportingLine = ReportingLine.COUNTY
    is_rural: bool = False


@register
class SchoolRegistered(EventPayload):
    event_type = "SchoolRegistered"
    category = "school"
    description = "A school (or teaching point) joined the registry, open."

    school_code: SchoolCode
    profile: SchoolProfile
    batch_id: str | None = Field(None, description="set when a restructuring batch opened it")


@register
class SchoolChanged(EventPayload):
    event_type = "SchoolChanged"
    category = "school"
    description = "A school's profile changed: the full new profile and the names of the fields."

    school_code: SchoolCode
    profile: SchoolProfile
    changed_fields: tuple[str, ...]
    batch_id: str | None = None


@register
class SchoolClosed(EventPayload):
    event_type = "SchoolClosed"
    category = "school"
    description = "A school closed; when merged, its teachers moved to `merged_into`."

    school_code: SchoolCode
    merged_into: SchoolCode | None = None
    batch_id: str | None = None


# --------------------------------------------------------------------------- intake: teachers


class TeacherRecord(_Part):
    """The core information set of a teacher, as the national system collects it."""

    name: str = Field(min_length=1, max_length=50)
    id_number_masked: str = Field(description="e.g. **************123X, the last four only "
                                  "(older events: 620102********123X); never the full number")
    gender: Gender
    birth_date: date
    ethnicity: str
    political_status: str | None = None
    post_status: PostStatus
    is_fulltime_teacher: bool = Field(description="专任教师; always a subset of staff")
    stage_taught: Stage | None = None
    hire_date: date | None = None
    highest_education: str | None = None
    professional_title: str | None = None
    teacher_qualification: str | None = None


class ProofDocument(_Part):
    """A proof document from the education authority, stored content-addressed by intake."""

    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    media_type: Literal["application/pdf", "image/jpeg", "image/png"]
    size_bytes: int = Field(gt=0)
    filename: str | None = None


@register
class TeacherRegistered(EventPayload):
    event_type = "TeacherRegistered"
    category = "teacher"
    description = "A school entered a new teacher."

    teacher_id: TeacherId
    school_code: SchoolCode
    record: TeacherRecord
    completeness: float = Field(ge=0, le=1, description="share of the record's fields filled")


@register
class TeacherUpdated(EventPayload):
    event_type = "TeacherUpdated"
    category = "teacher"
    description = "A teacher's record changed: the full new record and the names of the fields."

    teacher_id: TeacherId
    school_code: SchoolCode
    record: TeacherRecord
    changed_fields: tuple[str, ...]
    completeness: float = Field(ge=0, le=1)


@register
class TeacherTransferred(EventPayload):
    event_type = "TeacherTransferred"
    category = "teacher"
    description = "省内调动: the teacher moved from one school of the province to another."

    teacher_id: TeacherId
    from_school_code: SchoolCode
    to_school_code: SchoolCode
    proof: ProofDocument


@register
class TeacherReturnedToPost(EventPayload):
    event_type = "TeacherReturnedToPost"
    category = "teacher"
    description = "返岗: a teacher not in post (or who had left) is back in post at a school."

    teacher_id: TeacherId
    school_code: SchoolCode
    proof: ProofDocument


@register
class TeacherLeft(EventPayload):
    event_type = "TeacherLeft"
    category = "teacher"
    description = ("The teacher left the province's schools (retired, resigned, died, moved "
                   "out), with the school's note and, where one was given, the document.")

    teacher_id: TeacherId
    school_code: SchoolCode
    reason: LeaveReason
    note: str = ""
    proof: ProofDocument | None = None  # e.g. 调出证明 for a move out of the province


@register
class TeacherReassigned(EventPayload):
    event_type = "TeacherReassigned"
    category = "teacher"
    description = "A restructuring moved the teacher with their school (merge); no proof needed."

    teacher_id: TeacherId
    from_school_code: SchoolCode
    to_school_code: SchoolCode
    batch_id: str


# --------------------------------------------------------------------------- review


class CheckResult(_Part):
    """One automatic core-information check. A hard failure blocks approval."""

    check: str
    passed: bool
    severity: Literal["hard", "warning"]
    message: str = ""


@register
class RecordApproved(EventPayload):
    event_type = "RecordApproved"
    category = "review"
    description = "A reviewer approved a teacher's record version at a level."

    teacher_id: TeacherId
    level: ReviewLevel
    record_version: int = Field(ge=1, description="the teacher stream version approved")
    school_code: SchoolCode
    county_code: str
    comment: str = ""


@register
class RecordRejected(EventPayload):
    event_type = "RecordRejected"
    category = "review"
    description = "A reviewer sent a teacher's record back to the school, with a reason."

    teacher_id: TeacherId
    level: ReviewLevel
    record_version: int = Field(ge=1)
    school_code: SchoolCode
    county_code: str
    reason: str = Field(min_length=1)


@register
class RecordResubmitted(EventPayload):
    event_type = "RecordResubmitted"
    category = "review"
    description = ("The school sent a rejected record version back to the level that rejected "
                   "it without changing a field, with a note to the reviewer (重新提交).")

    teacher_id: TeacherId
    level: ReviewLevel = Field(description="the level that rejected it, which decides again")
    record_version: int = Field(ge=1)
    school_code: SchoolCode
    county_code: str
    note: str = Field(min_length=1, max_length=500)


@register
class ReviewCompleted(EventPayload):
    event_type = "ReviewCompleted"
    category = "review"
    description = "审核完成: the county approved the record version; it now counts as reviewed."

    teacher_id: TeacherId
    record_version: int = Field(ge=1)
    school_code: SchoolCode
    county_code: str


@register
class SpotCheckSampleDrawn(EventPayload):
    event_type = "SpotCheckSampleDrawn"
    category = "spotcheck"
    description = "A county drew a seeded random spot-check sample of school-approved records."

    sample_id: str
    county_code: str
    seed: int
    requested_size: int | None = None
    requested_percent: float | None = None
    population: tuple[TeacherId, ...] = Field(description="the candidates, in drawing order")
    sample: tuple[TeacherId, ...]


@register
class SpotCheckResultRecorded(EventPayload):
    event_type = "SpotCheckResultRecorded"
    category = "spotcheck"
    description = ("The county recorded what checking one sampled record against its sources "
                   "found: correct, or an error in the fields named (抽查结果). A later result "
                   "for the same record of the same sample replaces it.")

    sample_id: str
    county_code: str
    teacher_id: TeacherId
    school_code: SchoolCode
    record_version: int = Field(ge=1, description="the record version that was checked")
    outcome: Literal["correct", "error_found"]
    fields: tuple[str, ...] = Field(default=(), description="the fields found wrong")
    note: str = Field("", max_length=500)


# --------------------------------------------------------------------------- orgsync


class RestructuringOperation(_Part):
    """One line of a restructuring batch."""

    line: int = Field(ge=1, description="line number in the submitted batch file")
    op: Literal["merge", "close", "open", "rename", "restage", "change_reporting_line",
                "move_county"]
    school_code: SchoolCode
    target_code: SchoolCode | None = Field(None, description="merge target / close target")
    name: str | None = None
    stage: Stage | None = None
    is_teaching_point: bool | None = None
    county_code: str | None = None
    city_code: str | None = None
    reporting_line: ReportingLine | None = None
    is_rural: bool | None = None


@register
class RestructuringBatchAnnounced(EventPayload):
    event_type = "RestructuringBatchAnnounced"
    category = "restructuring"
    description = "A restructuring batch is known (pending) but not yet applied."

    batch_id: str
    effective_date: date
    operations: tuple[RestructuringOperation, ...]


@register
class RestructuringBatchApplied(EventPayload):
    event_type = "RestructuringBatchApplied"
    category = "restructuring"
    description = "A validated restructuring batch was applied as a whole."

    batch_id: str
    effective_date: date
    operations: tuple[RestructuringOperation, ...]
    teachers_to_move: int = Field(ge=0)


# --------------------------------------------------------------------------- reporting


class BaselineRow(_Part):
    """One row of an imported baseline. A blank (None) is unknown, never zero."""

    level: Literal["school", "county", "city", "province"]
    code: str = Field(description="school code, or county/city code, or 'province'")
    name: str | None = None
    stage: Stage | None = None
    schools: int | None = Field(None, ge=0)
    teaching_points: int | None = Field(None, ge=0)
    staff: int | None = Field(None, ge=0)
    fulltime: int | None = Field(None, ge=0)
    is_total: bool = False


@register
class BaselineImported(EventPayload):
    event_type = "BaselineImported"
    category = "baseline"
    description = "A chunk of an imported baseline (annual report or base table)."

    baseline_id: str
    kind: BaselineKind
    year: int
    chunk: int = Field(ge=0)
    chunks: int = Field(ge=1)
    rows: tuple[BaselineRow, ...]


@register
class CompletenessSignedOff(EventPayload):
    event_type = "CompletenessSignedOff"
    category = "signoff"
    description = "A city confirmed a county's counts agree with the base data, or said why not."

    county_code: str
    city_code: str
    agrees: bool
    schools_system: int
    staff_system: int
    schools_base: int | None = None
    staff_base: int | None = None
    explanation: str = ""


@register
class ConfirmationTableExported(EventPayload):
    event_type = "ConfirmationTableExported"
    category = "confirmation"
    description = "A school exported its teacher information confirmation table."

    school_code: SchoolCode
    teacher_ids: tuple[TeacherId, ...]
    format: Literal["xlsx", "pdf"]


@register
class ConfirmationTableReturned(EventPayload):
    event_type = "ConfirmationTableReturned"
    category = "confirmation"
    description = "The confirmation table came back signed by teacher, administrator and head."

    school_code: SchoolCode
    teacher_ids: tuple[TeacherId, ...]
    signed: bool = True


# --------------------------------------------------------------------------- chasing (催报)

UnitLevel = Literal["city", "county", "school"]


@register
class CollectionRoundOpened(EventPayload):
    event_type = "CollectionRoundOpened"
    category = "chasing"
    description = ("The province opened a collection round: its deadlines and the entry and "
                   "review rates a unit must reach not to lag behind.")

    round_id: str
    title: str
    entry_due: date  # schools finish entry and confirmation (the notice: 5 月 10 日)
    report_due: date  # cities and universities report the review confirmation (5 月 15 日)
    entry_target: float = Field(default=1.0, gt=0, le=1)
    review_target: float = Field(default=1.0, gt=0, le=1)


@register
class LaggardNoticeSent(EventPayload):
    event_type = "LaggardNoticeSent"
    category = "chasing"
    description = ("A reminder (催报通知) to a lagging city, county or school's administrators, "
                   "with the rates it was sent for; other channels (SMS, mail) subscribe here.")

    notice_id: str
    round_id: str | None = None
    level: UnitLevel
    unit_code: str
    unit_name: str
    city_code: str | None = None
    county_code: str | None = None
    message: str
    staff_rate: float | None = None
    review_rate: float | None = None


@register
class LaggardNoticeRead(EventPayload):
    event_type = "LaggardNoticeRead"
    category = "chasing"
    description = "An administrator of the unit a reminder was sent to opened it."

    notice_id: str
    level: UnitLevel
    unit_code: str
