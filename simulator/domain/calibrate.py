"""Shaping the entered staff per county so the notice's findings come out of the counts.

Two findings depend on where the entered staff sit, not just on how many there are:
- the ten counties with the largest kindergarten staff gap (annual - entered), in order: the
  kindergarten gap of every county is designed directly (top ten strictly decreasing, the
  eleventh clearly smaller), so its entered staff is the annual figure minus the gap;
- the three cities with the lowest staff entry rate (entered / annual over the stages whose
  annual figure is known), in order: every other stage's staff is split over counties by
  weight x a per-city factor, and the factors are tuned by a few multiplicative passes until
  the rates line up, then checked with margins (also under the naive reading that divides all
  entered staff, senior high included, by the annual staff).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from shared.contracts.vocabulary import Stage
from simulator.domain.apportion import apportion
from simulator.domain.layout import CountyInfo, PlanError
from simulator.domain.model import SchoolPlan
from simulator.domain.staffing import county_shares, county_targets

ELEVENTH_RATIO = 0.72  # the largest gap outside the top ten, relative to the tenth
RATE_MARGIN = 0.01  # between the three lowest cities
RATE_GAP = 0.02  # between the third lowest and every other city


def kindergarten_targets(schools: Sequence[SchoolPlan], entered: set[str], total: int,
                         top: Sequence[str], counties: Sequence[CountyInfo],
                         rng: random.Random) -> dict[str, int]:
    """Entered kindergarten staff per county such that the gaps of `top` (county names) are
    the largest, strictly decreasing in that order, and the next is clearly smaller."""
    by_name = {c.name: c.code for c in counties}
    top_codes = [by_name[n] for n in top]
    annual: dict[str, int] = {}
    for s in schools:
        if s.in_annual and s.annual_staff:
            annual[s.county_code] = annual.get(s.county_code, 0) + s.annual_staff
    count, _ = county_shares(schools, entered)
    codes = sorted(set(annual) | set(count))
    # Entered schools not in the annual report widen a county's entered staff beyond the gap
    # logic; keep them at their floor.
    gap_total = sum(annual.values()) - total
    room = {c: annual.get(c, 0) - count.get(c, 0) for c in codes}
    if any(v < 0 for v in room.values()):
        raise PlanError("kindergartens entered beyond the annual report cannot take part in "
                        "the notice's kindergarten gap finding")
    jitter = {c: rng.uniform(0.7, 1.3) for c in codes}
    n = len(top_codes)
    # The largest base gap the named counties can carry, then smaller ones until the other
    # counties can take the rest of the gap below the cap.
    step_share = 0.04
    ceiling = min(room.get(c, 0) / (1 + step_share * (n - 1 - i))
                  for i, c in enumerate(top_codes))
    base = ceiling
    while base >= 1:
        step = max(1, round(step_share * base))
        gaps = {c: round(base) + step * (n - 1 - i) for i, c in enumerate(top_codes)}
        base *= 0.97
        if any(gaps[c] > room.get(c, 0) for c in top_codes):
            continue
        cap = int(ELEVENTH_RATIO * min(gaps.values()))
        others = [c for c in codes if c not in gaps]
        forced = {c: annual.get(c, 0) for c in others if count.get(c, 0) == 0}
        if any(v > cap for v in forced.values()):
            continue
        free = [c for c in others if c not in forced]
        rest = gap_total - sum(gaps.values()) - sum(forced.values())
        if rest < 0:
            continue
        caps = [max(0, min(cap, room[c])) for c in free]
        if sum(caps) < rest:
            break  # smaller bases only lower the cap further
        split = apportion(rest, [annual.get(c, 0) * jitter[c] for c in free], caps=caps)
        gaps.update(forced)
        gaps.update(zip(free, split, strict=True))
        return {c: annual.get(c, 0) - gaps[c] for c in codes if c in count}
    raise PlanError(f"cannot give the counties {', '.join(top)} the largest kindergarten "
                    f"staff gaps with {total} entered of {sum(annual.values())} annual staff")


@dataclass(frozen=True)
class StageInput:
    stage: Stage
    total: int  # entered staff of the stage
    count: Mapping[str, int]  # county -> entered schools
    weight: Mapping[str, float]  # county -> entry weight


def city_rates(targets: Mapping[Stage, Mapping[str, int]], annual: Mapping[Stage,
               Mapping[str, int]], known: set[Stage], city_of: Mapping[str, str],
               naive: bool = False) -> dict[str, float]:
    """Staff entry rate per city: entered / annual over the stages with a known annual figure
    (naive: every stage's entered staff over the annual staff that is known)."""
    entered: dict[str, float] = {}
    base: dict[str, float] = {}
    for stage, per_county in targets.items():
        if naive or stage in known:
            for county, n in per_county.items():
                entered[city_of[county]] = entered.get(city_of[county], 0) + n
    for stage, per_county in annual.items():
        if stage in known:
            for county, n in per_county.items():
                base[city_of[county]] = base.get(city_of[county], 0) + n
    return {c: entered.get(c, 0) / base[c] for c in base if base[c]}


def lowest_in_order(rates: Mapping[str, float], names: Mapping[str, str],
                    lowest: Sequence[str], margin: float, gap: float) -> bool:
    order = sorted(rates, key=lambda c: rates[c])
    if [names[c] for c in order[: len(lowest)]] != list(lowest):
        return False
    low = [rates[c] for c in order[: len(lowest)]]
    if any(b - a < margin for a, b in itertools.pairwise(low)):
        return False
    return len(order) == len(lowest) or rates[order[len(lowest)]] - low[-1] >= gap


def calibrate_cities(stages: Sequence[StageInput], fixed: Mapping[Stage, Mapping[str, int]],
                     annual: Mapping[Stage, Mapping[str, int]], known: set[Stage],
                     lowest: Sequence[str],
                     counties: Sequence[CountyInfo], rng: random.Random
                     ) -> dict[Stage, dict[str, int]]:
    """County targets for the free stages such that `lowest` (city names) have the lowest
    staff entry rates, lowest first, with margins."""
    city_of = {c.code: c.city_code for c in counties}
    names = {c.city_code: c.city_name for c in counties}
    codes = {n: c for c, n in names.items()}
    missing = [n for n in lowest if n not in codes]
    if missing:
        raise PlanError(f"unknown cities in the findings: {', '.join(missing)}")
    wanted = {c: 1.0 + 0.08 * rng.random() for c in names}
    for i, name in enumerate(lowest):
        wanted[codes[name]] = 0.80 + 0.06 * i
    factor = dict.fromkeys(names, 1.0)
    targets: dict[Stage, dict[str, int]] = {}
    for _ in range(60):
        per_county = {county: factor[city] for county, city in city_of.items()}
        targets = {s.stage: county_targets(s.total, s.count, s.weight, per_county)
                   for s in stages}
        everything = {**targets, **{k: dict(v) for k, v in fixed.items()}}
        rates = city_rates(everything, annual, known, city_of)
        naive = city_rates(everything, annual, known, city_of, naive=True)
        if lowest_in_order(rates, names, lowest, RATE_MARGIN, RATE_GAP) and \
                lowest_in_order(naive, names, lowest, RATE_MARGIN / 2, RATE_GAP / 2):
            return targets
        # Steer both readings of the rate at once: each relative to its own mean.
        mean, mean_naive = sum(rates.values()) / len(rates), sum(naive.values()) / len(naive)
        for city, r in rates.items():
            relative = ((r / mean) * (naive[city] / mean_naive)) ** 0.5
            factor[city] *= min(1.5, max(0.67, (wanted[city] / relative) ** 0.8))
    raise PlanError(f"cannot make {', '.join(lowest)} the cities with the lowest staff entry "
                    "rates with this profile")
