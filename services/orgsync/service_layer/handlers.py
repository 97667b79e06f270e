"""Use cases: plan, apply and announce a batch; read batches and pending ones; follow intake.

Applying holds one transaction-scoped advisory lock for the whole registry, so two batches
are never planned against the same registry state and applied on top of each other; within
it: load the batch stream, plan against the registry, decide, append the event, bring the
registry view and the batch table forward. Nothing is written when the decision refuses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any

import asyncpg

from services.orgsync.adapters.batch_store import BatchStore
from services.orgsync.adapters.registry_store import RegistryStore
from services.orgsync.domain.decisions import (
    BatchHistory,
    Outcome,
    decide_announce,
    decide_apply,
)
from services.orgsync.domain.errors import BatchRefused
from services.orgsync.domain.model import Batch
from services.orgsync.domain.parsing import ParsedBatch
from services.orgsync.domain.pending import PendingReport, summarise_pending
from services.orgsync.domain.planning import Plan, plan
from shared.contracts.base import EventPayload, parse_payload
from shared.contracts.events import (
    SchoolChanged,
    SchoolClosed,
    SchoolRegistered,
    TeacherLeft,
    TeacherReassigned,
    TeacherRegistered,
    TeacherReturnedToPost,
    TeacherTransferred,
    TeacherUpdated,
)
from shared.contracts.vocabulary import PostStatus
from shared.errors import NotFound
from shared.eventstore.store import EventStore, Metadata, UnitOfWork
from shared.logging import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class Stores:
    """The adapters a handler needs, built once by bootstrap."""

    events: EventStore
    registry: RegistryStore
    batches: BatchStore

    @property
    def lock_key(self) -> str:
        return f"{self.events.schema}:restructuring"


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    batch: Batch
    plan: Plan | None
    teachers_to_move: int


def effective_time(batch: Batch) -> datetime:
    """The business time of an applied batch: the start of its effective date (UTC)."""
    return datetime.combine(batch.effective_date, time.min, tzinfo=UTC)


@dataclass(frozen=True)
class Planned:
    plan: Plan | None  # None when nothing of the batch is readable
    known: dict[str, Any] | None  # the batch id's record, when it was announced or applied

    def known_status(self) -> dict[str, Any] | None:
        if self.known is None or self.plan is None:
            return None
        return {"status": self.known["status"],
                "same_content": self.known["fingerprint"] == self.plan.batch.fingerprint()}


async def plan_batch(pool: asyncpg.Pool, stores: Stores, parsed: ParsedBatch) -> Planned:
    """The plan of the readable part of the batch, and what is known of its id already."""
    if parsed.batch is None:
        return Planned(None, None)
    async with pool.acquire() as conn:
        snapshot = await stores.registry.snapshot(conn, parsed.batch)
        known = await stores.batches.get(conn, parsed.batch.batch_id)
    return Planned(plan(parsed.batch, snapshot, issues=parsed.issues), known)


async def apply_batch(pool: asyncpg.Pool, stores: Stores, parsed: ParsedBatch,
                      actor: str) -> Result:
    batch = _readable(parsed)
    async with UnitOfWork(pool) as uow:
        conn = uow.conn
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", stores.lock_key)
        history = await _history(conn, stores, batch)
        the_plan = plan(batch, await stores.registry.snapshot(conn, batch), issues=parsed.issues)
        if parsed.issues:
            raise BatchRefused(batch.batch_id, the_plan.problems, the_plan.warnings)
        decision = decide_apply(batch, history, the_plan)
        if decision.outcome is Outcome.ALREADY_APPLIED:
            assert history.applied is not None
            row = await stores.batches.get(conn, batch.batch_id)
            moved = int(row["teachers_to_move"]) if row and row["teachers_to_move"] else 0
            log.info("batch_already_applied", batch_id=batch.batch_id)
            return Result(decision.outcome, batch, None, moved)
        await stores.events.append(conn, batch.stream_id, decision.expected_version,
                                   decision.events,
                                   Metadata(actor=actor, occurred_at=effective_time(batch)))
        await stores.registry.apply_plan(conn, the_plan)
        await stores.batches.record_applied(conn, batch, actor, datetime.now(UTC),
                                            the_plan.teachers_to_move, summary(the_plan))
    log.info("batch_applied", batch_id=batch.batch_id, operations=len(batch.operations),
             teachers_to_move=the_plan.teachers_to_move)
    return Result(decision.outcome, batch, the_plan, the_plan.teachers_to_move)


async def announce_batch(pool: asyncpg.Pool, stores: Stores, parsed: ParsedBatch,
                         actor: str) -> Result:
    """Make the batch known as pending. Format problems refuse it; the registry's problems do
    not (the registry may still change before the apply) but come back in the plan."""
    batch = _readable(parsed)
    if parsed.issues:
        raise BatchRefused(batch.batch_id, parsed.issues)
    async with UnitOfWork(pool) as uow:
        conn = uow.conn
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", stores.lock_key)
        decision = decide_announce(batch, await _history(conn, stores, batch))
        the_plan = plan(batch, await stores.registry.snapshot(conn, batch))
        if decision.events:
            now = datetime.now(UTC)
            await stores.events.append(conn, batch.stream_id, decision.expected_version,
                                       decision.events, Metadata(actor=actor, occurred_at=now))
            await stores.batches.record_announced(conn, batch, actor, now)
    log.info("batch_announced", batch_id=batch.batch_id, outcome=decision.outcome.value)
    return Result(decision.outcome, batch, the_plan, the_plan.teachers_to_move)


async def get_batch(pool: asyncpg.Pool, stores: Stores, batch_id: str) -> dict[str, Any]:
    async with pool.acquire() as conn:
        row = await stores.batches.get(conn, batch_id)
    if row is None:
        raise NotFound(f"批次 {batch_id} 不存在 (no batch {batch_id})")
    return row


async def pending(pool: asyncpg.Pool, stores: Stores) -> PendingReport:
    async with pool.acquire() as conn:
        batches = await stores.batches.pending(conn)
        codes = {op.school_code for b, _ in batches for op in b.operations}
        stages = await stores.registry.stages(conn, codes)
    return summarise_pending(batches, stages)


def summary(the_plan: Plan) -> dict[str, Any]:
    """What an applied batch did, without the per-school detail."""
    full = the_plan.as_dict()
    keep = ("batch_id", "effective_date", "fingerprint", "operations", "operations_by_kind",
            "teachers_to_move", "in_post_to_move", "counts", "by_stage", "warnings")
    return {k: full[k] for k in keep}


def _readable(parsed: ParsedBatch) -> Batch:
    if parsed.batch is None:
        raise BatchRefused(parsed.batch_id, parsed.issues)
    return parsed.batch


async def _history(conn: asyncpg.Connection, stores: Stores, batch: Batch) -> BatchHistory:
    envelopes = await stores.events.load(conn, batch.stream_id)
    return BatchHistory.of([parse_payload(e) for e in envelopes])


# --------------------------------------------------------------------------- following intake


async def follow(conn: asyncpg.Connection, registry: RegistryStore, event: EventPayload,
                 version: int) -> None:
    """Apply one of intake's school or teacher events to the registry view."""
    match event:
        case SchoolRegistered():
            await registry.put_school(conn, event.school_code, event.profile, version,
                                      reopen=True)
        case SchoolChanged():
            await registry.put_school(conn, event.school_code, event.profile, version,
                                      reopen=False)
        case SchoolClosed():
            if not await registry.close_school(conn, event.school_code, event.merged_into,
                                               version):
                log.warning("closed_unknown_school", school_code=event.school_code)
        case TeacherRegistered():
            await registry.put_teacher(conn, event.teacher_id, event.school_code, version,
                                       in_post=event.record.post_status is PostStatus.IN_POST,
                                       active=True)
        case TeacherUpdated():
            await registry.put_teacher(conn, event.teacher_id, event.school_code, version,
                                       in_post=event.record.post_status is PostStatus.IN_POST)
        case TeacherTransferred() | TeacherReassigned():
            await registry.put_teacher(conn, event.teacher_id, event.to_school_code, version)
        case TeacherReturnedToPost():
            await registry.put_teacher(conn, event.teacher_id, event.school_code, version,
                                       in_post=True, active=True)
        case TeacherLeft():
            await registry.put_teacher(conn, event.teacher_id, event.school_code, version,
                                       in_post=False, active=False)
        case _:
            pass  # other events on these topics say nothing about who is where
