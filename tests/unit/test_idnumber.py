"""GB 11643 ID numbers: checksum, the facts they state, masking, synthetic generation."""

from __future__ import annotations

import random
from datetime import date

import pytest

from shared.domain.idnumber import (
    InvalidIdNumber,
    last_four,
    mask,
    parse_id_number,
    synthetic_id_number,
)


def test_the_standard_example_number_is_valid_and_states_birth_date_and_gender():
    facts = parse_id_number("11010519491231002X")
    assert facts.birth_date == date(1949, 12, 31)
    assert facts.gender == "female"


@pytest.mark.parametrize("bad, why", [
    ("110105194912310021", "check character"),
    ("11010519491331002X", "not a date"),
    ("1101051949123100", "18 characters"),
    ("11010519491231002Y", "digit or X"),
])
def test_a_bad_number_is_refused_with_the_reason(bad, why):
    with pytest.raises(InvalidIdNumber, match=why):
        parse_id_number(bad)


def test_synthetic_numbers_are_valid_and_agree_with_the_person():
    rng = random.Random(7)
    for gender in ("male", "female"):
        for _ in range(200):
            born = date(rng.randint(1960, 2000), rng.randint(1, 12), rng.randint(1, 28))
            number = synthetic_id_number(rng, "620102", born, gender)
            facts = parse_id_number(number)
            assert (facts.birth_date, facts.gender, facts.area_code) == (born, gender, "620102")


def test_a_masked_number_shows_the_last_four_only():
    assert mask("11010519491231002x") == "**************002X"


def test_records_are_compared_by_the_last_four_whichever_form_of_the_mask_they_carry():
    assert last_four(mask("11010519491231002x")) == last_four("110105********002X") == "002X"
