"""The derived review state of a teacher: the flow, the diff, transfers, and that the state
depends on the set of facts only (not on their order, not on duplicates)."""

from __future__ import annotations

import dataclasses
import itertools
import random
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import uuid4

from services.review.domain.model import DecisionFact, Kind, Status, TeacherFact, derive
from shared.contracts.vocabulary import ReviewLevel
from shared.domain.idnumber import mask, synthetic_id_number

T0 = datetime(2017, 3, 1, 8, tzinfo=UTC)


def a_record(rng: random.Random, **changes: Any) -> dict[str, Any]:
    birth = date(1980 + rng.randrange(15), 1 + rng.randrange(12), 1 + rng.randrange(28))
    gender = rng.choice(["male", "female"])
    record = {
        "name": f"测试{rng.randrange(10**6)}", "gender": gender,
        "id_number_masked": mask(synthetic_id_number(rng, "620102", birth, gender)),
        "birth_date": birth.isoformat(), "ethnicity": "汉族", "political_status": None,
        "post_status": "in_post", "is_fulltime_teacher": True, "stage_taught": "primary",
        "hire_date": date(birth.year + 22, 9, 1).isoformat(), "highest_education": "本科",
        "professional_title": None, "teacher_qualification": "小学教师资格",
    }
    return {**record, **changes}


class History:
    """Builds one teacher's facts and decisions the way intake and review would."""

    def __init__(self, seed: int = 1) -> None:
        self.rng = random.Random(seed)
        self.teacher_id = str(uuid4())
        self.facts: list[TeacherFact] = []
        self.decisions: list[DecisionFact] = []
        self.record: dict[str, Any] = a_record(self.rng)

    def _fact(self, event_type: str, payload: dict[str, Any]) -> int:
        version = len(self.facts) + 1
        self.facts.append(TeacherFact(
            teacher_id=self.teacher_id, source="intake", stream_version=version,
            event_type=event_type, event_id=str(uuid4()),
            occurred_at=T0 + timedelta(days=version), payload=payload))
        return version

    def register(self, school: str) -> int:
        return self._fact("TeacherRegistered", {"teacher_id": self.teacher_id,
                                                "school_code": school, "record": self.record,
                                                "completeness": 1.0})

    def update(self, school: str, **changes: Any) -> int:
        self.record = {**self.record, **changes}
        return self._fact("TeacherUpdated", {"teacher_id": self.teacher_id,
                                             "school_code": school, "record": self.record,
                                             "changed_fields": list(changes),
                                             "completeness": 1.0})

    def transfer(self, src: str, dst: str, proof: dict[str, Any] | None) -> int:
        payload: dict[str, Any] = {"teacher_id": self.teacher_id, "from_school_code": src,
                                   "to_school_code": dst}
        if proof is not None:
            payload["proof"] = proof
        return self._fact("TeacherTransferred", payload)

    def reassign(self, src: str, dst: str) -> int:
        return self._fact("TeacherReassigned", {"teacher_id": self.teacher_id,
                                                "from_school_code": src, "to_school_code": dst,
                                                "batch_id": "b1"})

    def leave(self, school: str) -> int:
        return self._fact("TeacherLeft", {"teacher_id": self.teacher_id,
                                          "school_code": school, "reason": "retired"})

    def decide(self, version: int, level: ReviewLevel, approved: bool, reason: str = "") -> None:
        n = len(self.decisions) + 1
        self.decisions.append(DecisionFact(
            event_id=str(uuid4()), position=n, teacher_id=self.teacher_id,
            record_version=version, level=level, approved=approved, reason=reason,
            actor="reviewer", decided_at=T0 + timedelta(days=30, hours=n)))

    def resubmit(self, version: int, level: ReviewLevel, note: str = "记录无误") -> None:
        n = len(self.decisions) + 1
        self.decisions.append(DecisionFact(
            event_id=str(uuid4()), position=n, teacher_id=self.teacher_id,
            record_version=version, level=level, approved=False, reason=note,
            actor="school", decided_at=T0 + timedelta(days=30, hours=n), resubmitted=True))

    def approve_fully(self, version: int) -> None:
        self.decide(version, ReviewLevel.SCHOOL, True)
        self.decide(version, ReviewLevel.COUNTY, True)

    def state(self):  # type: ignore[no-untyped-def]
        return derive(self.teacher_id, self.facts, self.decisions)


PROOF = {"sha256": "a" * 64, "media_type": "application/pdf", "size_bytes": 1024,
         "filename": "调令.pdf"}


def test_a_new_teacher_waits_for_the_school_with_nothing_to_compare():
    h = History()
    v = h.register("S1")
    item = h.state()
    assert (item.status, item.kind, item.record_version, item.school_code) == (
        Status.SUBMITTED, Kind.NEW, v, "S1")
    assert item.diff == () and item.diff_base_version is None
    assert item.submitted_at == h.facts[0].occurred_at
    assert not item.hard_failures


def test_school_then_county_approval_completes_the_review():
    h = History()
    v = h.register("S1")
    h.decide(v, ReviewLevel.SCHOOL, True)
    assert h.state().status is Status.SCHOOL_APPROVED
    h.decide(v, ReviewLevel.COUNTY, True)
    item = h.state()
    assert item.status is Status.COUNTY_APPROVED
    assert item.school_approved_at is not None and item.county_approved_at is not None


def test_a_rejection_goes_back_to_the_school_and_a_resubmission_starts_again():
    h = History()
    v1 = h.register("S1")
    h.decide(v1, ReviewLevel.SCHOOL, True)
    h.decide(v1, ReviewLevel.COUNTY, False, "出生日期有误")
    item = h.state()
    assert (item.status, item.rejected_level, item.reject_reason) == (
        Status.REJECTED, ReviewLevel.COUNTY, "出生日期有误")
    v2 = h.update("S1", highest_education="硕士")
    item = h.state()
    assert (item.status, item.record_version, item.kind) == (Status.SUBMITTED, v2, Kind.NEW)
    assert item.rejected_level is None and item.reject_reason is None


def test_a_change_to_an_approved_record_comes_back_with_what_changed():
    h = History()
    v1 = h.register("S1")
    h.approve_fully(v1)
    old_title = h.record["professional_title"]
    v2 = h.update("S1", professional_title="一级教师")
    item = h.state()
    assert (item.status, item.kind, item.record_version) == (Status.SUBMITTED, Kind.UPDATE, v2)
    assert item.diff_base_version == v1
    assert [(c.field, c.old, c.new) for c in item.diff] == [
        ("professional_title", old_title, "一级教师")]


def test_the_diff_is_against_the_last_county_approval_not_the_last_submission():
    h = History()
    v1 = h.register("S1")
    h.approve_fully(v1)
    first = h.record["highest_education"]
    h.update("S1", highest_education="硕士")
    h.update("S1", highest_education="博士")
    item = h.state()
    assert [(c.field, c.old, c.new) for c in item.diff] == [
        ("highest_education", first, "博士")]


def test_a_transfer_waits_at_the_receiving_school_with_its_proof():
    h = History()
    v1 = h.register("S1")
    h.approve_fully(v1)
    v2 = h.transfer("S1", "S2", PROOF)
    item = h.state()
    assert (item.status, item.kind, item.school_code, item.record_version) == (
        Status.SUBMITTED, Kind.TRANSFER, "S2", v2)
    assert item.proof == PROOF and item.from_school_code == "S1"
    assert [(c.field, c.old, c.new) for c in item.diff] == [("school_code", "S1", "S2")]


def test_a_plain_update_does_not_lose_a_pending_transfer_or_its_proof():
    h = History()
    h.approve_fully(h.register("S1"))
    h.transfer("S1", "S2", PROOF)
    h.update("S2", professional_title="二级教师")
    item = h.state()
    assert (item.kind, item.proof, item.school_code) == (Kind.TRANSFER, PROOF, "S2")


def test_after_a_transfer_is_approved_the_next_change_is_a_plain_update():
    h = History()
    h.approve_fully(h.register("S1"))
    v2 = h.transfer("S1", "S2", PROOF)
    h.approve_fully(v2)
    assert h.state().status is Status.COUNTY_APPROVED
    h.update("S2", professional_title="二级教师")
    item = h.state()
    assert (item.kind, item.proof, item.diff_base_version) == (Kind.UPDATE, None, v2)


def test_a_transfer_without_proof_fails_a_hard_check():
    h = History()
    h.approve_fully(h.register("S1"))
    h.transfer("S1", "S2", None)
    item = h.state()
    assert item.kind is Kind.TRANSFER and item.proof is None
    assert [c.check for c in item.hard_failures] == ["proof_document"]


def test_a_restructuring_reassignment_moves_the_teacher_without_a_new_review():
    h = History()
    v1 = h.register("S1")
    h.approve_fully(v1)
    h.reassign("S1", "S9")
    item = h.state()
    assert (item.status, item.school_code, item.record_version) == (
        Status.COUNTY_APPROVED, "S9", v1)
    assert item.stream_version == v1 + 1


def test_a_teacher_who_left_leaves_the_queue():
    h = History()
    h.register("S1")
    h.leave("S1")
    assert h.state().active is False


def test_a_decision_counts_only_for_the_version_it_names():
    h = History()
    v1 = h.register("S1")
    h.decide(v1, ReviewLevel.SCHOOL, True)
    v2 = h.update("S1", highest_education="硕士")
    h.decide(v1, ReviewLevel.COUNTY, True)  # about the old version: v2 is not approved by it
    item = h.state()
    assert (item.record_version, item.status) == (v2, Status.SUBMITTED)
    h.decide(v2 + 5, ReviewLevel.SCHOOL, True)  # about a version never seen: no effect
    assert h.state().status is Status.SUBMITTED


def test_the_state_does_not_depend_on_the_order_facts_arrive_in():
    h = History(seed=7)
    v1 = h.register("S1")
    h.approve_fully(v1)
    h.transfer("S1", "S2", PROOF)
    h.decide(2, ReviewLevel.SCHOOL, True)
    h.update("S2", professional_title="一级教师")
    expected = h.state()
    everything: list[Any] = [*h.facts, *h.decisions]
    for order in itertools.permutations(everything):
        facts = [x for x in order if isinstance(x, TeacherFact)]
        decisions = [x for x in order if isinstance(x, DecisionFact)]
        assert derive(h.teacher_id, facts, decisions) == expected


def test_a_fact_delivered_twice_is_the_same_fact():
    h = History()
    v1 = h.register("S1")
    h.decide(v1, ReviewLevel.SCHOOL, True)
    h.update("S1", highest_education="硕士")
    once = h.state()
    twice = derive(h.teacher_id, h.facts + h.facts[:1], h.decisions + h.decisions)
    assert twice == once


def test_no_state_before_the_registration_is_known():
    h = History()
    h.register("S1")
    h.transfer("S1", "S2", PROOF)
    assert derive(h.teacher_id, h.facts[1:], []) is None


def test_a_return_to_post_brings_the_teacher_back_for_review_with_its_proof():
    h = History()
    h.approve_fully(h.register("S1"))
    h.leave("S1")
    assert h.state().active is False
    v = h._fact("TeacherReturnedToPost", {"teacher_id": h.teacher_id, "school_code": "S3",
                                          "proof": PROOF})
    item = h.state()
    assert (item.active, item.kind, item.status, item.record_version, item.school_code) == (
        True, Kind.RETURN_TO_POST, Status.SUBMITTED, v, "S3")
    assert item.proof == PROOF and not item.hard_failures


def test_applying_one_more_decision_to_an_item_equals_deriving_it_again():
    from services.review.domain.model import apply_decision

    rng = random.Random(2017)
    checked = 0
    for seed in range(300):
        h = History(seed)
        h.register("S1")
        for _ in range(rng.randrange(0, 3)):
            change = rng.randrange(3)
            if change == 0:
                h.update("S1", professional_title=rng.choice(["一级", "二级"]))
            elif change == 1:
                h.transfer("S1", "S2", PROOF if rng.random() < 0.7 else None)
            else:
                h.reassign("S1", "S3")
            if rng.random() < 0.5:
                h.approve_fully(len(h.facts))
        for _ in range(rng.randrange(0, 4)):
            before = h.state()
            if before.status is Status.REJECTED:
                break
            level = rng.choice([ReviewLevel.SCHOOL, ReviewLevel.COUNTY])
            approved = rng.random() < 0.8
            h.decide(before.record_version, level, approved, "" if approved else "不全")
            # business time: a decision may be dated before the ones already recorded
            h.decisions[-1] = dataclasses.replace(
                h.decisions[-1], decided_at=T0 + timedelta(days=rng.randrange(60)))
            assert apply_decision(before, h.decisions[-1]) == h.state()
            checked += 1
    assert checked > 300
