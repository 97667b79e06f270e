"""Spot-check sampling: seeded, reproducible, sized by count or percent."""

from __future__ import annotations

from uuid import uuid4

import pytest

from services.review.domain.spotcheck import (
    DrawSpotCheck,
    draw,
    draw_spot_check,
    redraw,
    sample_size,
)
from shared.errors import Conflict, ValidationProblem


def population(n: int) -> list[str]:
    return [str(uuid4()) for _ in range(n)]


def test_the_same_seed_and_population_give_the_same_sample():
    people = sorted(population(200))
    assert draw(people, 7, 20) == draw(list(people), 7, 20)
    assert draw(people, 7, 20) != draw(people, 8, 20)


def test_a_recorded_sample_can_be_redrawn_from_its_seed():
    people = population(50)
    event = draw_spot_check(DrawSpotCheck("620102", size=5, seed=11), people,
                            sample_id="s1", seed=11)
    assert event.population == tuple(sorted(people))
    assert redraw(event) == event.sample and len(set(event.sample)) == 5


def test_the_population_order_given_does_not_change_the_sample():
    people = population(30)
    a = draw_spot_check(DrawSpotCheck("620102", size=4), people, sample_id="a", seed=3)
    b = draw_spot_check(DrawSpotCheck("620102", size=4), list(reversed(people)),
                        sample_id="b", seed=3)
    assert a.sample == b.sample


def test_a_percent_is_rounded_up_and_a_size_is_capped_by_the_population():
    assert sample_size(25, None, 10) == 3
    assert sample_size(25, None, 100) == 25
    assert sample_size(25, 40, None) == 25


def test_exactly_one_of_size_and_percent_is_given():
    with pytest.raises(ValidationProblem):
        sample_size(10, None, None)
    with pytest.raises(ValidationProblem):
        sample_size(10, 3, 10)


def test_an_empty_population_cannot_be_sampled():
    with pytest.raises(Conflict):
        draw_spot_check(DrawSpotCheck("620102", size=3), [], sample_id="x", seed=1)
