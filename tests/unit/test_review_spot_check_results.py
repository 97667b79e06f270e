"""抽查结果: each sampled record gets a recorded outcome (correct, or wrong in named fields),
recorded by the county on the sample's stream; the newest result per record counts."""

from __future__ import annotations

import pytest

from services.review.domain.decisions import DecideRecord
from services.review.domain.facts import SpotCheckResultFact, read_fact
from services.review.domain.spotcheck import (
    CHECKABLE_FIELDS,
    DrawSpotCheck,
    RecordSpotCheckResult,
    record_result,
)
from services.review.service_layer import handlers
from shared.auth import Region
from shared.contracts.events import SpotCheckSampleDrawn
from shared.errors import Forbidden, NotFound, ValidationProblem
from tests.unit.test_review_handlers import (
    CITY,
    COUNTY_A,
    FakeStore,
    FakeUnitOfWork,
    county_admin,
    school_admin,
    submitted,
)

SAMPLE = SpotCheckSampleDrawn(sample_id="a" * 32, county_code=COUNTY_A, seed=1,
                              population=("t1", "t2"), sample=("t1",))


def result(**changes: object) -> RecordSpotCheckResult:
    values: dict[str, object] = {"sample_id": SAMPLE.sample_id, "teacher_id": "t1",
                                 "correct": False, "fields": ("highest_education",)}
    values.update(changes)
    return RecordSpotCheckResult(**values)  # type: ignore[arg-type]


def test_an_error_names_its_fields_and_the_id_number_by_its_own_name() -> None:
    event = record_result(result(fields=("id_number", " highest_education", "id_number")),
                          SAMPLE, school_code="S1", record_version=2)
    assert (event.outcome, event.fields, event.record_version) == (
        "error_found", ("id_number", "highest_education"), 2)
    assert "id_number" in CHECKABLE_FIELDS and "id_number_masked" not in CHECKABLE_FIELDS


@pytest.mark.parametrize(("changes", "loc"), [
    ({"teacher_id": "t2"}, "teacher_id"),  # in the population, not in the sample
    ({"fields": ()}, "fields"),
    ({"fields": ("shoe_size",)}, "fields"),
    ({"correct": True}, "fields"),  # correct, yet naming a wrong field
])
def test_a_result_that_does_not_fit_the_sample_is_refused_where_it_is_wrong(
        changes: dict[str, object], loc: str) -> None:
    with pytest.raises(ValidationProblem) as refused:
        record_result(result(**changes), SAMPLE, school_code="S1", record_version=1)
    assert refused.value.problems[0].loc == loc


async def test_the_county_records_a_result_on_the_samples_stream() -> None:
    store = FakeStore()
    store.regions = {"S1": Region("S1", COUNTY_A, CITY)}
    uow = lambda: FakeUnitOfWork(store)  # noqa: E731
    h = submitted(store)
    await handlers.decide_record(uow, school_admin(), DecideRecord(h.teacher_id, 1, True))
    sample, drawn = await handlers.draw_sample(uow, county_admin(),
                                               DrawSpotCheck(COUNTY_A, size=1, seed=7))

    event, env = await handlers.record_spot_check_result(uow, county_admin(), RecordSpotCheckResult(
        sample.sample_id, h.teacher_id, correct=True))

    assert env.stream_id == drawn.stream_id and env.stream_version == 2
    assert (event.outcome, event.school_code, event.record_version) == ("correct", "S1", 1)
    assert isinstance(read_fact(env), SpotCheckResultFact)
    with pytest.raises(Forbidden):
        await handlers.record_spot_check_result(uow, school_admin(), RecordSpotCheckResult(
            sample.sample_id, h.teacher_id, correct=True))
    with pytest.raises(Forbidden):
        await handlers.record_spot_check_result(uow, county_admin("620103"),
                                                RecordSpotCheckResult(
                                                    sample.sample_id, h.teacher_id, True))
    with pytest.raises(NotFound):
        await handlers.record_spot_check_result(uow, county_admin(), RecordSpotCheckResult(
            "b" * 32, h.teacher_id, correct=True))
