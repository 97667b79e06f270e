"""The event contracts: routing, strictness on emit, leniency on read, committed schemas."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from uuid import uuid4

import pytest
from pydantic import ValidationError

from shared.contracts.base import all_models, parse_payload
from shared.contracts.envelope import Envelope
from shared.contracts.events import SchoolProfile, SchoolRegistered, TeacherRecord
from shared.contracts.export import event_schema
from shared.contracts.topics import TOPICS, topic_for_category
from shared.contracts.vocabulary import (
    LABELS,
    Gender,
    PostStatus,
    ReportingLine,
    ReviewLevel,
    Stage,
    label,
)

SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "contracts" / "schemas"


def an_envelope(event_type: str, payload: dict) -> Envelope:
    now = datetime.now(UTC)
    return Envelope(event_id=uuid4(), event_type=event_type, schema_version=1, source="intake",
                    stream_id="school-1", stream_version=1, position=1, occurred_at=now,
                    recorded_at=now, actor="t", correlation_id=uuid4(), payload=payload)


def test_every_event_type_routes_to_a_registered_topic():
    names = {t.name for t in TOPICS}
    for model in all_models().values():
        assert topic_for_category(model.category) in names, model.event_type


def test_an_emitted_payload_refuses_fields_the_contract_does_not_have():
    with pytest.raises(ValidationError):
        SchoolRegistered(school_code="1", profile=SchoolProfile(
            name="x", stage=Stage.PRIMARY, county_code="620102", city_code="620100"),
            id_number="620102198001010011")  # type: ignore[call-arg]


def test_a_consumer_reads_a_payload_leniently_ignoring_fields_added_later():
    payload = {"school_code": "1", "profile": {"name": "x", "stage": "primary",
                                               "county_code": "620102", "city_code": "620100"},
               "a_field_from_the_future": 1}
    parsed = parse_payload(an_envelope("SchoolRegistered", payload))
    assert isinstance(parsed, SchoolRegistered) and parsed.profile.stage is Stage.PRIMARY


def test_an_unknown_event_type_is_reported_not_guessed():
    with pytest.raises(LookupError):
        parse_payload(an_envelope("SomethingHappened", {}))


def test_the_teacher_record_has_no_place_for_a_national_id_number():
    fields = set(TeacherRecord.model_fields)
    assert "id_number" not in fields and "id_number_masked" in fields
    record = TeacherRecord(name="张三", id_number_masked="620102********0011",
                           gender=Gender.MALE, birth_date=date(1980, 1, 1), ethnicity="汉族",
                           post_status=PostStatus.IN_POST, is_fulltime_teacher=True)
    assert "6201021980" not in record.model_dump_json()


def test_every_stage_has_the_notice_label():
    assert [LABELS[s] for s in Stage] == ["幼儿园", "小学 (含教学点)", "初中", "高中", "特教",
                                          "中职", "高教"]


def test_the_same_english_value_keeps_its_own_word_in_each_vocabulary():
    assert label(ReportingLine.COUNTY) == "县属"
    assert label(ReviewLevel.COUNTY) == "县级审核"
    assert LABELS[ReportingLine.COUNTY] == "县属"


@pytest.mark.parametrize("event_type", sorted(all_models()))
def test_the_committed_json_schema_matches_the_code(event_type):
    model = all_models()[event_type]
    committed = SCHEMAS / f"{event_type}.v{model.schema_version}.json"
    assert committed.exists(), f"run `tmis contracts export docs/contracts` ({committed.name})"
    assert json.loads(committed.read_text(encoding="utf-8")) == event_schema(model), (
        "the contract changed: re-export with `tmis contracts export docs/contracts`")
