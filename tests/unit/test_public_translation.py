"""Translating internal events into public integration events (shared/contracts/public.py)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from uuid import uuid4

import pytest

from shared.contracts import events as ev
from shared.contracts import public as pub
from shared.contracts.base import EventPayload
from shared.contracts.envelope import Envelope
from shared.contracts.topics import PUBLIC_TOPICS, TOPICS
from shared.contracts.vocabulary import (
    BaselineKind,
    Gender,
    LeaveReason,
    PostStatus,
    ReviewLevel,
    Stage,
)

PROOF = ev.ProofDocument(sha256="a" * 64, media_type="application/pdf", size_bytes=10)


def envelope(payload: EventPayload, stream_id: str, version: int = 1) -> Envelope:
    now = datetime(2017, 4, 1, 9, 0, tzinfo=UTC)
    return Envelope(event_id=uuid4(), event_type=payload.event_type,
                    schema_version=payload.schema_version, source="intake",
                    stream_id=stream_id, stream_version=version, position=version * 7,
                    occurred_at=now, recorded_at=now, actor="school_admin:1",
                    correlation_id=uuid4(), payload=payload.model_dump(mode="json"))


def a_record(post: PostStatus = PostStatus.IN_POST, fulltime: bool = True) -> ev.TeacherRecord:
    return ev.TeacherRecord(name="测试教师", id_number_masked="620102********0011",
                            gender=Gender.MALE, birth_date=date(1980, 1, 1), ethnicity="汉族",
                            post_status=post, is_fulltime_teacher=fulltime,
                            stage_taught=Stage.JUNIOR)


def a_profile(rural: bool = True) -> ev.SchoolProfile:
    return ev.SchoolProfile(name="测试学校", stage=Stage.PRIMARY, county_code="620102",
                            city_code="620100", is_rural=rural)


def only(messages: list[pub.PublicMessage]) -> tuple[pub.PublicMessage, dict]:
    assert len(messages) == 1, messages
    return messages[0], json.loads(messages[0].value)


def test_a_registered_school_is_published_as_opened_with_its_rural_flag_and_county():
    code = f"62{uuid4().int % 10**8:08d}"
    msg, body = only(pub.translate(envelope(
        ev.SchoolRegistered(school_code=code, profile=a_profile(rural=True)), f"school-{code}")))
    assert msg.topic == "tmis.public.school.v1" and msg.key == code.encode()
    assert body["event_type"] == "SchoolOpened"
    assert body["payload"]["is_rural"] is True and body["payload"]["county_code"] == "620102"


def test_a_closed_school_with_a_target_is_a_merge_and_without_one_a_closure():
    code, target = "6201020001", "6201020002"
    _, merged = only(pub.translate(envelope(
        ev.SchoolClosed(school_code=code, merged_into=target, batch_id="b1"), f"school-{code}")))
    _, closed = only(pub.translate(envelope(ev.SchoolClosed(school_code=code),
                                            f"school-{code}")))
    assert merged["event_type"] == "SchoolMerged"
    assert merged["payload"] == {"school_code": code, "merged_into": target}
    assert closed["event_type"] == "SchoolClosed" and closed["payload"] == {"school_code": code}


def test_a_school_change_carries_the_full_profile_but_not_the_batch():
    code = "6201020003"
    _, body = only(pub.translate(envelope(
        ev.SchoolChanged(school_code=code, profile=a_profile(rural=False),
                         changed_fields=("is_rural",), batch_id="2017Q2"), f"school-{code}", 4)))
    assert body["event_type"] == "SchoolChanged"
    assert body["payload"]["changed_fields"] == ["is_rural"]
    assert "batch_id" not in body["payload"] and body["sequence"] == 4


def test_a_teacher_registered_in_post_is_in_post_with_the_record_version_of_the_event():
    tid = str(uuid4())
    msg, body = only(pub.translate(envelope(
        ev.TeacherRegistered(teacher_id=tid, school_code="6201020001", record=a_record(),
                             completeness=0.5), f"teacher-{tid}", 1)))
    assert msg.topic == "tmis.public.teacher.v1" and msg.key == tid.encode()
    assert body["event_type"] == "TeacherInPost" and body["schema_version"] == 2
    assert body["payload"] == {"teacher_id": tid, "school_code": "6201020001",
                               "record_version": 1, "because": "registered",
                               "is_fulltime": True, "stage_taught": "junior"}


def test_an_update_to_not_in_post_is_published_as_left_with_the_new_record_version():
    tid = str(uuid4())
    _, body = only(pub.translate(envelope(
        ev.TeacherUpdated(teacher_id=tid, school_code="6201020001",
                          record=a_record(PostStatus.NOT_IN_POST),
                          changed_fields=("post_status",), completeness=0.5),
        f"teacher-{tid}", 3)))
    assert body["event_type"] == "TeacherLeft"
    assert body["payload"]["reason"] == "not_in_post" and body["payload"]["record_version"] == 3


def test_an_update_while_in_post_reasserts_in_post_so_the_review_resets_for_the_new_version():
    tid = str(uuid4())
    _, body = only(pub.translate(envelope(
        ev.TeacherUpdated(teacher_id=tid, school_code="6201020001", record=a_record(),
                          changed_fields=("name",), completeness=0.9), f"teacher-{tid}", 5)))
    assert body["event_type"] == "TeacherInPost"
    assert body["payload"]["because"] == "updated" and body["payload"]["record_version"] == 5


def test_a_return_to_post_is_in_post_without_claiming_what_the_event_does_not_say():
    tid = str(uuid4())
    _, body = only(pub.translate(envelope(
        ev.TeacherReturnedToPost(teacher_id=tid, school_code="6201020009", proof=PROOF),
        f"teacher-{tid}", 6)))
    assert body["payload"]["because"] == "returned_to_post"
    assert body["payload"]["is_fulltime"] is None and body["payload"]["stage_taught"] is None
    assert "proof" not in body["payload"]


@pytest.mark.parametrize("reason", list(LeaveReason))
def test_a_teacher_who_left_is_published_with_the_reason(reason):
    tid = str(uuid4())
    _, body = only(pub.translate(envelope(
        ev.TeacherLeft(teacher_id=tid, school_code="6201020001", reason=reason),
        f"teacher-{tid}", 2)))
    assert body["event_type"] == "TeacherLeft" and body["payload"]["reason"] == reason.value
    assert body["payload"]["record_version"] is None


def test_a_transfer_moves_the_teacher_with_a_new_record_version_and_a_restructuring_without():
    tid = str(uuid4())
    _, transfer = only(pub.translate(envelope(
        ev.TeacherTransferred(teacher_id=tid, from_school_code="A1", to_school_code="B1",
                              proof=PROOF), f"teacher-{tid}", 4)))
    _, merge = only(pub.translate(envelope(
        ev.TeacherReassigned(teacher_id=tid, from_school_code="B1", to_school_code="C1",
                             batch_id="2017Q2"), f"teacher-{tid}", 5)))
    assert transfer["event_type"] == merge["event_type"] == "TeacherMoved"
    assert (transfer["payload"]["because"], transfer["payload"]["record_version"]) == \
        ("transfer", 4)
    assert (merge["payload"]["because"], merge["payload"]["record_version"]) == \
        ("restructuring", None)


def test_a_completed_review_goes_to_the_review_topic_keyed_by_the_teacher():
    tid = str(uuid4())
    msg, body = only(pub.translate(envelope(
        ev.ReviewCompleted(teacher_id=tid, record_version=3, school_code="S", county_code="620102"),
        f"review-{tid}", 2)))
    assert msg.topic == "tmis.public.review.v1" and msg.key == tid.encode()
    assert body["payload"] == {"teacher_id": tid, "record_version": 3, "school_code": "S",
                               "county_code": "620102"}


def test_a_baseline_chunk_is_published_with_blanks_kept_blank():
    row = ev.BaselineRow(level="county", code="620102", stage=Stage.SENIOR, staff=None,
                         schools=3)
    msg, body = only(pub.translate(envelope(
        ev.BaselineImported(baseline_id="annual-2016", kind=BaselineKind.ANNUAL, year=2016,
                            chunk=0, chunks=2, rows=(row,)), "baseline-annual-2016")))
    assert msg.topic == "tmis.public.baseline.v1" and msg.key == b"annual-2016"
    assert body["payload"]["rows"][0]["staff"] is None and body["payload"]["chunks"] == 2


@pytest.mark.parametrize("payload", [
    ev.RecordApproved(teacher_id="t", level=ReviewLevel.SCHOOL, record_version=1,
                      school_code="S", county_code="620102"),
    ev.RecordRejected(teacher_id="t", level=ReviewLevel.COUNTY, record_version=1,
                      school_code="S", county_code="620102", reason="照片不清"),
    ev.CompletenessSignedOff(county_code="620102", city_code="620100", agrees=True,
                             schools_system=1, staff_system=1),
    ev.ConfirmationTableExported(school_code="S", teacher_ids=("t",), format="xlsx"),
])
def test_internal_only_events_are_not_published(payload):
    assert pub.translate(envelope(payload, "x-1")) == []


def test_translating_the_same_envelope_twice_gives_byte_identical_messages_and_ids():
    tid = str(uuid4())
    env = envelope(ev.TeacherRegistered(teacher_id=tid, school_code="S", record=a_record(),
                                        completeness=0.5), f"teacher-{tid}")
    first, second = pub.translate(env), pub.translate(env)
    assert [m.value for m in first] == [m.value for m in second]
    assert first[0].envelope.event_id == pub.public_event_id(env.event_id, "TeacherInPost")
    assert first[0].envelope.source_event_id == env.event_id


def test_different_internal_events_get_different_public_ids():
    tid = str(uuid4())
    payload = ev.TeacherRegistered(teacher_id=tid, school_code="S", record=a_record(),
                                   completeness=0.5)
    ids = {pub.translate(envelope(payload, f"teacher-{tid}"))[0].envelope.event_id
           for _ in range(50)}
    assert len(ids) == 50


def test_the_public_envelope_carries_no_internal_metadata():
    tid = str(uuid4())
    _, body = only(pub.translate(envelope(
        ev.TeacherLeft(teacher_id=tid, school_code="S", reason=LeaveReason.RETIRED),
        f"teacher-{tid}")))
    assert set(body) == {"event_id", "event_type", "schema_version", "key", "sequence",
                         "occurred_at", "source_event_id", "payload"}
    assert f"teacher-{tid}" not in msg_text(body) and "school_admin" not in msg_text(body)


def msg_text(body: dict) -> str:
    return json.dumps(body, ensure_ascii=False)


def test_every_public_event_goes_to_a_registered_public_topic_that_lists_it():
    listed = {(t.name, e) for t in PUBLIC_TOPICS for e in t.event_types}
    for model in pub.CURRENT.values():
        assert (model.topic, model.event_type) in listed, model.event_type
    assert not {t.name for t in PUBLIC_TOPICS} & {t.name for t in TOPICS}


def test_public_topics_keep_everything_and_are_never_compacted():
    for t in PUBLIC_TOPICS:
        assert t.cleanup_policy == "delete" and t.retention_ms == -1
        assert t.name.startswith("tmis.public.")


def test_a_v1_message_still_on_the_topic_is_read_as_v2_through_the_upcaster():
    tid = str(uuid4())
    v1 = pub.PublicEnvelope(
        event_id=uuid4(), event_type="TeacherInPost", schema_version=1, key=tid, sequence=1,
        occurred_at=datetime(2016, 12, 1, tzinfo=UTC), source_event_id=uuid4(),
        payload={"teacher_id": tid, "school_code": "S", "record_version": 1,
                 "because": "registered"})
    env, payload = pub.read_public(v1.to_bytes())
    assert isinstance(payload, pub.TeacherInPost)
    assert payload.is_fulltime is None and payload.stage_taught is None and env.schema_version == 1


def test_a_reader_ignores_event_types_it_does_not_know_and_fields_added_later():
    tid = str(uuid4())
    future = pub.PublicEnvelope(
        event_id=uuid4(), event_type="TeacherHonoured", schema_version=1, key=tid, sequence=1,
        occurred_at=datetime(2018, 1, 1, tzinfo=UTC), source_event_id=uuid4(), payload={})
    assert pub.read_public(future.to_bytes())[1] is None
    newer = future.model_copy(update={"event_type": "TeacherLeft", "payload": {
        "teacher_id": tid, "school_code": "S", "reason": "retired", "pension_office": "x"}})
    _, payload = pub.read_public(newer.to_bytes())
    assert isinstance(payload, pub.TeacherLeft) and payload.reason == "retired"
