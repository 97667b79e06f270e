"""The messages rendered into an outbox row at append: framing round trips, and the internal
envelope rendered once equals the one the relay used to render from the event row."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import uuid4

import pytest

from shared.contracts.envelope import Envelope
from shared.contracts.events import TeacherRecord, TeacherRegistered
from shared.contracts.vocabulary import Gender, PostStatus
from shared.eventstore.rendering import Message, Stamped, messages_for, pack, unpack
from shared.eventstore.rendering import topic_for_event_type as route


def a_registration() -> TeacherRegistered:
    record = TeacherRecord(name="测试教师", id_number_masked="620102********0011",
                           gender=Gender.FEMALE, birth_date=date(1985, 3, 1), ethnicity="回族",
                           post_status=PostStatus.IN_POST, is_fulltime_teacher=True)
    return TeacherRegistered(teacher_id=str(uuid4()), school_code="S1", record=record,
                             completeness=0.6)


def stamped(event: TeacherRegistered) -> Stamped:
    now = datetime(2017, 4, 7, 3, 4, 5, 678901, tzinfo=UTC)
    return Stamped(event_id=uuid4(), stream_id=f"teacher-{event.teacher_id}", stream_version=1,
                   position=42, event_type=event.event_type,
                   schema_version=event.schema_version, occurred_at=now, recorded_at=now,
                   actor="school_admin:S1", correlation_id=uuid4(), causation_id=None,
                   payload=event, payload_json=event.model_dump_json().encode())


def test_messages_survive_the_framing_byte_for_byte() -> None:
    messages = [Message("t.one", b"key", b'{"a":1}', (("event_type", b"X"), ("id", b""))),
                Message("t.two", b"", b"", ()),
                Message("公开.topic", "键".encode(), bytes(range(256)) * 300, (("h", b"v"),))]
    assert unpack(pack(messages)) == messages


def test_truncated_framing_is_refused_not_misread() -> None:
    packed = pack([Message("t", b"k", b"value", ())])
    with pytest.raises((ValueError, Exception)):
        unpack(packed[:-2])


def test_the_envelope_rendered_once_parses_to_the_same_envelope() -> None:
    event = a_registration()
    st = stamped(event)
    rendered = Envelope.from_bytes(st.envelope_json("intake"))
    assert rendered == st.envelope("intake")
    assert rendered.payload == event.model_dump(mode="json")
    assert rendered.occurred_at == st.occurred_at and rendered.position == 42


def test_an_append_renders_the_internal_message_and_the_public_translation() -> None:
    event = a_registration()
    st = stamped(event)
    env = st.envelope("intake")
    messages = messages_for(env, st.envelope_json("intake"), route, True, event)
    assert messages[0].topic == "tmis.intake.teacher.v1"
    assert messages[0].key == env.stream_id.encode()
    assert dict(messages[0].headers)["event_id"] == str(env.event_id).encode()
    public = [m for m in messages[1:] if m.topic.startswith("tmis.public.")]
    assert public and all(b"620102" not in m.value for m in public)
    # the same messages as the relay renders from the stored row (no typed payload)
    assert messages_for(env, st.envelope_json("intake"), route, True) == messages
