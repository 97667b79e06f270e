"""Decision and spot-check handlers: load -> authorise -> one domain call -> append.

A decision appends RecordApproved / RecordRejected (+ ReviewCompleted on county approval) to
the stream `review-<teacher_id>` with the stream's current version as the expected version,
and applies them to the projection in the same transaction. A batch decides each item in its
own transaction, so one refused item never holds back the others.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

from services.review.domain.decisions import DecideRecord, awaiting_level, decide
from services.review.domain.errors import NotAwaitingDecision, Rebuilding
from services.review.domain.model import Status
from services.review.domain.spotcheck import DrawSpotCheck, draw_spot_check
from services.review.service_layer.ports import UnitOfWorkFactory
from shared.auth import Principal, Region, Role
from shared.contracts.envelope import Envelope
from shared.contracts.events import SpotCheckSampleDrawn
from shared.contracts.vocabulary import ReviewLevel
from shared.errors import Conflict, Forbidden, NotFound, TmisError
from shared.eventstore.store import Metadata

# Who reviews at which level. Service accounts are TMIS programs (the simulator) that act
# province-wide; city and province administrators read but do not review.
REVIEWERS = {
    ReviewLevel.SCHOOL: frozenset({Role.SCHOOL_ADMIN, Role.SERVICE}),
    ReviewLevel.COUNTY: frozenset({Role.COUNTY_ADMIN, Role.SERVICE}),
}
MAX_SEED = 2**63 - 1


@dataclass(frozen=True)
class Decided:
    teacher_id: str
    record_version: int
    level: ReviewLevel
    approved: bool
    status: Status
    events: list[Envelope] = field(default_factory=list)


@dataclass(frozen=True)
class BatchOutcome:
    """One item of a batch: `decided`, or the error it met (HTTP status and body)."""

    teacher_id: str
    record_version: int
    decided: Decided | None = None
    status_code: int = 200
    error: dict[str, Any] | None = None


def stream_of(teacher_id: str) -> str:
    return f"review-{teacher_id}"


async def decide_record(uow_factory: UnitOfWorkFactory, principal: Principal,
                        cmd: DecideRecord, correlation_id: UUID | None = None) -> Decided:
    async with uow_factory() as uow:
        if await uow.rebuilding():
            raise Rebuilding("the review projection is being rebuilt (or the last rebuild "
                             "failed: run `tmis replay review`); decide again in a minute "
                             "(审核数据重建中，请稍后再试)")
        item = await uow.lock_item(cmd.teacher_id)
        if item is None:
            raise NotFound(f"teacher {cmd.teacher_id} is not in review")
        region = await uow.region_of(item.school_code)
        level = _level(principal, cmd, awaiting_level(item), item.teacher_id)
        authorize(principal, level, region or Region(school_code=item.school_code))
        if region is None or region.county_code is None:
            raise Conflict(f"school {item.school_code} is not in the school registry yet; "
                           "it cannot be reviewed until it is (学校尚未登记)")
        events = decide(item, cmd, level, region.county_code)
        stream = stream_of(item.teacher_id)
        appended = await uow.record(
            stream, await uow.stream_version(stream), events,
            Metadata(actor=principal.subject, correlation_id=correlation_id or uuid4(),
                     causation_id=UUID(item.source_event_id)))
        after = await uow.lock_item(item.teacher_id)
        assert after is not None
    return Decided(item.teacher_id, item.record_version, level, cmd.approve, after.status,
                   appended)


async def decide_batch(uow_factory: UnitOfWorkFactory, principal: Principal,
                       cmds: Sequence[DecideRecord]) -> list[BatchOutcome]:
    """Decide every item; each item's refusal is reported, not raised."""
    correlation_id = uuid4()
    out: list[BatchOutcome] = []
    for cmd in cmds:
        try:
            decided = await decide_record(uow_factory, principal, cmd, correlation_id)
        except TmisError as exc:
            out.append(BatchOutcome(cmd.teacher_id, cmd.record_version,
                                    status_code=exc.status_code, error=exc.as_dict()))
        else:
            out.append(BatchOutcome(cmd.teacher_id, cmd.record_version, decided))
    return out


async def draw_sample(uow_factory: UnitOfWorkFactory, principal: Principal,
                      cmd: DrawSpotCheck) -> tuple[SpotCheckSampleDrawn, Envelope]:
    """Draw a spot-check sample of a county's school-approved records and record it."""
    async with uow_factory() as uow:
        principal.require(await uow.county_region(cmd.county_code), write=True)
        if await uow.rebuilding():
            raise Rebuilding("the review projection is being rebuilt; draw again in a minute")
        if principal.role is Role.SCHOOL_ADMIN:
            raise Forbidden("spot checks are drawn by the county (随机抽查由县区组织)")
        seed = cmd.seed if cmd.seed is not None else secrets.randbelow(2**31)
        sample_id = uuid4().hex
        event = draw_spot_check(cmd, await uow.school_approved(cmd.county_code),
                                sample_id=sample_id, seed=seed)
        [env] = await uow.record(f"spotcheck-{cmd.county_code}-{sample_id}", 0, [event],
                                 Metadata(actor=principal.subject))
    return event, env


def authorize(principal: Principal, level: ReviewLevel, region: Region) -> None:
    if principal.role not in REVIEWERS[level]:
        who = "the school's administrator" if level == ReviewLevel.SCHOOL else \
            "the county's administrator"
        raise Forbidden(f"{principal.role} accounts do not review at {level} level; "
                        f"{who} does (学校初审由学校管理员、县级审核由县区管理员负责)")
    principal.require(region, write=True)


def _level(principal: Principal, cmd: DecideRecord, awaiting: ReviewLevel | None,
           teacher_id: str) -> ReviewLevel:
    """The level the caller decides at: as asked, else the caller's own, else the one the
    record waits for (service accounts)."""
    if cmd.level is not None:
        return cmd.level
    if principal.role is Role.SCHOOL_ADMIN:
        return ReviewLevel.SCHOOL
    if principal.role is Role.COUNTY_ADMIN:
        return ReviewLevel.COUNTY
    if awaiting is None:
        raise NotAwaitingDecision(f"teacher {teacher_id} does not wait for a decision "
                                  "(无待审核事项)")
    return awaiting
