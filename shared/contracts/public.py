"""Public integration events: what other agencies (finance, training, qualification offices)
may subscribe to. A small, stable set, separate from the services' internal events.

Why separate: internal events are free to change with the services; public ones are promises to
code we do not own. So a public event carries only what a subscriber needs (no name, no birth
date, no masked or full ID number, no actor, no internal stream names), is keyed by an opaque id
(the teacher's UUID, the school code, the baseline id), and changes only compatibly (see
shared/contracts/compat.py): a field may be added, never removed or retyped; a breaking change
is a new topic (`...v2`).

How they are made: `translate(envelope)` is a pure function from one internal envelope to zero
or one public message, called by the outbox relay in the same pass that publishes the internal
event (no second store, no dual write). Its event id is derived from the internal event id
(uuid5), so a relay that publishes a batch twice after a crash publishes the same public ids
and subscribers deduplicate by `event_id`.

    internal event (service)                  public event          public topic
    SchoolRegistered (intake)                 SchoolOpened          tmis.public.school.v1
    SchoolChanged (intake)                    SchoolChanged         tmis.public.school.v1
    SchoolClosed, merged_into set (intake)    SchoolMerged          tmis.public.school.v1
    SchoolClosed, no target (intake)          SchoolClosed          tmis.public.school.v1
    TeacherRegistered / TeacherUpdated,
      in post (intake)                        TeacherInPost         tmis.public.teacher.v1
    TeacherReturnedToPost (intake)            TeacherInPost         tmis.public.teacher.v1
    TeacherRegistered / TeacherUpdated,
      not in post; TeacherLeft (intake)       TeacherLeft           tmis.public.teacher.v1
    TeacherTransferred / TeacherReassigned    TeacherMoved          tmis.public.teacher.v1
    ReviewCompleted (review)                  ReviewCompleted       tmis.public.review.v1
    BaselineImported, each chunk (reporting)  BaselinePublished     tmis.public.baseline.v1

Teacher events carry the school code, not the county: a subscriber joins with the school topic
(the school's county and rural flag as of the same date). The translator could not know the
county without state, and a school can move county in a restructuring.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Literal
from uuid import UUID, uuid5

from pydantic import BaseModel, ConfigDict, Field, create_model

from shared.contracts import events as ev
from shared.contracts.base import EventPayload, parse_payload
from shared.contracts.envelope import Envelope
from shared.contracts.vocabulary import BaselineKind, LeaveReason, PostStatus, ReportingLine, Stage
from shared.domain.idnumber import check_char

# Fixed forever: public event ids are uuid5(PUBLIC_NAMESPACE, "<internal event id>:<type>").
PUBLIC_NAMESPACE = UUID("6f1c2a8e-3b7d-5e94-a0c1-7d2f4b9e8a31")

# Registered with their retention in shared/contracts/topics.py (PUBLIC_TOPICS).
SCHOOL_TOPIC = "tmis.public.school.v1"
TEACHER_TOPIC = "tmis.public.teacher.v1"
REVIEW_TOPIC = "tmis.public.review.v1"
BASELINE_TOPIC = "tmis.public.baseline.v1"


class PublicPayload(BaseModel):
    """Base of every public payload.

    Frozen; `extra="ignore"` so a subscriber's copy of an older model reads a newer message
    (fields added later are ignored), and so the JSON Schema does not forbid additional
    properties: adding an optional field must never break a strict validator.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_type: ClassVar[str]
    schema_version: ClassVar[int] = 1
    topic: ClassVar[str]
    key_field: ClassVar[str]
    meaning: ClassVar[str]
    used_by: ClassVar[str]

    def key(self) -> str:
        return str(getattr(self, self.key_field))


class PublicEnvelope(BaseModel):
    """What travels on a public topic. Not the internal envelope: no actor, no stream ids, no
    correlation ids, no positions in a service's store."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_id: UUID = Field(description="unique; the same id when a message is redelivered or "
                                       "re-published: deduplicate by it")
    event_type: str = Field(min_length=1)
    schema_version: int = Field(ge=1)
    key: str = Field(min_length=1, description="the opaque id the message is keyed by "
                                               "(teacher_id, school_code or baseline_id)")
    sequence: int = Field(ge=1, description="increases with every event of the same key (gaps "
                                            "possible): orders events with equal occurred_at")
    occurred_at: datetime = Field(description="business time: what 'as of a date' uses")
    source_event_id: UUID = Field(description="the internal event this was translated from, "
                                              "for tracing a question back to TMIS")
    payload: dict[str, Any]

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, raw: bytes | str) -> PublicEnvelope:
        return cls.model_validate_json(raw)


# --------------------------------------------------------------------------- schools


class _SchoolProfileFields(PublicPayload):
    topic = SCHOOL_TOPIC
    key_field = "school_code"

    school_code: str
    name: str
    stage: Stage
    is_teaching_point: bool = Field(description="教学点: counted under primary")
    county_code: str = Field(pattern=r"^\d{6}$")
    city_code: str = Field(pattern=r"^\d{6}$")
    reporting_line: ReportingLine
    is_rural: bool = Field(description="a rural school (乡村学校): subsidy eligibility")


class SchoolOpened(_SchoolProfileFields):
    event_type = "SchoolOpened"
    meaning = "A school or teaching point joined the registry, open, with its full profile."
    used_by = ("Every subscriber's school table: county and rural flag for the rural teacher "
               "living subsidy (乡村教师生活补助); school counts per stage in reporting.")


class SchoolChanged(_SchoolProfileFields):
    event_type = "SchoolChanged"
    meaning = ("A school's profile changed (renamed, re-staged, moved county, rural flag, "
               "reporting line): the full new profile and the names of the changed fields.")
    used_by = ("The subsidy list (a school that stops or starts being rural, or moves county, "
               "changes who is eligible where from this date on).")

    changed_fields: tuple[str, ...]


class SchoolMerged(PublicPayload):
    event_type = "SchoolMerged"
    topic = SCHOOL_TOPIC
    key_field = "school_code"
    meaning = ("A school was merged into another (撤并) and is closed from this date; its "
               "teachers arrive at `merged_into` as TeacherMoved events (because=restructuring).")
    used_by = "School tables of every subscriber; training and award quotas per school."

    school_code: str
    merged_into: str


class SchoolClosed(PublicPayload):
    event_type = "SchoolClosed"
    topic = SCHOOL_TOPIC
    key_field = "school_code"
    meaning = "A school closed without a merge target (撤销); it is closed from this date."
    used_by = "School tables of every subscriber: no teacher is eligible at a closed school."

    school_code: str


# --------------------------------------------------------------------------- teachers

InPostBecause = Literal["registered", "updated", "returned_to_post"]


class TeacherInPostV1(PublicPayload):
    """TeacherInPost as first published; kept for its schema, its docs and the upcaster."""

    event_type = "TeacherInPost"
    schema_version = 1
    topic = TEACHER_TOPIC
    key_field = "teacher_id"
    meaning = ("The teacher is in post (在本单位任职) at `school_code` with record version "
               "`record_version`.")
    used_by = "Version 1 of TeacherInPost; read through the v1 -> v2 upcaster."

    teacher_id: str
    school_code: str
    record_version: int = Field(ge=1)
    because: InPostBecause


class TeacherInPost(PublicPayload):
    event_type = "TeacherInPost"
    schema_version = 2
    topic = TEACHER_TOPIC
    key_field = "teacher_id"
    meaning = ("The teacher is in post (在本单位任职) at `school_code`, and the record now has "
               "version `record_version`. Sent when a teacher is registered in post, returns to "
               "post (返岗), and on every change of the record while in post: a change resets "
               "the review, which completes again only for the new version. v2 added "
               "`is_fulltime` and `stage_taught` (null: not stated by this event; keep the last "
               "known value).")
    used_by = ("The rural teacher living subsidy list (finance); training places by stage "
               "(training office); staff counts (教职工: in post at this unit).")

    teacher_id: str
    school_code: str
    record_version: int = Field(ge=1, description="the record version now current; a "
                                                  "ReviewCompleted for it (or later) completes it")
    because: InPostBecause
    is_fulltime: bool | None = Field(None, description="专任教师; null: unchanged/unknown")
    stage_taught: Stage | None = Field(None, description="null: unchanged/unknown")


LeftReason = Literal["retired", "resigned", "deceased", "left_province", "not_in_post", "other"]
# "other": an internal reason added after this contract version; the relay must never stall
# on a reason it cannot name publicly.
_LEFT_REASONS: dict[LeaveReason, LeftReason] = {
    LeaveReason.RETIRED: "retired", LeaveReason.RESIGNED: "resigned",
    LeaveReason.DECEASED: "deceased", LeaveReason.LEFT_PROVINCE: "left_province",
}


class TeacherLeft(PublicPayload):
    event_type = "TeacherLeft"
    topic = TEACHER_TOPIC
    key_field = "teacher_id"
    meaning = ("The teacher is not in post any more: left the province's schools (retired, "
               "resigned, deceased, left the province) or the record now says not in post at "
               "this unit (not_in_post: seconded out, long leave; also a teacher registered "
               "not in post). Not counted as staff from this date until a TeacherInPost.")
    used_by = ("Ends subsidy eligibility and training/award places from this date; "
               "qualification re-registration looks for the reason.")

    teacher_id: str
    school_code: str = Field(description="the school the teacher is (was) attached to")
    reason: LeftReason
    record_version: int | None = Field(None, ge=1, description="set when the record itself "
                                                               "changed (not_in_post)")


class TeacherMoved(PublicPayload):
    event_type = "TeacherMoved"
    topic = TEACHER_TOPIC
    key_field = "teacher_id"
    meaning = ("The teacher is now attached to `to_school_code`: an in-province transfer "
               "(省内调动, with proof, a new record version to review) or a restructuring that "
               "moved the teacher with the school (no new record version).")
    used_by = "Moves subsidy eligibility to the new school's county and rural flag."

    teacher_id: str
    from_school_code: str
    to_school_code: str
    because: Literal["transfer", "restructuring"]
    record_version: int | None = Field(None, ge=1, description="set for a transfer: the new "
                                                               "record version to be reviewed")


# --------------------------------------------------------------------------- review


class ReviewCompleted(PublicPayload):
    event_type = "ReviewCompleted"
    topic = REVIEW_TOPIC
    key_field = "teacher_id"
    meaning = ("审核完成: the county approved record version `record_version` of the teacher. "
               "The review of a teacher is complete as long as no later record version exists.")
    used_by = ("The subsidy list (only reviewed records are paid); review completion rates "
               "(审核完成教师数) in reporting.")

    teacher_id: str
    record_version: int = Field(ge=1)
    school_code: str
    county_code: str


# --------------------------------------------------------------------------- baselines


class BaselineFigures(BaseModel):
    """One row of a published baseline. A null figure is unknown, never zero."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    level: Literal["school", "county", "city", "province"]
    code: str
    name: str | None = None
    stage: Stage | None = None
    schools: int | None = None
    teaching_points: int | None = None
    staff: int | None = None
    fulltime: int | None = None
    is_total: bool = False


class BaselinePublished(PublicPayload):
    event_type = "BaselinePublished"
    topic = BASELINE_TOPIC
    key_field = "baseline_id"
    meaning = ("One chunk of an imported baseline: the annual statistical report (年报) or the "
               "base table (基数表) of a year. A baseline is complete when all `chunks` chunks "
               "of its `baseline_id` have arrived.")
    used_by = "Quotas computed against official figures (training places per county)."

    baseline_id: str
    kind: BaselineKind
    year: int
    chunk: int = Field(ge=0)
    chunks: int = Field(ge=1)
    rows: tuple[BaselineFigures, ...]


# --------------------------------------------------------------------------- registry

CURRENT: dict[str, type[PublicPayload]] = {m.event_type: m for m in (
    SchoolOpened, SchoolChanged, SchoolMerged, SchoolClosed, TeacherInPost, TeacherLeft,
    TeacherMoved, ReviewCompleted, BaselinePublished)}
# Every version ever published, current ones included: (type, version) -> model.
VERSIONS: dict[tuple[str, int], type[PublicPayload]] = {
    **{(m.event_type, m.schema_version): m for m in CURRENT.values()},
    ("TeacherInPost", 1): TeacherInPostV1,
}
PublicUpcaster = Callable[[dict[str, Any]], dict[str, Any]]


def _teacher_in_post_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    """v1 did not state full-time or stage: v2 readers see null (unknown)."""
    return {**payload, "is_fulltime": None, "stage_taught": None}


UPCASTERS: dict[tuple[str, int], PublicUpcaster] = {
    ("TeacherInPost", 1): _teacher_in_post_v1_to_v2,
}


def upcast_public(event_type: str, version: int, payload: dict[str, Any]) -> dict[str, Any]:
    """Lift a public payload of an older version to the current one."""
    model = CURRENT.get(event_type)
    if model is None:
        return payload
    while version < model.schema_version:
        step = UPCASTERS.get((event_type, version))
        if step is None:
            raise LookupError(f"no upcaster for public {event_type} v{version}")
        payload = step(payload)
        version += 1
    return payload


def read_public(raw: bytes | str) -> tuple[PublicEnvelope, PublicPayload | None]:
    """Parse a public message: the envelope, and the payload upcast to the current version
    (None for an event type this code does not know: a subscriber ignores those)."""
    env = PublicEnvelope.from_bytes(raw)
    model = CURRENT.get(env.event_type)
    if model is None:
        return env, None
    return env, model.model_validate(upcast_public(env.event_type, env.schema_version,
                                                   env.payload))


# --------------------------------------------------------------------------- translation


@dataclass(frozen=True)
class PublicMessage:
    """One message for the producer: topic, key, value and headers, all bytes-ready."""

    topic: str
    key: bytes
    value: bytes
    headers: tuple[tuple[str, bytes], ...]
    envelope: PublicEnvelope


def public_event_id(internal_event_id: UUID, public_type: str) -> UUID:
    return uuid5(PUBLIC_NAMESPACE, f"{internal_event_id}:{public_type}")


def _profile(code: str, p: ev.SchoolProfile) -> dict[str, Any]:
    return {"school_code": code, "name": p.name, "stage": p.stage,
            "is_teaching_point": p.is_teaching_point, "county_code": p.county_code,
            "city_code": p.city_code, "reporting_line": p.reporting_line,
            "is_rural": p.is_rural}


def _record_state(teacher_id: str, school: str, record: ev.TeacherRecord, version: int,
                  because: InPostBecause) -> PublicPayload:
    if record.post_status is PostStatus.IN_POST:
        return TeacherInPost(teacher_id=teacher_id, school_code=school, record_version=version,
                             because=because, is_fulltime=record.is_fulltime_teacher,
                             stage_taught=record.stage_taught)
    return TeacherLeft(teacher_id=teacher_id, school_code=school, reason="not_in_post",
                       record_version=version)


def public_payloads(payload: EventPayload, stream_version: int) -> list[PublicPayload]:
    """The public payloads an internal payload becomes (none for internal-only events).

    `stream_version` is the internal event's version in its stream: for teacher events it is
    the record version review and reporting compare with ReviewCompleted.record_version.
    """
    match payload:
        case ev.SchoolRegistered():
            return [SchoolOpened(**_profile(payload.school_code, payload.profile))]
        case ev.SchoolChanged():
            return [SchoolChanged(**_profile(payload.school_code, payload.profile),
                                  changed_fields=payload.changed_fields)]
        case ev.SchoolClosed() if payload.merged_into:
            return [SchoolMerged(school_code=payload.school_code,
                                 merged_into=payload.merged_into)]
        case ev.SchoolClosed():
            return [SchoolClosed(school_code=payload.school_code)]
        case ev.TeacherRegistered():
            return [_record_state(payload.teacher_id, payload.school_code, payload.record,
                                  stream_version, "registered")]
        case ev.TeacherUpdated():
            return [_record_state(payload.teacher_id, payload.school_code, payload.record,
                                  stream_version, "updated")]
        case ev.TeacherReturnedToPost():
            return [TeacherInPost(teacher_id=payload.teacher_id, school_code=payload.school_code,
                                  record_version=stream_version, because="returned_to_post")]
        case ev.TeacherLeft():
            return [TeacherLeft(teacher_id=payload.teacher_id, school_code=payload.school_code,
                                reason=_LEFT_REASONS.get(payload.reason, "other"))]
        case ev.TeacherTransferred():
            return [TeacherMoved(teacher_id=payload.teacher_id,
                                 from_school_code=payload.from_school_code,
                                 to_school_code=payload.to_school_code, because="transfer",
                                 record_version=stream_version)]
        case ev.TeacherReassigned():
            return [TeacherMoved(teacher_id=payload.teacher_id,
                                 from_school_code=payload.from_school_code,
                                 to_school_code=payload.to_school_code, because="restructuring")]
        case ev.ReviewCompleted():
            return [ReviewCompleted(teacher_id=payload.teacher_id,
                                    record_version=payload.record_version,
                                    school_code=payload.school_code,
                                    county_code=payload.county_code)]
        case ev.BaselineImported():
            return [BaselinePublished(
                baseline_id=payload.baseline_id, kind=payload.kind, year=payload.year,
                chunk=payload.chunk, chunks=payload.chunks,
                rows=tuple(BaselineFigures(**r.model_dump()) for r in payload.rows))]
    return []


def envelope_for(internal: Envelope, payload: PublicPayload) -> PublicEnvelope:
    return PublicEnvelope(
        event_id=public_event_id(internal.event_id, payload.event_type),
        event_type=payload.event_type, schema_version=payload.schema_version, key=payload.key(),
        sequence=internal.stream_version, occurred_at=internal.occurred_at,
        source_event_id=internal.event_id, payload=payload.model_dump(mode="json"))


def translate(internal: Envelope, typed: EventPayload | None = None) -> list[PublicMessage]:
    """The public messages for one internal envelope, deterministic: the same envelope always
    gives byte-identical messages. `typed` is the envelope's payload as its model when the
    caller has it (the event store at append), which saves parsing it again. Raises
    LookupError / pydantic.ValidationError when the internal payload does not parse."""
    out = []
    source = typed if typed is not None else parse_payload(internal)
    for payload in public_payloads(source, internal.stream_version):
        env = envelope_for(internal, payload)
        headers = (("event_type", env.event_type.encode()),
                   ("event_id", str(env.event_id).encode()),
                   ("schema_version", str(env.schema_version).encode()),
                   ("content-type", b"application/json"))
        out.append(PublicMessage(payload.topic, env.key.encode(), env.to_bytes(), headers, env))
    return out


# --------------------------------------------------------------------------- schemas


def typed_public_envelope(model: type[PublicPayload]) -> type[BaseModel]:
    """The public envelope with the payload typed as `model` (for schemas and AsyncAPI)."""
    return create_model(
        f"{model.event_type}V{model.schema_version}Message", __base__=PublicEnvelope,
        __doc__=f"{model.event_type} v{model.schema_version}: {model.meaning}",
        payload=(model, ...),
    )


def public_schema(model: type[PublicPayload]) -> dict[str, Any]:
    """The JSON Schema of a public message (envelope + typed payload) of one version."""
    schema = typed_public_envelope(model).model_json_schema()
    schema["$id"] = f"tmis:public:{model.event_type}:v{model.schema_version}"
    schema["x-topic"] = model.topic
    schema["x-key"] = model.key_field
    schema["x-event-type"] = model.event_type
    schema["x-schema-version"] = model.schema_version
    return schema


def schema_file_name(event_type: str, version: int) -> str:
    return f"{event_type}.v{version}.json"


# --------------------------------------------------------------------------- ID number guard

_ID_LIKE = re.compile(r"(?<![0-9])([0-9]{17}[0-9Xx])(?![0-9A-Za-z])")
FORBIDDEN_FIELD = re.compile(r"id_?number|idcard|id_card|身份证|sfz", re.IGNORECASE)


def find_id_numbers(text: str) -> list[str]:
    """Every substring of `text` that is a checksum-valid 18-character resident ID number
    (GB 11643). Used to prove no public message ever carries one."""
    return [m for m in _ID_LIKE.findall(text) if check_char(m[:17]) == m[17].upper()]


def forbidden_fields(schema: dict[str, Any]) -> list[str]:
    """Property names anywhere in a JSON Schema that look like an ID number field."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for name, sub in (node.get("properties") or {}).items():
                if FORBIDDEN_FIELD.search(name):
                    found.append(name)
                walk(sub)
            for k, v in node.items():
                if k != "properties":
                    walk(v)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(schema)
    return found


__all__ = [
    "CURRENT",
    "VERSIONS",
    "PublicEnvelope",
    "PublicMessage",
    "PublicPayload",
    "find_id_numbers",
    "public_schema",
    "read_public",
    "translate",
]
