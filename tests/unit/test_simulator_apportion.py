"""Exact integer splits: the arithmetic every figure of a plan rests on."""

from __future__ import annotations

import random

import pytest

from simulator.domain.apportion import InfeasibleSplit, apportion
from simulator.domain.names import chinese_number, person_name, short_city


@pytest.mark.parametrize("seed", range(25))
def test_a_split_adds_up_exactly_and_stays_within_floors_and_caps(seed):
    rng = random.Random(seed)
    n = rng.randint(1, 40)
    weights = [rng.choice((0.0, rng.random() * 10)) for _ in range(n)]
    floors = [rng.randint(0, 3) for _ in range(n)]
    caps = [f + rng.randint(0, 30) for f in floors]
    total = rng.randint(sum(floors), sum(caps))
    split = apportion(total, weights, floors=floors, caps=caps)
    assert sum(split) == total
    assert all(f <= x <= c for f, x, c in zip(floors, split, caps, strict=True))


def test_a_split_without_caps_is_proportional_within_one():
    weights = [5.0, 3.0, 2.0]
    split = apportion(1001, weights)
    assert sum(split) == 1001
    assert all(abs(x - 1001 * w / 10) < 1 for x, w in zip(split, weights, strict=True))


def test_an_item_at_its_cap_passes_the_rest_to_the_others():
    assert apportion(10, [100.0, 1.0, 1.0], caps=[2, 10, 10]) == [2, 4, 4]


def test_zero_weights_take_nothing_unless_nothing_else_can():
    assert apportion(5, [1.0, 0.0], caps=[5, 5]) == [5, 0]
    assert apportion(7, [1.0, 0.0], caps=[5, 5]) == [5, 2]


@pytest.mark.parametrize("total, floors, caps", [(3, [2, 2], None), (9, None, [4, 4]),
                                                 (-1, None, None)])
def test_an_impossible_split_is_refused(total, floors, caps):
    with pytest.raises(InfeasibleSplit):
        apportion(total, [1.0, 1.0], floors=floors, caps=caps)


@pytest.mark.parametrize("n, words", [(1, "一"), (10, "十"), (11, "十一"), (20, "二十"),
                                      (21, "二十一"), (105, "一百零五"), (110, "一百一十")])
def test_school_numbers_read_as_chinese_numerals(n, words):
    assert chinese_number(n) == words


def test_person_names_are_a_surname_and_one_or_two_given_characters():
    rng = random.Random(7)
    names = [person_name(rng, rng.choice(("male", "female"))) for _ in range(200)]
    assert all(2 <= len(n) <= 3 for n in names)
    assert len(set(names)) > 150


def test_city_names_shorten_the_way_the_notice_writes_them():
    assert short_city("甘南藏族自治州") == "甘南"
    assert short_city("兰州市") == "兰州"
