"""重新提交: the school sends a rejected record version back unchanged with a note; it goes back
to the level that rejected it, and the approvals the version already had stand."""

from __future__ import annotations

from dataclasses import replace

import pytest

from services.review.domain.decisions import DecideRecord, ResubmitRecord, decide, resubmit
from services.review.domain.errors import NotAwaitingDecision, StaleRecord
from services.review.domain.model import Status, apply_decision
from services.review.service_layer import handlers
from shared.auth import Region
from shared.contracts.events import RecordResubmitted
from shared.contracts.vocabulary import ReviewLevel
from shared.errors import Forbidden, ValidationProblem
from tests.unit.test_review_handlers import (
    COUNTY_A,
    FakeStore,
    FakeUnitOfWork,
    county_admin,
    school_admin,
    submitted,
)
from tests.unit.test_review_model import History

SCHOOL, COUNTY = ReviewLevel.SCHOOL, ReviewLevel.COUNTY


def a_store() -> FakeStore:
    store = FakeStore()
    store.regions = {s: Region(s, COUNTY_A, "620100") for s in ("S1", "S2")}
    return store


def a_county_rejection() -> tuple[History, int]:
    h = History()
    v = h.register("S1")
    h.decide(v, SCHOOL, True)
    h.decide(v, COUNTY, False, "职称与资格不符")
    return h, v


def test_a_county_rejection_resubmitted_waits_for_the_county_again() -> None:
    h, v = a_county_rejection()
    [event] = resubmit(h.state(), ResubmitRecord(h.teacher_id, v, " 已核对原件 "), "620102")
    assert isinstance(event, RecordResubmitted)
    assert (event.level, event.note, event.record_version) == (COUNTY, "已核对原件", v)

    h.resubmit(v, COUNTY, "已核对原件")
    item = h.state()
    assert item.status is Status.SCHOOL_APPROVED and item.reject_reason is None
    _, completed = decide(item, DecideRecord(h.teacher_id, v, approve=True), COUNTY,
                                 "620102")
    assert completed.record_version == v


def test_a_school_rejection_resubmitted_waits_for_the_school() -> None:
    h = History()
    v = h.register("S1")
    h.decide(v, SCHOOL, False, "照片缺失")
    h.resubmit(v, SCHOOL)
    assert h.state().status is Status.SUBMITTED


def test_a_rejection_after_a_resubmission_counts_again() -> None:
    h, v = a_county_rejection()
    h.resubmit(v, COUNTY)
    h.decide(v, COUNTY, False, "仍不符")
    item = h.state()
    assert item.status is Status.REJECTED and item.reject_reason == "仍不符"


def test_only_a_rejected_current_version_with_a_note_is_resubmitted() -> None:
    h = History()
    v = h.register("S1")
    with pytest.raises(NotAwaitingDecision, match="not rejected"):
        resubmit(h.state(), ResubmitRecord(h.teacher_id, v, "无误"), "620102")
    h.decide(v, SCHOOL, False, "照片缺失")
    with pytest.raises(ValidationProblem) as missing:
        resubmit(h.state(), ResubmitRecord(h.teacher_id, v, "  "), "620102")
    assert missing.value.problems[0].loc == "note"
    h.update("S1", highest_education="本科")
    with pytest.raises(StaleRecord):
        resubmit(h.state(), ResubmitRecord(h.teacher_id, v, "无误"), "620102")


def test_applying_a_resubmission_to_the_item_equals_deriving_it_again() -> None:
    h, v = a_county_rejection()
    before = h.state()
    h.resubmit(v, COUNTY)
    assert apply_decision(before, h.decisions[-1]) == h.state()
    with pytest.raises(ValueError):
        apply_decision(h.state(), replace(h.decisions[-1], position=99))


async def test_the_school_resubmits_and_the_county_sees_it_waiting_with_the_note() -> None:
    store = a_store()
    h = submitted(store)
    uow = lambda: FakeUnitOfWork(store)  # noqa: E731
    await handlers.decide_record(uow, school_admin(), DecideRecord(h.teacher_id, 1, True))
    await handlers.decide_record(uow, county_admin(), DecideRecord(
        h.teacher_id, 1, False, reason="学历存疑"))

    done = await handlers.resubmit_record(uow, school_admin(), ResubmitRecord(
        h.teacher_id, 1, "已核对毕业证原件"))

    assert (done.level, done.status) == (COUNTY, Status.SCHOOL_APPROVED)
    [env] = done.events
    assert env.event_type == "RecordResubmitted" and env.actor == "school:S1"
    assert env.payload["note"] == "已核对毕业证原件"


async def test_the_county_and_other_schools_cannot_resubmit() -> None:
    store = a_store()
    h = submitted(store)
    uow = lambda: FakeUnitOfWork(store)  # noqa: E731
    await handlers.decide_record(uow, school_admin(), DecideRecord(
        h.teacher_id, 1, False, reason="照片缺失"))
    with pytest.raises(Forbidden):
        await handlers.resubmit_record(uow, county_admin(), ResubmitRecord(h.teacher_id, 1, "x"))
    with pytest.raises(Forbidden):
        await handlers.resubmit_record(uow, school_admin("S2"),
                                       ResubmitRecord(h.teacher_id, 1, "x"))
    assert store.item(h.teacher_id).status is Status.REJECTED
