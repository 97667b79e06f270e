"""Folding a batch of in-order facts onto an entity's current version gives the versions the
whole timeline gives: the fast path of the batch writer needs no other rule."""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

from services.reporting.adapters.timelines import fact_json
from services.reporting.domain.history import Fact, extend_versions, fact_of, versions_of
from shared.contracts.base import EventPayload
from shared.contracts.events import (
    ReviewCompleted,
    TeacherLeft,
    TeacherRecord,
    TeacherRegistered,
    TeacherReturnedToPost,
    TeacherTransferred,
    TeacherUpdated,
)
from shared.contracts.vocabulary import Gender, LeaveReason, PostStatus

PROOF = {"sha256": "d" * 64, "media_type": "application/pdf", "size_bytes": 10}


def _record(fulltime: bool) -> TeacherRecord:
    return TeacherRecord(name="测试", id_number_masked="620102********001X", gender=Gender.MALE,
                         birth_date=date(1980, 1, 1), ethnicity="汉族",
                         post_status=PostStatus.IN_POST, is_fulltime_teacher=fulltime)


def _event(rng: random.Random, kind: int, v: int) -> EventPayload:
    if kind == 0:
        return TeacherRegistered(teacher_id="t", school_code=f"S{rng.randrange(3)}",
                                 record=_record(rng.random() < 0.5), completeness=0.5)
    if kind == 1:
        return TeacherUpdated(teacher_id="t", school_code="S1", changed_fields=("x",),
                              record=_record(rng.random() < 0.5), completeness=0.9)
    if kind == 2:
        return TeacherTransferred.model_validate({
            "teacher_id": "t", "from_school_code": "S1", "to_school_code": "S2", "proof": PROOF})
    if kind == 3:
        return TeacherLeft(teacher_id="t", school_code="S2", reason=LeaveReason.RETIRED)
    if kind == 4:
        return TeacherReturnedToPost.model_validate({
            "teacher_id": "t", "school_code": "S0", "proof": PROOF})
    return ReviewCompleted(teacher_id="t", record_version=rng.randrange(1, v + 1),
                           school_code="S0", county_code="620102")


def _timeline(rng: random.Random, n: int) -> list[tuple[tuple[Any, ...], Fact]]:
    """n facts of one teacher; several share an instant (they must merge into one version)."""
    at = datetime(2017, 1, 1, tzinfo=UTC)
    out = []
    for v in range(1, n + 1):
        if rng.random() < 0.6:
            at += timedelta(hours=rng.randrange(1, 48))
        fact = fact_of(_event(rng, rng.randrange(6) if v > 1 else 0, v), v)
        assert fact is not None
        out.append(((at, f"{at.isoformat()}|{v:010d}"), fact.fact))
    return out


def test_folding_the_rest_onto_any_prefix_gives_the_whole_timeline():
    rng = random.Random(7)
    for _ in range(200):
        timeline = _timeline(rng, rng.randrange(1, 12))
        whole = versions_of("teacher", timeline)
        for cut in range(1, len(timeline)):
            prefix = versions_of("teacher", timeline[:cut])
            continued = prefix[:-1] + extend_versions("teacher", prefix[-1], timeline[cut:])
            assert continued == whole


def test_a_new_entity_starts_from_nothing():
    timeline = _timeline(random.Random(3), 5)
    assert extend_versions("teacher", None, timeline) == versions_of("teacher", timeline)


def test_the_stored_fact_carries_the_core_record_for_the_confirmation_table():
    event = TeacherRegistered(teacher_id="t", school_code="S0", record=_record(True),
                              completeness=0.75)
    fact = fact_of(event, 1)
    assert fact is not None and "record" not in fact.fact  # counting never reads it
    stored = json.loads(fact_json(fact))
    assert stored == {**fact.fact, "record": event.record.model_dump(mode="json")}
    left = fact_of(TeacherLeft(teacher_id="t", school_code="S0", reason=LeaveReason.RETIRED), 2)
    assert left is not None and json.loads(fact_json(left)) == left.fact
