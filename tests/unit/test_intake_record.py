"""The teacher record's rules (GB 11643, dates, vocabularies), completeness, masking, and the
proof document's content check."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date

import pytest

from services.intake.domain.documents import UnsupportedDocument, describe, sniff
from services.intake.domain.labels import enum_value, label, yes_no
from services.intake.domain.record import ALL_FIELDS, PersonRecord, check_record
from shared.contracts.vocabulary import Gender, PostStatus, Stage
from shared.domain.idnumber import synthetic_id_number

TODAY = date(2017, 4, 7)


def a_record(rng: random.Random | None = None, **changes: object) -> PersonRecord:
    rng = rng or random.Random()
    born = date(rng.randint(1960, 1990), rng.randint(1, 12), rng.randint(1, 28))
    gender = rng.choice([Gender.MALE, Gender.FEMALE])
    rec = PersonRecord(name="李明", id_number=synthetic_id_number(rng, "620102", born, gender),
                       gender=gender, birth_date=born, ethnicity="汉族",
                       post_status=PostStatus.IN_POST, is_fulltime_teacher=True,
                       hire_date=date(born.year + 21, 9, 1))
    return replace(rec, **changes)  # type: ignore[arg-type]


def locs(rec: PersonRecord) -> list[str]:
    return [p.loc for p in check_record(rec, TODAY)]


def test_a_complete_valid_record_has_no_problems() -> None:
    assert locs(a_record()) == []


def test_a_wrong_check_character_is_an_id_number_problem() -> None:
    rec = a_record()
    last = "0" if rec.id_number[-1] != "0" else "1"
    assert locs(replace(rec, id_number=rec.id_number[:17] + last)) == ["id_number"]


def test_an_id_number_of_the_wrong_shape_is_refused_before_its_checksum() -> None:
    problems = check_record(a_record(id_number="62010219850615"), TODAY)
    assert problems[0].loc == "id_number" and "18" in problems[0].msg


def test_birth_date_and_gender_must_agree_with_the_id_number() -> None:
    rec = a_record()
    other = Gender.FEMALE if rec.gender is Gender.MALE else Gender.MALE
    assert locs(replace(rec, gender=other)) == ["gender"]
    shifted = replace(rec, birth_date=date(rec.birth_date.year, rec.birth_date.month, 28)
                      if rec.birth_date.day != 28 else rec.birth_date.replace(day=27))
    assert "birth_date" in locs(shifted)


def test_an_age_outside_16_to_80_is_a_birth_date_problem() -> None:
    for born in (date(1930, 5, 5), date(2005, 5, 5)):
        rng = random.Random(1)
        rec = a_record(rng, birth_date=born, gender=Gender.MALE,
                       id_number=synthetic_id_number(rng, "620102", born, Gender.MALE))
        assert "birth_date" in locs(rec)


def test_a_hire_date_before_the_18th_birthday_or_in_the_future_is_refused() -> None:
    rec = a_record()
    assert locs(replace(rec, hire_date=date(rec.birth_date.year + 17, 1, 1))) == ["hire_date"]
    assert locs(replace(rec, hire_date=date(2030, 1, 1))) == ["hire_date"]
    assert locs(replace(rec, hire_date=None)) == ["hire_date"]


def test_ethnicity_is_a_gb3304_name_and_the_short_form_is_normalised() -> None:
    assert a_record(ethnicity="回").ethnicity == "回族"
    assert locs(a_record(ethnicity="火星族")) == ["ethnicity"]


def test_completeness_is_the_share_of_the_thirteen_fields_filled() -> None:
    bare = a_record()
    assert bare.completeness == round(8 / 13, 4)
    full = replace(bare, political_status="群众", stage_taught=Stage.PRIMARY,
                   highest_education="本科", professional_title="一级教师",
                   teacher_qualification="小学教师资格")
    assert full.completeness == 1.0 and len(ALL_FIELDS) == 13


def test_the_public_record_masks_the_id_number() -> None:
    rec = a_record()
    public = rec.public()
    assert rec.id_number not in public.model_dump_json()
    assert public.id_number_masked == "*" * 14 + rec.id_number[14:]


def test_chinese_and_english_words_map_to_the_vocabulary() -> None:
    assert enum_value(Gender, "女") is Gender.FEMALE
    assert enum_value(Gender, "male") is Gender.MALE
    assert enum_value(PostStatus, "不在本单位任职") is PostStatus.NOT_IN_POST
    assert enum_value(Stage, "小学") is Stage.PRIMARY
    assert enum_value(Stage, "大学") is None
    assert (yes_no("是"), yes_no("否"), yes_no("也许")) == (True, False, None)
    assert label(Gender.MALE) == "男" and label(True) == "是"


def test_documents_are_typed_by_their_first_bytes_not_their_name() -> None:
    assert sniff(b"%PDF-1.7") == "application/pdf"
    assert sniff(b"\xff\xd8\xff\xe0") == "image/jpeg"
    assert sniff(b"\x89PNG\r\n\x1a\n") == "image/png"
    with pytest.raises(UnsupportedDocument):
        describe(b"MZ\x90\x00 an exe named proof.pdf", "proof.pdf")


def test_a_document_is_addressed_by_its_sha256() -> None:
    a, b = describe(b"%PDF-1.4 a"), describe(b"%PDF-1.4 a")
    assert a.sha256 == b.sha256 and len(a.sha256) == 64 and a.size_bytes == 10
