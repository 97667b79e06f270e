"""Apply an orgsync restructuring batch to the registry, inside the consumer's transaction.

Locks every school the batch names (FOR UPDATE, in code order, so two appliers cannot
deadlock) and the teachers of the schools that lose staff, plans with the pure domain planner,
appends every event in one `append_many`, and saves schools, teachers and identities. The
events' business time is the batch's effective date (midnight in the province).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, time

from services.intake.domain.restructuring import Plan, codes_named, losing_schools, plan_batch
from services.intake.domain.teacher import Teacher
from services.intake.service_layer.common import SHANGHAI
from services.intake.service_layer.ports import Lock, Registry
from shared.contracts.envelope import Envelope
from shared.contracts.events import RestructuringBatchApplied
from shared.eventstore.store import Append, Metadata
from shared.logging import get_logger

log = get_logger(__name__)


def effective_time(batch: RestructuringBatchApplied) -> datetime:
    return datetime.combine(batch.effective_date, time(0, 0), tzinfo=SHANGHAI)


async def apply_batch(repo: Registry, batch: RestructuringBatchApplied,
                      cause: Envelope) -> Plan:
    current = await repo.schools(sorted(codes_named(batch)), Lock.UPDATE)
    staff: dict[str, list[Teacher]] = defaultdict(list)
    for t in await repo.teachers_at(sorted(losing_schools(batch)), lock=True):
        staff[t.school_code].append(t)
    plan = plan_batch(batch, current, staff)
    for line, reason in plan.skipped:
        log.info("restructuring_operation_skipped", batch_id=batch.batch_id, line=line,
                 reason=reason)
    if plan.steps:
        meta = Metadata(actor=cause.actor, correlation_id=cause.correlation_id,
                        causation_id=cause.event_id, occurred_at=effective_time(batch))
        await repo.append([Append(s.stream_id, s.expected_version, [s.event])
                           for s in plan.steps], meta)
        await repo.save_schools([s for code, s in plan.schools.items()
                                 if current.get(code) != s])
        await repo.save_teachers(list(plan.teachers.values()))
        moved: dict[str, list[str]] = defaultdict(list)
        for t in plan.teachers.values():
            moved[t.school_code].append(t.teacher_id)
        for school_code, teacher_ids in moved.items():
            await repo.move_identities(teacher_ids, school_code)
    log.info("restructuring_batch_followed", batch_id=batch.batch_id, events=len(plan.steps),
             teachers_moved=len(plan.teachers), skipped=len(plan.skipped))
    return plan
