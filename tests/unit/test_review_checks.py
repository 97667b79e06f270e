"""The automatic core-information checks that travel with every submission."""

from __future__ import annotations

import random
from datetime import date

from services.review.domain.checks import run_checks, same_person_check
from tests.unit.test_review_model import a_record

AS_OF = date(2017, 4, 7)


def failed(record, *, needs_proof=False, proof=None, as_of=AS_OF):  # type: ignore[no-untyped-def]
    return {c.check: c.severity for c in run_checks(record, needs_proof=needs_proof,
                                                    proof=proof, as_of=as_of)
            if not c.passed}


def test_a_complete_consistent_record_passes_every_check():
    assert failed(a_record(random.Random(1))) == {}


def test_gender_must_agree_with_the_gender_digit_of_the_masked_id_number():
    record = a_record(random.Random(2), id_number_masked="620102********123X")  # 3: male
    assert failed({**record, "gender": "male"}) == {}
    assert failed({**record, "gender": "female"}) == {"gender_matches_id": "hard"}
    assert failed({**record, "id_number_masked": "620102********124X",
                   "gender": "female"}) == {}


def test_the_gender_digit_is_read_from_the_last_four_in_either_form_of_the_mask():
    record = a_record(random.Random(2), gender="female")
    for masked in ("**************124X", "620102********124X"):  # new form, and older events
        assert failed({**record, "id_number_masked": masked}) == {}
        assert failed({**record, "id_number_masked": masked.replace("124X", "123X")}) == {
            "gender_matches_id": "hard"}


def test_a_malformed_masked_id_number_is_a_hard_failure():
    result = failed(a_record(random.Random(3), id_number_masked="62010219800101123X"))
    assert result["id_number_shape"] == "hard"


def test_a_hire_date_before_the_18th_birthday_is_a_hard_failure():
    record = a_record(random.Random(4), birth_date="1990-06-15")
    assert failed({**record, "hire_date": "2008-06-14"}) == {"hired_after_18": "hard"}
    assert failed({**record, "hire_date": "2008-06-15"}) == {}


def test_a_missing_required_field_is_a_hard_failure():
    record = a_record(random.Random(5))
    del record["ethnicity"]
    assert failed(record) == {"required_fields": "hard"}
    result = failed({**record, "ethnicity": "汉族", "hire_date": None})
    assert result["required_fields"] == "hard" and result["hired_after_18"] == "hard"


def test_staff_in_post_beyond_the_age_limit_are_a_warning_only():
    record = a_record(random.Random(6), birth_date="1950-01-01", hire_date="1972-09-01")
    assert failed(record) == {"age_limits": "warning"}
    assert failed({**record, "post_status": "not_in_post"}) == {}
    assert failed({**record, "stage_taught": "higher"}) == {}  # higher education: up to 70


def test_checks_use_the_submission_date_not_today():
    record = a_record(random.Random(7), birth_date="1953-01-01", hire_date="1975-09-01")
    assert failed(record, as_of=date(2017, 4, 7)) == {}
    assert failed(record, as_of=date(2019, 1, 2)) == {"age_limits": "warning"}


def test_missing_optional_core_fields_are_a_warning():
    record = a_record(random.Random(8), stage_taught=None, teacher_qualification="")
    assert failed(record) == {"optional_core_fields": "warning"}


def test_a_transfer_needs_a_proof_document():
    record = a_record(random.Random(9))
    assert failed(record, needs_proof=True) == {"proof_document": "hard"}
    assert failed(record, needs_proof=True, proof={"sha256": "b" * 64}) == {}


def test_the_same_person_active_elsewhere_is_a_warning_naming_where():
    assert same_person_check([]).passed
    check = same_person_check([("t-2", "6201020001")])
    assert (check.passed, check.severity) == (False, "warning")
    assert "6201020001" in check.message


def test_the_stored_failures_complete_to_every_check_run():
    from services.review.domain.checks import catalogue, complete, failures

    rng = random.Random(11)
    for seed in range(200):
        record = a_record(random.Random(seed))
        for field in rng.sample(sorted(record), rng.randrange(0, 4)):
            record[field] = rng.choice([None, "", "1970-01-01", "female", "x"])
        for needs_proof in (False, True):
            proof = None if rng.random() < 0.5 else {"sha256": "a" * 64}
            checks = run_checks(record, needs_proof=needs_proof, proof=proof,
                                as_of=date(2017, 3, 1))
            assert [(c.check, c.severity) for c in checks] == list(catalogue(needs_proof))
            assert complete(failures(checks), needs_proof) == checks
            assert complete(checks, needs_proof) == checks  # a full list stored earlier
