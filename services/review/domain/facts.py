"""From an event envelope to the fact the projection keeps (or None for an event review
does not use).

Teacher events are read leniently: the payload is kept as delivered and interpreted by
`derive`, so a record missing a field becomes a failed check the reviewer sees, and a transfer
delivered without its proof becomes a transfer that cannot be approved, instead of a message
lost to the dead-letter topic. School events are parsed against their contract: a school
without a county cannot be placed, so such an event is a PoisonEvent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import ValidationError

from services.review.domain.model import TEACHER_EVENTS, DecisionFact, TeacherFact
from shared.contracts.base import parse_payload
from shared.contracts.envelope import Envelope
from shared.contracts.events import (
    RecordApproved,
    RecordRejected,
    RecordResubmitted,
    SchoolChanged,
    SchoolClosed,
    SchoolRegistered,
    SpotCheckResultRecorded,
    SpotCheckSampleDrawn,
)
from shared.errors import PoisonEvent

SCHOOL_EVENTS = frozenset({"SchoolRegistered", "SchoolChanged", "SchoolClosed"})
DECISION_EVENTS = frozenset({"RecordApproved", "RecordRejected", "RecordResubmitted"})


@dataclass(frozen=True)
class SchoolFact:
    """A school event: the full profile (registered, changed) or a closure."""

    school_code: str
    source: str
    stream_version: int
    event_type: str
    name: str | None
    stage: str | None
    is_teaching_point: bool | None
    county_code: str | None
    city_code: str | None
    open: bool
    merged_into: str | None
    reporting_line: str | None = None  # None for a closure (it does not change the line)


@dataclass(frozen=True)
class SpotCheckFact:
    event: SpotCheckSampleDrawn
    actor: str
    drawn_at: datetime
    event_id: str


@dataclass(frozen=True)
class SpotCheckResultFact:
    """A spot-check result; the newest (highest position) per sample and teacher counts."""

    event: SpotCheckResultRecorded
    actor: str
    recorded_at: datetime
    position: int
    event_id: str


Fact = TeacherFact | SchoolFact | DecisionFact | SpotCheckFact | SpotCheckResultFact


def read_fact(env: Envelope) -> Fact | None:
    """The fact an envelope carries for review; raises PoisonEvent when it can never apply."""
    if env.event_type in TEACHER_EVENTS:
        return _teacher(env)
    if env.event_type in SCHOOL_EVENTS:
        return _school(env)
    if env.event_type in DECISION_EVENTS:
        return _decision(env)
    if env.event_type in ("SpotCheckSampleDrawn", "SpotCheckResultRecorded"):
        try:
            event = parse_payload(env)
        except (LookupError, ValidationError) as exc:
            raise PoisonEvent(f"unreadable spot check {env.event_id}: {exc}") from None
        if isinstance(event, SpotCheckResultRecorded):
            return SpotCheckResultFact(event, env.actor, env.occurred_at, env.position,
                                       str(env.event_id))
        assert isinstance(event, SpotCheckSampleDrawn)
        return SpotCheckFact(event, env.actor, env.occurred_at, str(env.event_id))
    return None  # ReviewCompleted is implied by the county approval; others are not review's


def _teacher(env: Envelope) -> TeacherFact:
    tid = env.payload.get("teacher_id")
    if not isinstance(tid, str) or not tid:
        tid = env.stream_id.removeprefix("teacher-")
    if not tid or tid == env.stream_id:
        raise PoisonEvent(f"{env.event_type} {env.event_id} names no teacher")
    return TeacherFact(teacher_id=tid, source=env.source, stream_version=env.stream_version,
                       event_type=env.event_type, event_id=str(env.event_id),
                       occurred_at=_utc(env.occurred_at), payload=dict(env.payload))


def _school(env: Envelope) -> SchoolFact:
    try:
        event = parse_payload(env)
    except (LookupError, ValidationError) as exc:
        raise PoisonEvent(f"unreadable {env.event_type} {env.event_id}: {exc}") from None
    if isinstance(event, SchoolRegistered | SchoolChanged):
        p = event.profile
        return SchoolFact(school_code=event.school_code, name=p.name, stage=p.stage.value,
                          is_teaching_point=p.is_teaching_point, county_code=p.county_code,
                          city_code=p.city_code, open=True, merged_into=None,
                          source=env.source, stream_version=env.stream_version,
                          event_type=env.event_type, reporting_line=p.reporting_line.value)
    assert isinstance(event, SchoolClosed)
    return SchoolFact(school_code=event.school_code, name=None, stage=None,
                      is_teaching_point=None, county_code=None, city_code=None, open=False,
                      merged_into=event.merged_into, source=env.source,
                      stream_version=env.stream_version, event_type=env.event_type)


def _decision(env: Envelope) -> DecisionFact:
    try:
        event = parse_payload(env)
    except (LookupError, ValidationError) as exc:
        raise PoisonEvent(f"unreadable {env.event_type} {env.event_id}: {exc}") from None
    assert isinstance(event, RecordApproved | RecordRejected | RecordResubmitted)
    return DecisionFact(
        event_id=str(env.event_id), position=env.position, teacher_id=event.teacher_id,
        record_version=event.record_version, level=event.level,
        approved=isinstance(event, RecordApproved),
        reason=(event.reason if isinstance(event, RecordRejected) else
                event.note if isinstance(event, RecordResubmitted) else ""),
        actor=env.actor, decided_at=_utc(env.occurred_at),
        resubmitted=isinstance(event, RecordResubmitted))


def _utc(at: datetime) -> datetime:
    """Business time in UTC, as PostgreSQL hands it back: a fact derived straight from its
    envelope and the same fact read from the projection's tables must be equal (the checks
    use the submission's date)."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
