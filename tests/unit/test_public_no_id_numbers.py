"""No public message ever carries a national ID number (身份证号), nor any personal detail a
subscriber does not need: a property-style test over many generated teachers and every kind of
teacher event, plus the scanner itself and the schemas' field names."""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta
from uuid import UUID

import pytest

from shared.contracts import events as ev
from shared.contracts import public as pub
from shared.contracts.base import EventPayload
from shared.contracts.envelope import Envelope
from shared.contracts.vocabulary import Gender, LeaveReason, PostStatus, Stage
from shared.domain.divisions import divisions
from shared.domain.idnumber import mask, parse_id_number, synthetic_id_number

SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗"
GIVEN = "建国秀英明华丽芳伟强军平玉兰志刚文静海燕春梅"


def a_person(rng: random.Random) -> tuple[str, str, date, Gender]:
    county = rng.choice(sorted(divisions().counties))
    birth = date(1955, 1, 1) + timedelta(days=rng.randrange(365 * 45))
    gender = rng.choice(list(Gender))
    name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))
    return synthetic_id_number(rng, county, birth, gender.value), name, birth, gender


def teacher_history(rng: random.Random) -> tuple[str, str, str, date, list[EventPayload]]:
    """One generated teacher's events: registered, updated (in or out of post), transferred,
    returned, reviewed, reassigned, left; in a random but plausible order."""
    id_number, name, birth, gender = a_person(rng)
    tid = str(UUID(int=rng.getrandbits(128), version=4))
    school = f"62{rng.randrange(10**8):08d}"

    def record(post: PostStatus) -> ev.TeacherRecord:
        return ev.TeacherRecord(name=name, id_number_masked=mask(id_number), gender=gender,
                                birth_date=birth, ethnicity=rng.choice(["汉族", "回族", "藏族"]),
                                post_status=post, is_fulltime_teacher=rng.random() < 0.9,
                                stage_taught=rng.choice(list(Stage)),
                                professional_title=rng.choice([None, "一级教师"]))

    proof = ev.ProofDocument(sha256=f"{rng.getrandbits(256):064x}", media_type="image/png",
                             size_bytes=rng.randint(1, 10**6), filename=f"{name}调动证明.png")
    events: list[EventPayload] = [ev.TeacherRegistered(
        teacher_id=tid, school_code=school, record=record(rng.choice(list(PostStatus))),
        completeness=rng.random())]
    for _ in range(rng.randint(1, 6)):
        events.append(rng.choice([
            ev.TeacherUpdated(teacher_id=tid, school_code=school,
                              record=record(rng.choice(list(PostStatus))),
                              changed_fields=("post_status",), completeness=rng.random()),
            ev.TeacherTransferred(teacher_id=tid, from_school_code=school,
                                  to_school_code=f"62{rng.randrange(10**8):08d}", proof=proof),
            ev.TeacherReturnedToPost(teacher_id=tid, school_code=school, proof=proof),
            ev.TeacherReassigned(teacher_id=tid, from_school_code=school,
                                 to_school_code=f"62{rng.randrange(10**8):08d}", batch_id="b"),
            ev.ReviewCompleted(teacher_id=tid, record_version=rng.randint(1, 5),
                               school_code=school, county_code=id_number[:6]),
            ev.TeacherLeft(teacher_id=tid, school_code=school,
                           reason=rng.choice(list(LeaveReason))),
        ]))
    return id_number, name, tid, birth, events


def public_texts(events: list[EventPayload], rng: random.Random) -> list[str]:
    out = []
    for version, payload in enumerate(events, start=1):
        at = datetime(2017, 1, 1, tzinfo=UTC) + timedelta(hours=version)
        env = Envelope(event_id=UUID(int=rng.getrandbits(128), version=4),
                       event_type=payload.event_type, schema_version=payload.schema_version,
                       source="intake", stream_id="teacher-x", stream_version=version,
                       position=version, occurred_at=at, recorded_at=at, actor="a",
                       correlation_id=UUID(int=rng.getrandbits(128), version=4),
                       payload=payload.model_dump(mode="json"))
        out += [m.value.decode() for m in pub.translate(env)]
    return out


def test_no_public_message_of_a_thousand_generated_teachers_carries_any_personal_detail():
    rng = random.Random(20170407)
    messages = 0
    for _ in range(1000):
        id_number, name, tid, birth, events = teacher_history(rng)
        for text in public_texts(events, rng):
            messages += 1
            assert id_number not in text and id_number[:17] not in text
            assert mask(id_number) not in text and name not in text
            assert birth.isoformat() not in text
            assert pub.find_id_numbers(text) == [], text
            assert tid in text  # the opaque id is what identifies the teacher
    assert messages > 2000


def test_the_scanner_finds_an_id_number_wherever_it_hides_in_a_message():
    rng = random.Random(7)
    for _ in range(200):
        id_number = a_person(rng)[0]
        parse_id_number(id_number)  # a valid number, or the test proves nothing
        for text in (id_number, f'{{"x":"{id_number}"}}', f"id {id_number.lower()}!",
                     json.dumps({"a": [1, {"b": id_number}]})):
            assert [n.upper() for n in pub.find_id_numbers(text)] == [id_number], text


def test_the_scanner_ignores_numbers_that_are_not_id_numbers():
    rng = random.Random(8)
    id_number = a_person(rng)[0]
    wrong_check = id_number[:17] + ("0" if id_number[17] != "0" else "1")
    assert pub.find_id_numbers(wrong_check) == []
    assert pub.find_id_numbers("1" + id_number) == []  # 19 digits: some other number
    assert pub.find_id_numbers(id_number[:17]) == []  # too short


def property_names(node: object) -> set[str]:
    if isinstance(node, dict):
        names = set(node.get("properties") or {})
        return names.union(*(property_names(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(property_names(v) for v in node))
    return set()


@pytest.mark.parametrize("model", sorted(pub.VERSIONS.values(), key=lambda m: m.event_type))
def test_no_public_schema_has_a_field_named_like_an_id_number(model):
    assert pub.forbidden_fields(pub.public_schema(model)) == []


@pytest.mark.parametrize("model", [m for m in pub.VERSIONS.values()
                                   if m.topic in ("tmis.public.teacher.v1",
                                                  "tmis.public.review.v1")])
def test_no_teacher_event_carries_a_personal_detail(model):
    personal = {"name", "id_number_masked", "birth_date", "gender", "ethnicity",
                "political_status", "proof", "filename"}
    assert property_names(pub.public_schema(model)) & personal == set()


def test_the_field_check_catches_an_id_number_field_nested_anywhere():
    schema = {"properties": {"payload": {"$ref": "#/$defs/P"}},
              "$defs": {"P": {"properties": {"teacher": {"properties": {"idNumber": {}}}}}}}
    assert pub.forbidden_fields(schema) == ["idNumber"]
