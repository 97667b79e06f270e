"""Decide what announcing or applying a batch appends, given the batch's stream so far.

One stream per batch (`batch-<id>`), at most one Announced and one Applied event in it. The
Applied event carries the whole validated batch, so a batch is applied all or nothing by
construction; applying (or announcing) the same content again appends nothing; the same id with
different content is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from services.orgsync.domain.errors import BatchIdReused, BatchRefused
from services.orgsync.domain.model import Batch
from services.orgsync.domain.planning import Plan
from shared.contracts.base import EventPayload
from shared.contracts.events import RestructuringBatchAnnounced, RestructuringBatchApplied


class Outcome(StrEnum):
    APPLIED = "applied"
    ALREADY_APPLIED = "already_applied"
    ANNOUNCED = "announced"
    ALREADY_ANNOUNCED = "already_announced"


@dataclass(frozen=True)
class BatchHistory:
    """What the batch's stream holds."""

    version: int = 0
    announced: Batch | None = None
    applied: Batch | None = None

    @classmethod
    def of(cls, events: list[EventPayload]) -> BatchHistory:
        announced = applied = None
        for ev in events:
            if isinstance(ev, RestructuringBatchAnnounced):
                announced = Batch.from_event(ev)
            elif isinstance(ev, RestructuringBatchApplied):
                applied = Batch.from_event(ev)
        return cls(len(events), announced, applied)


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    events: tuple[EventPayload, ...] = ()
    expected_version: int = 0


def decide_apply(batch: Batch, history: BatchHistory, plan: Plan) -> Decision:
    """Apply `batch` (planned as `plan` against the current registry)."""
    fingerprint = batch.fingerprint()
    if history.applied is not None:
        # Checked before the plan: once applied, the registry has moved on and a re-plan
        # would find the merged schools closed; the repeat must still be a quiet no-op.
        if history.applied.fingerprint() == fingerprint:
            return Decision(Outcome.ALREADY_APPLIED, (), history.version)
        raise BatchIdReused(batch.batch_id, "应用", history.applied.fingerprint(), fingerprint)
    if history.announced is not None and history.announced.fingerprint() != fingerprint:
        raise BatchIdReused(batch.batch_id, "公布", history.announced.fingerprint(), fingerprint)
    if not plan.ok:
        raise BatchRefused(batch.batch_id, plan.problems, plan.warnings)
    event = RestructuringBatchApplied(batch_id=batch.batch_id,
                                      effective_date=batch.effective_date,
                                      operations=batch.operations,
                                      teachers_to_move=plan.teachers_to_move)
    return Decision(Outcome.APPLIED, (event,), history.version)


def decide_announce(batch: Batch, history: BatchHistory) -> Decision:
    """Make `batch` known as pending. The registry is not consulted: it may still change
    before the batch is applied, and apply checks it then."""
    fingerprint = batch.fingerprint()
    if history.applied is not None:
        if history.applied.fingerprint() == fingerprint:
            return Decision(Outcome.ALREADY_APPLIED, (), history.version)
        raise BatchIdReused(batch.batch_id, "应用", history.applied.fingerprint(), fingerprint)
    if history.announced is not None:
        if history.announced.fingerprint() == fingerprint:
            return Decision(Outcome.ALREADY_ANNOUNCED, (), history.version)
        raise BatchIdReused(batch.batch_id, "公布", history.announced.fingerprint(), fingerprint)
    event = RestructuringBatchAnnounced(batch_id=batch.batch_id,
                                        effective_date=batch.effective_date,
                                        operations=batch.operations)
    return Decision(Outcome.ANNOUNCED, (event,), history.version)
