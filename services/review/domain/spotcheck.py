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

from services.review.domain.diff import FIELD_ORDER
from shared.contracts.events import SpotCheckResultRecorded, SpotCheckSampleDrawn
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


# The information items a checker can find wrong: the record's fields and its school (the ID
# number by its own name: the checker compares the full number with the person's papers).
CHECKABLE_FIELDS: tuple[str, ...] = tuple(
    "id_number" if f == "id_number_masked" else f for f in FIELD_ORDER)


@dataclass(frozen=True)
class RecordSpotCheckResult:
    """What checking one sampled record found: correct, or wrong in `fields`."""

    sample_id: str
    teacher_id: str
    correct: bool
    fields: tuple[str, ...] = ()
    note: str = ""


def record_result(cmd: RecordSpotCheckResult, sample: SpotCheckSampleDrawn, *,
                  school_code: str, record_version: int) -> SpotCheckResultRecorded:
    """The result event, or why it cannot be: the teacher must be in the sample; an error
    names at least one known field, a correct record names none."""
    if cmd.teacher_id not in sample.sample:
        raise ValidationProblem([Problem("teacher_id", f"teacher {cmd.teacher_id} is not in "
                                                       f"sample {sample.sample_id} (不在样本中)")])
    fields = tuple(dict.fromkeys(f.strip() for f in cmd.fields if f.strip()))
    unknown = [f for f in fields if f not in CHECKABLE_FIELDS]
    if unknown:
        raise ValidationProblem([Problem("fields", f"unknown fields {', '.join(unknown)}; "
                                                   f"known: {', '.join(CHECKABLE_FIELDS)}")])
    if cmd.correct and fields:
        raise ValidationProblem([Problem("fields", "a correct record names no wrong fields "
                                                   "(核对无误时不填错误项)")])
    if not cmd.correct and not fields:
        raise ValidationProblem([Problem("fields", "name the fields found wrong "
                                                   "(请选择发现错误的信息项)")])
    return SpotCheckResultRecorded(
        sample_id=sample.sample_id, county_code=sample.county_code, teacher_id=cmd.teacher_id,
        school_code=school_code, record_version=record_version,
        outcome="correct" if cmd.correct else "error_found", fields=fields,
        note=cmd.note.strip())
