"""Reporting reads payloads as shared.contracts.base.parse_payload does (upcast, then leniently:
unknown fields ignored), only faster; an unknown event type is not counted, a broken payload is
poison."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import uuid4

import pytest

from services.reporting.entrypoints.consumers import _payload
from shared.contracts.base import EventPayload, parse_payload
from shared.contracts.envelope import Envelope
from shared.contracts.events import (
    RecordApproved,
    ReviewCompleted,
    SchoolProfile,
    SchoolRegistered,
    TeacherRecord,
    TeacherRegistered,
)
from shared.contracts.vocabulary import Gender, PostStatus, ReviewLevel, Stage
from shared.errors import PoisonEvent


def _envelope(event_type: str, payload: dict[str, object]) -> Envelope:
    now = datetime(2017, 3, 1, tzinfo=UTC)
    return Envelope(event_id=uuid4(), event_type=event_type, schema_version=1, source="intake",
                    stream_id=f"x-{uuid4()}", stream_version=1, position=1, occurred_at=now,
                    recorded_at=now, actor="test", correlation_id=uuid4(), payload=payload)


def _of(event: EventPayload, **extra: object) -> Envelope:
    return _envelope(event.event_type, {**event.model_dump(mode="json"), **extra})


EVENTS: list[EventPayload] = [
    SchoolRegistered(school_code="S1", profile=SchoolProfile(
        name="甲", stage=Stage.PRIMARY, county_code="620102", city_code="620100")),
    TeacherRegistered(teacher_id="t", school_code="S1", completeness=0.5, record=TeacherRecord(
        name="测试", id_number_masked="620102********001X", gender=Gender.MALE,
        birth_date=date(1980, 1, 1), ethnicity="汉族", post_status=PostStatus.IN_POST,
        is_fulltime_teacher=True)),
    RecordApproved(teacher_id="t", level=ReviewLevel.SCHOOL, record_version=1,
                   school_code="S1", county_code="620102"),
    ReviewCompleted(teacher_id="t", record_version=1, school_code="S1", county_code="620102"),
]


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: e.event_type)
def test_a_payload_reads_as_the_shared_parser_reads_it_newer_fields_ignored(event):
    env = _of(event, added_by_a_newer_producer="ignored")
    assert _payload(env) == parse_payload(env) == event


def test_an_event_type_reporting_does_not_know_is_not_counted():
    assert _payload(_envelope("SomethingNew", {"x": 1})) is None


def test_a_payload_that_breaks_its_contract_is_poison():
    broken = _envelope("ReviewCompleted", {"teacher_id": "t", "record_version": 0})
    with pytest.raises(PoisonEvent):
        _payload(broken)
