"""Random spot checks (随机抽查): a county draws a seeded sample of school-approved records.

The population is the county's school-approved records ordered by teacher id; the sample is
`random.Random(seed).sample(population, k)`. The event records the seed, the population in
drawing order and the sample, so anyone can redraw it (`redraw`) and get the same sample.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from shared.contracts.events import SpotCheckSampleDrawn
from shared.errors import Conflict, Problem, ValidationProblem


@dataclass(frozen=True)
class DrawSpotCheck:
    county_code: str
    size: int | None = None
    percent: float | None = None
    seed: int | None = None


def sample_size(population: int, size: int | None, percent: float | None) -> int:
    """How many records to draw: `size`, or `percent` of the population rounded up."""
    if (size is None) == (percent is None):
        raise ValidationProblem([Problem("size", "give either size or percent "
                                                 "(样本量或比例二选一)")])
    if size is not None:
        if size < 1:
            raise ValidationProblem([Problem("size", "must be at least 1")])
        return min(size, population)
    assert percent is not None
    if not 0 < percent <= 100:
        raise ValidationProblem([Problem("percent", "must be above 0 and at most 100")])
    return min(population, math.ceil(population * percent / 100))


def draw(population: Sequence[str], seed: int, k: int) -> tuple[str, ...]:
    return tuple(random.Random(seed).sample(list(population), k))


def draw_spot_check(cmd: DrawSpotCheck, population: Sequence[str], *, sample_id: str,
                    seed: int) -> SpotCheckSampleDrawn:
    ordered = sorted(set(population))
    if not ordered:
        raise Conflict(f"county {cmd.county_code} has no school-approved records to sample "
                       "(暂无学校已审核的记录可供抽查)")
    k = sample_size(len(ordered), cmd.size, cmd.percent)
    return SpotCheckSampleDrawn(
        sample_id=sample_id, county_code=cmd.county_code, seed=seed,
        requested_size=cmd.size, requested_percent=cmd.percent,
        population=tuple(ordered), sample=draw(ordered, seed, k))


def redraw(event: SpotCheckSampleDrawn) -> tuple[str, ...]:
    """The sample drawn again from the recorded seed and population."""
    return draw(event.population, event.seed, len(event.sample))
