"""The HTTP API's request and response bodies (what /docs shows).

JSON speaks the English keys of the shared vocabulary. Text fields refuse control characters
(PostgreSQL cannot store NUL) and dates are bounded to 1900-2100, so malformed input is a 422,
never a 500.
"""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from services.intake.domain.documents import Document
from services.intake.domain.record import PersonRecord
from services.intake.domain.school import School
from services.intake.domain.teacher import Teacher
from services.intake.service_layer.search import Found
from shared.contracts.events import TeacherRecord
from shared.contracts.vocabulary import Gender, LeaveReason, PostStatus, ReportingLine, Stage

SCHOOL_CODE_PATTERN = r"^[0-9A-Za-z][0-9A-Za-z_-]{0,31}$"
DIVISION_PATTERN = r"^[0-9]{6}$"
SHA256_PATTERN = r"^[0-9a-f]{64}$"
IDEMPOTENCY_KEY_PATTERN = r"^[!-~]{1,200}$"


def _printable(value: str) -> str:
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in value):
        raise ValueError("must not contain control characters")
    return value


def _plausible_date(value: date) -> date:
    if not 1900 <= value.year <= 2100:
        raise ValueError("must be between 1900-01-01 and 2100-12-31")
    return value


def _plausible_time(value: datetime) -> datetime:
    if not 1900 <= value.year <= 2100:
        raise ValueError("must be between 1900 and 2100")
    if value.tzinfo is None:
        raise ValueError("must carry a time zone offset, e.g. 2017-04-07T00:00:00+08:00")
    return value


Text50 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50),
                   AfterValidator(_printable)]
Text100 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
                    AfterValidator(_printable)]
Day = Annotated[date, AfterValidator(_plausible_date)]
BusinessTime = Annotated[datetime, AfterValidator(_plausible_time),
                         Field(description="business time; province and service accounts only")]
SchoolCode = Annotated[str, StringConstraints(pattern=SCHOOL_CODE_PATTERN)]
DivisionCode = Annotated[str, StringConstraints(pattern=DIVISION_PATTERN)]
Sha256 = Annotated[str, StringConstraints(pattern=SHA256_PATTERN)]
Version = Annotated[int, Field(ge=0, le=2**31 - 1)]
IdNumber = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32),
                     AfterValidator(_printable),
                     Field(description="居民身份证号 (GB 11643), 18 characters")]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --------------------------------------------------------------------------- schools


class SchoolIn(_In):
    code: SchoolCode
    name: Text100
    stage: Stage
    is_teaching_point: bool = False
    county_code: DivisionCode
    city_code: DivisionCode | None = Field(None, description="defaults to the county's city")
    reporting_line: ReportingLine = ReportingLine.COUNTY
    is_rural: bool = False
    occurred_at: BusinessTime | None = None


class SchoolPatch(_In):
    expected_version: Version
    name: Text100 | None = None
    stage: Stage | None = None
    is_teaching_point: bool | None = None
    county_code: DivisionCode | None = None
    city_code: DivisionCode | None = None
    reporting_line: ReportingLine | None = None
    is_rural: bool | None = None
    open: bool | None = Field(None, description="false closes the school (no reopening)")
    occurred_at: BusinessTime | None = None

    def changes(self) -> dict[str, Any]:
        keys = ("name", "stage", "is_teaching_point", "county_code", "city_code",
                "reporting_line", "is_rural")
        return {k: getattr(self, k) for k in keys if getattr(self, k) is not None}


class SchoolOut(BaseModel):
    code: str
    name: str
    stage: Stage
    is_teaching_point: bool
    county_code: str
    city_code: str
    reporting_line: ReportingLine
    is_rural: bool
    open: bool
    merged_into: str | None
    version: int
    changed_fields: list[str] = []

    @classmethod
    def of(cls, school: School, changed: tuple[str, ...] = ()) -> SchoolOut:
        return cls(code=school.code, **school.profile.model_dump(), open=school.is_open,
                   merged_into=school.merged_into, version=school.version,
                   changed_fields=list(changed))


# --------------------------------------------------------------------------- teachers


class RecordIn(_In):
    """The core information set. Required: name, id_number, gender, birth_date, ethnicity,
    post_status, is_fulltime_teacher, hire_date."""

    name: Text50
    id_number: IdNumber
    gender: Gender
    birth_date: Day
    ethnicity: Text50 = Field(description="GB/T 3304 name, e.g. 汉族, 回族, 藏族")
    post_status: PostStatus
    is_fulltime_teacher: bool = Field(description="专任教师")
    hire_date: Day
    political_status: Text50 | None = None
    stage_taught: Stage | None = None
    highest_education: Text50 | None = None
    professional_title: Text50 | None = None
    teacher_qualification: Text50 | None = None

    def person(self) -> PersonRecord:
        return PersonRecord(**self.model_dump())


class RecordPatch(_In):
    """Only the fields to change; null clears an optional field."""

    name: Text50 | None = None
    id_number: IdNumber | None = None
    gender: Gender | None = None
    birth_date: Day | None = None
    ethnicity: Text50 | None = None
    post_status: PostStatus | None = None
    is_fulltime_teacher: bool | None = None
    hire_date: Day | None = None
    political_status: Text50 | None = None
    stage_taught: Stage | None = None
    highest_education: Text50 | None = None
    professional_title: Text50 | None = None
    teacher_qualification: Text50 | None = None

    def changes(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.model_fields_set}


class TeacherIn(_In):
    school_code: SchoolCode
    record: RecordIn
    occurred_at: BusinessTime | None = None


class TeacherPatch(_In):
    expected_version: Version
    record: RecordPatch
    occurred_at: BusinessTime | None = None


class TransferIn(_In):
    to_school_code: SchoolCode
    proof_sha256: Sha256 = Field(description="from POST /v1/documents")
    expected_version: Version | None = None
    occurred_at: BusinessTime | None = None


class ReturnIn(_In):
    school_code: SchoolCode
    proof_sha256: Sha256 = Field(description="from POST /v1/documents")
    expected_version: Version | None = None
    occurred_at: BusinessTime | None = None


class LeaveIn(_In):
    reason: LeaveReason
    expected_version: Version | None = None
    occurred_at: BusinessTime | None = None
    note: str = Field(default="", max_length=500, description="the school's note (说明)")
    proof_sha256: Sha256 | None = Field(default=None, description="a document from POST "
                                        "/v1/documents, e.g. 调出证明 (optional)")


class TeacherAccepted(BaseModel):
    teacher_id: str
    school_code: str
    version: int
    completeness: float
    changed_fields: list[str] = []

    @classmethod
    def of(cls, t: Teacher, changed: tuple[str, ...] = ()) -> TeacherAccepted:
        return cls(teacher_id=t.teacher_id, school_code=t.school_code, version=t.version,
                   completeness=t.completeness, changed_fields=list(changed))


class TeacherOut(BaseModel):
    teacher_id: str
    school_code: str
    version: int
    in_post: bool
    has_left: bool
    completeness: float
    record: TeacherRecord
    id_number: str | None = Field(None, description="only for the teacher's own school")

    @classmethod
    def of(cls, t: Teacher, id_number: str | None = None) -> TeacherOut:
        return cls(teacher_id=t.teacher_id, school_code=t.school_code, version=t.version,
                   in_post=t.in_post, has_left=t.has_left, completeness=t.completeness,
                   record=t.record, id_number=id_number)


class TeacherHitOut(BaseModel):
    """A teacher found by GET /v1/teachers/search. `record` only inside the caller's region; an
    ID-number hit elsewhere in the province says where the person holds (or held) a post."""

    teacher_id: str
    name: str
    school_code: str
    school_name: str
    county_code: str
    city_code: str
    in_post: bool
    has_left: bool
    version: int
    in_region: bool
    record: TeacherRecord | None = None

    @classmethod
    def of(cls, found: Found) -> TeacherHitOut:
        t, school = found.hit.teacher, found.hit.school
        return cls(teacher_id=t.teacher_id, name=t.record.name, school_code=t.school_code,
                   school_name=school.profile.name, county_code=school.profile.county_code,
                   city_code=school.profile.city_code, in_post=t.in_post, has_left=t.has_left,
                   version=t.version, in_region=found.in_region,
                   record=t.record if found.in_region else None)


# --------------------------------------------------------------------------- files


class DocumentOut(BaseModel):
    sha256: str
    media_type: str
    size_bytes: int
    filename: str | None

    @classmethod
    def of(cls, doc: Document) -> DocumentOut:
        return cls(sha256=doc.sha256, media_type=doc.media_type, size_bytes=doc.size_bytes,
                   filename=doc.filename)


class RowProblemOut(BaseModel):
    row: int
    field: str
    column: str
    msg: str


class ImportReportOut(BaseModel):
    school_code: str
    rows: int = Field(description="data rows read (the example row and blank rows excluded)")
    registered: int
    updated: int
    unchanged: int
    failed: int
    skipped: int = Field(description="example rows skipped")
    batches: int
    seconds: float
    problems: list[RowProblemOut]


class ErrorOut(BaseModel):
    error: str
    message: str
    problems: list[dict[str, Any]] | None = None
