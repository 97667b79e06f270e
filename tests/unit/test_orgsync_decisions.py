"""Announcing and applying a batch: one Applied event per batch, repeats are no-ops, a reused id
with other content is refused, a batch with problems appends nothing."""

from __future__ import annotations

from datetime import date
from uuid import uuid4

import pytest

from services.orgsync.domain.decisions import (
    BatchHistory,
    Outcome,
    decide_announce,
    decide_apply,
)
from services.orgsync.domain.errors import BatchIdReused, BatchRefused
from services.orgsync.domain.model import Batch, IssueKind, RegistrySnapshot, SchoolState
from services.orgsync.domain.planning import plan
from shared.contracts.events import (
    RestructuringBatchAnnounced,
    RestructuringBatchApplied,
    RestructuringOperation,
    SchoolProfile,
)
from shared.contracts.vocabulary import Stage


def a_school(in_post: int = 0) -> SchoolState:
    profile = SchoolProfile(name=f"学校{uuid4().hex[:6]}", stage=Stage.PRIMARY,
                            county_code="620102", city_code="620100")
    return SchoolState(f"S{uuid4().hex[:10]}", profile, True, in_post, in_post)


def merges(*pairs: tuple[SchoolState, SchoolState], batch_id: str | None = None) -> Batch:
    ops = tuple(RestructuringOperation(line=i, op="merge", school_code=a.code,
                                       target_code=b.code)
                for i, (a, b) in enumerate(pairs, start=2))
    return Batch(batch_id or f"B{uuid4().hex[:8]}", date(2017, 6, 30), ops)


def registry(*schools: SchoolState) -> RegistrySnapshot:
    return RegistrySnapshot({s.code: s for s in schools})


def applied(batch: Batch, moved: int = 0) -> RestructuringBatchApplied:
    return RestructuringBatchApplied(batch_id=batch.batch_id,
                                     effective_date=batch.effective_date,
                                     operations=batch.operations, teachers_to_move=moved)


def announced(batch: Batch) -> RestructuringBatchAnnounced:
    return RestructuringBatchAnnounced(batch_id=batch.batch_id,
                                       effective_date=batch.effective_date,
                                       operations=batch.operations)


def test_a_valid_batch_is_applied_as_one_event_with_every_operation():
    a, b, c, d = a_school(5), a_school(), a_school(2), a_school()
    batch = merges((a, b), (c, d))
    decision = decide_apply(batch, BatchHistory(), plan(batch, registry(a, b, c, d)))
    assert decision.outcome is Outcome.APPLIED
    assert decision.expected_version == 0
    (event,) = decision.events
    assert isinstance(event, RestructuringBatchApplied)
    assert event.operations == batch.operations
    assert event.teachers_to_move == 7


def test_applying_a_batch_already_applied_appends_nothing():
    a, b = a_school(5), a_school()
    batch = merges((a, b))
    history = BatchHistory.of([applied(batch, 5)])
    # the registry has moved on (a is closed now): the repeat must not be judged by it
    closed_a = SchoolState(a.code, a.profile, False, 0, 0, b.code)
    decision = decide_apply(batch, history, plan(batch, registry(closed_a, b)))
    assert decision.outcome is Outcome.ALREADY_APPLIED
    assert decision.events == ()


def test_the_same_batch_from_another_file_layout_is_recognised_as_already_applied():
    a, b = a_school(1), a_school()
    batch = merges((a, b))
    relined = Batch(batch.batch_id, batch.effective_date,
                    tuple(o.model_copy(update={"line": o.line + 10}) for o in batch.operations))
    decision = decide_apply(relined, BatchHistory.of([applied(batch)]), plan(relined,
                                                                              registry(a, b)))
    assert decision.outcome is Outcome.ALREADY_APPLIED


def test_a_batch_id_already_applied_with_other_content_is_refused():
    a, b, c = a_school(1), a_school(), a_school()
    first = merges((a, b))
    other = merges((a, c), batch_id=first.batch_id)
    with pytest.raises(BatchIdReused) as refused:
        decide_apply(other, BatchHistory.of([applied(first)]), plan(other, registry(a, b, c)))
    assert refused.value.status_code == 409
    assert first.batch_id in refused.value.message


def test_a_batch_whose_effective_date_differs_from_the_applied_one_is_other_content():
    a, b = a_school(1), a_school()
    first = merges((a, b))
    later = Batch(first.batch_id, date(2017, 9, 30), first.operations)
    with pytest.raises(BatchIdReused):
        decide_apply(later, BatchHistory.of([applied(first)]), plan(later, registry(a, b)))


def test_a_batch_with_problems_is_refused_with_every_problem_and_appends_nothing():
    a, b = a_school(1), a_school()
    ghost = a_school()  # not in the registry
    batch = merges((a, b), (ghost, b), (b, b))
    with pytest.raises(BatchRefused) as refused:
        decide_apply(batch, BatchHistory(), plan(batch, registry(a, b)))
    assert refused.value.status_code == 422
    assert {i.kind for i in refused.value.issues} >= {IssueKind.UNKNOWN_SCHOOL,
                                                      IssueKind.SELF_MERGE}
    assert [p.row for p in refused.value.problems] == [i.line for i in refused.value.issues]


def test_applying_an_announced_batch_appends_after_the_announcement():
    a, b = a_school(1), a_school()
    batch = merges((a, b))
    decision = decide_apply(batch, BatchHistory.of([announced(batch)]), plan(batch,
                                                                             registry(a, b)))
    assert decision.outcome is Outcome.APPLIED
    assert decision.expected_version == 1


def test_applying_other_content_than_was_announced_under_the_id_is_refused():
    a, b, c = a_school(1), a_school(), a_school()
    told = merges((a, b))
    other = merges((a, c), batch_id=told.batch_id)
    with pytest.raises(BatchIdReused):
        decide_apply(other, BatchHistory.of([announced(told)]), plan(other, registry(a, b, c)))


def test_announcing_appends_once_and_a_repeat_is_a_no_op():
    a, b = a_school(1), a_school()
    batch = merges((a, b))
    first = decide_announce(batch, BatchHistory())
    assert first.outcome is Outcome.ANNOUNCED
    assert [type(e) for e in first.events] == [RestructuringBatchAnnounced]
    again = decide_announce(batch, BatchHistory.of(list(first.events)))
    assert (again.outcome, again.events) == (Outcome.ALREADY_ANNOUNCED, ())


def test_announcing_an_applied_batch_changes_nothing_and_other_content_is_refused():
    a, b, c = a_school(1), a_school(), a_school()
    batch = merges((a, b))
    history = BatchHistory.of([applied(batch)])
    assert decide_announce(batch, history).outcome is Outcome.ALREADY_APPLIED
    with pytest.raises(BatchIdReused):
        decide_announce(merges((a, c), batch_id=batch.batch_id), history)
    with pytest.raises(BatchIdReused):
        decide_announce(merges((a, c), batch_id=batch.batch_id),
                        BatchHistory.of([announced(batch)]))
