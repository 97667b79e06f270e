"""The decision rules: which record version may be approved or rejected, at which level."""

from __future__ import annotations

import pytest

from services.review.domain.decisions import DecideRecord, awaiting_level, decide
from services.review.domain.errors import (
    ChecksFailed,
    NotAwaitingDecision,
    ProofMissing,
    StaleRecord,
)
from shared.contracts.events import RecordApproved, RecordRejected, ReviewCompleted
from shared.contracts.vocabulary import ReviewLevel
from shared.errors import ValidationProblem
from tests.unit.test_review_model import PROOF, History

SCHOOL, COUNTY = ReviewLevel.SCHOOL, ReviewLevel.COUNTY


def approve(item, level, version=None):  # type: ignore[no-untyped-def]
    cmd = DecideRecord(item.teacher_id, version or item.record_version, approve=True)
    return decide(item, cmd, level, "620102")


def test_the_school_approves_first_and_the_county_completes_the_review():
    h = History()
    v = h.register("S1")
    item = h.state()
    assert awaiting_level(item) is SCHOOL
    [event] = approve(item, SCHOOL)
    assert isinstance(event, RecordApproved) and (event.level, event.record_version) == (
        SCHOOL, v)
    h.decide(v, SCHOOL, True)
    item = h.state()
    assert awaiting_level(item) is COUNTY
    approved, completed = approve(item, COUNTY)
    assert isinstance(approved, RecordApproved) and approved.county_code == "620102"
    assert isinstance(completed, ReviewCompleted) and completed.record_version == v


def test_the_county_cannot_approve_before_the_school():
    h = History()
    h.register("S1")
    with pytest.raises(NotAwaitingDecision, match="awaits the school"):
        approve(h.state(), COUNTY)


def test_a_decision_on_a_version_that_is_no_longer_current_is_stale():
    h = History()
    v1 = h.register("S1")
    h.update("S1", highest_education="硕士")
    with pytest.raises(StaleRecord) as info:
        approve(h.state(), SCHOOL, version=v1)
    assert (info.value.named, info.value.current, info.value.status_code) == (v1, v1 + 1, 409)


def test_a_rejection_needs_a_reason_and_carries_it():
    h = History()
    h.register("S1")
    item = h.state()
    with pytest.raises(ValidationProblem):
        decide(item, DecideRecord(item.teacher_id, item.record_version, approve=False,
                                  reason="  "), SCHOOL, "620102")
    [event] = decide(item, DecideRecord(item.teacher_id, item.record_version, approve=False,
                                        reason="民族填写错误"), SCHOOL, "620102")
    assert isinstance(event, RecordRejected) and event.reason == "民族填写错误"


def test_a_rejected_record_waits_for_resubmission():
    h = History()
    v = h.register("S1")
    h.decide(v, SCHOOL, False, "照片缺失")
    with pytest.raises(NotAwaitingDecision, match="rejected"):
        approve(h.state(), SCHOOL)


def test_a_transfer_without_proof_cannot_be_approved_but_can_be_rejected():
    h = History()
    h.approve_fully(h.register("S1"))
    v2 = h.transfer("S1", "S2", None)
    item = h.state()
    with pytest.raises(ProofMissing) as info:
        approve(item, SCHOOL)
    assert info.value.status_code == 422 and "proof" in info.value.message
    h.decide(v2, SCHOOL, True)  # even had the school let it through, the county cannot
    with pytest.raises(ProofMissing):
        approve(h.state(), COUNTY)
    [event] = decide(item, DecideRecord(item.teacher_id, v2, approve=False,
                                        reason="缺少调动证明"), SCHOOL, "620102")
    assert isinstance(event, RecordRejected)


def test_a_transfer_with_proof_can_be_approved():
    h = History()
    h.approve_fully(h.register("S1"))
    v2 = h.transfer("S1", "S2", PROOF)
    h.decide(v2, SCHOOL, True)
    assert [type(e) for e in approve(h.state(), COUNTY)] == [RecordApproved, ReviewCompleted]


def test_a_hard_check_failure_blocks_approval_and_a_warning_does_not():
    h = History()
    h.record = {**h.record, "hire_date": "1970-01-01"}  # before the 18th birthday
    h.register("S1")
    with pytest.raises(ChecksFailed, match="18"):
        approve(h.state(), SCHOOL)
    h2 = History(seed=3)
    h2.record = {**h2.record, "stage_taught": None}  # a warning only
    h2.register("S1")
    assert approve(h2.state(), SCHOOL)


def test_nothing_is_decided_for_a_teacher_who_left():
    h = History()
    h.register("S1")
    h.leave("S1")
    with pytest.raises(NotAwaitingDecision, match="left"):
        approve(h.state(), SCHOOL, version=1)
