"""Reading envelopes into review's facts: teachers leniently, schools strictly."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest

from services.review.domain.facts import SchoolFact, read_fact
from services.review.domain.model import TeacherFact
from shared.contracts.envelope import Envelope
from shared.errors import PoisonEvent


def envelope(event_type: str, stream_id: str, payload: dict[str, Any],
             version: int = 1) -> Envelope:
    now = datetime.now(UTC)
    return Envelope(event_id=uuid4(), event_type=event_type, schema_version=1,
                    source="intake", stream_id=stream_id, stream_version=version, position=9,
                    occurred_at=now, recorded_at=now, actor="school:S1",
                    correlation_id=uuid4(), payload=payload)


def test_a_transfer_without_its_proof_is_still_read_so_it_can_be_refused_visibly():
    tid = str(uuid4())
    fact = read_fact(envelope("TeacherTransferred", f"teacher-{tid}", {
        "teacher_id": tid, "from_school_code": "S1", "to_school_code": "S2"}, 3))
    assert isinstance(fact, TeacherFact)
    assert (fact.teacher_id, fact.stream_version, fact.payload.get("proof")) == (tid, 3, None)


def test_a_teacher_event_without_a_teacher_id_falls_back_to_the_stream_id():
    tid = str(uuid4())
    fact = read_fact(envelope("TeacherLeft", f"teacher-{tid}", {"school_code": "S1"}))
    assert isinstance(fact, TeacherFact) and fact.teacher_id == tid


def test_a_school_event_is_read_with_its_place():
    fact = read_fact(envelope("SchoolRegistered", "school-S1", {
        "school_code": "S1", "profile": {"name": "一中", "stage": "junior",
                                         "county_code": "620102", "city_code": "620100"}}))
    assert isinstance(fact, SchoolFact)
    assert (fact.county_code, fact.city_code, fact.open) == ("620102", "620100", True)


def test_a_school_event_that_cannot_be_placed_is_poison():
    with pytest.raises(PoisonEvent):
        read_fact(envelope("SchoolRegistered", "school-S1", {
            "school_code": "S1", "profile": {"name": "一中", "stage": "junior"}}))


def test_events_review_does_not_use_are_ignored():
    assert read_fact(envelope("BaselineImported", "baseline-1", {})) is None
    assert read_fact(envelope("ReviewCompleted", "review-x", {})) is None
