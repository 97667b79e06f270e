"""Sign-offs and confirmation tables: the rules of the events reporting writes."""

from __future__ import annotations

import pytest

from services.reporting.domain.confirmation import decide_export, decide_return
from services.reporting.domain.counting import gap, known_sum, notice_percent, rate
from services.reporting.domain.signoff import decide_signoff
from shared.errors import Conflict, ValidationProblem


def signoff(agrees, explanation="", base=(10, 100), system=(10, 100)):
    return decide_signoff(county_code="620102", city_code="620100", agrees=agrees,
                          explanation=explanation, schools_system=system[0],
                          staff_system=system[1], schools_base=base[0], staff_base=base[1])


def test_a_city_can_confirm_counts_that_agree_with_the_base_table():
    event = signoff(True)
    assert event.agrees and event.schools_base == 10


def test_agreeing_with_counts_that_differ_is_refused():
    with pytest.raises(ValidationProblem):
        signoff(True, system=(9, 100))


def test_agreeing_without_base_figures_is_refused():
    with pytest.raises(ValidationProblem):
        signoff(True, base=(None, None))


def test_disagreeing_needs_an_explanation():
    with pytest.raises(ValidationProblem):
        signoff(False, system=(9, 90))
    assert signoff(False, "两所幼儿园尚未开办", system=(9, 90)).explanation == "两所幼儿园尚未开办"


def test_a_return_covers_the_last_exported_table():
    exported = decide_export("S1", ["a", "b"], "pdf")
    returned = decide_return("S1", exported.teacher_ids, None, True)
    assert returned.teacher_ids == ("a", "b") and returned.signed


def test_nobody_signs_a_table_that_was_never_exported():
    with pytest.raises(Conflict):
        decide_return("S1", None, None, True)
    with pytest.raises(ValidationProblem):
        decide_return("S1", ("a",), ["a", "z"], True)


def test_only_xlsx_and_pdf_are_exported():
    with pytest.raises(ValidationProblem):
        decide_export("S1", [], "docx")


def test_rates_truncate_like_the_notice_and_blanks_stay_unknown():
    assert notice_percent(16037, 20166) == "79%"
    assert notice_percent(365152, 396745) == "92%"
    assert notice_percent(5, None) is None and rate(5, None) is None and gap(None, 3) is None
    assert gap(10, 12) == -2
    s = known_sum([1, None, 2])
    assert (s.value, s.partial) == (3, True)
    assert known_sum([None, None]).value is None
