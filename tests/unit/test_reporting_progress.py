"""The days of reporting's progress series."""

from __future__ import annotations

from datetime import date

from services.reporting.domain.asof import parse_as_of
from services.reporting.domain.progress import series_cutoffs


def test_a_series_ends_at_the_asked_day_and_steps_back_oldest_first() -> None:
    cutoffs = series_cutoffs(parse_as_of("2017-05-15"), 7, 3)
    assert [c.day for c in cutoffs] == [date(2017, 5, 1), date(2017, 5, 8), date(2017, 5, 15)]
    assert [c.label for c in cutoffs] == ["2017-05-01", "2017-05-08", "2017-05-15"]


def test_a_series_until_now_keeps_now_as_its_last_point() -> None:
    cutoffs = series_cutoffs(parse_as_of(None), 1, 2)
    assert cutoffs[-1].is_now and cutoffs[0].cutoff < cutoffs[-1].cutoff
