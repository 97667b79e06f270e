"""Decision and spot-check handlers: load -> authorise -> one domain call -> append.

A decision appends RecordApproved / RecordRejected (+ ReviewCompleted on county approval) to
the stream `review-<teacher_id>` with the stream's current version as the expected version,
and applies them to the projection in the same transaction.

A batch is decided in chunks, one transaction per chunk: lock every teacher of the chunk in
one statement, load their items and schools at once, validate every item (the same rules, in
the same order, as a single decision), then append the valid ones' events to all their streams
with one `append_many` and apply them to the projection at once. A refused item is reported
in its place and appends nothing; the others go ahead. A teacher named twice in a chunk is
decided again after the first decision is applied (a second round in the same transaction),
so a batch means exactly what the same decisions one by one would. Should a writer that does
not take the teacher locks make an append stale, the chunk is rolled back and decided one
item per transaction instead.

Business time: service accounts and the province may date decisions (`occurred_at`: the
events' business time, which "as of" reports use); anyone else who tries is refused (403).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from services.review.domain.authority import bureau_of, second_level_reviewer
from services.review.domain.decisions import (
    DecideRecord,
    ResubmitRecord,
    awaiting_level,
    decide,
    resubmit,
)
from services.review.domain.errors import NotAwaitingDecision, Rebuilding
from services.review.domain.model import ReviewItem, Status
from services.review.domain.spotcheck import (
    DrawSpotCheck,
    RecordSpotCheckResult,
    draw_spot_check,
    record_result,
)
from services.review.service_layer.ports import ReviewUnitOfWork, UnitOfWorkFactory
from shared.auth import Principal, Region, Role
from shared.contracts.base import EventPayload
from shared.contracts.envelope import Envelope
from shared.contracts.events import SpotCheckResultRecorded, SpotCheckSampleDrawn
from shared.contracts.vocabulary import ReviewLevel
from shared.errors import ConcurrencyConflict, Conflict, Forbidden, NotFound, TmisError
from shared.eventstore.store import Append, Metadata
from shared.logging import get_logger

log = get_logger(__name__)

# Who reviews at which level. Service accounts are TMIS programs (the simulator) that act
# province-wide; city and province administrators read but do not review.
REVIEWERS = {
    ReviewLevel.SCHOOL: frozenset({Role.SCHOOL_ADMIN, Role.SERVICE}),
    ReviewLevel.COUNTY: frozenset({Role.COUNTY_ADMIN, Role.CITY_ADMIN, Role.PROVINCE_ADMIN,
                                   Role.SERVICE}),  # which one: the school's reporting line
}
# Who may say when a decision happened (loading history, simulating a past year).
BUSINESS_TIME_ROLES = frozenset({Role.SERVICE, Role.PROVINCE_ADMIN})
MAX_SEED = 2**63 - 1
CHUNK = 1000


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


@dataclass(frozen=True)
class _Planned:
    """A validated item of a chunk, waiting for the chunk's append."""

    index: int
    item: ReviewItem
    level: ReviewLevel
    events: list[EventPayload]


def stream_of(teacher_id: str) -> str:
    return f"review-{teacher_id}"


def business_time(principal: Principal, occurred_at: datetime | None) -> datetime | None:
    """The business time a caller may give its decisions (None: now)."""
    if occurred_at is None:
        return None
    if principal.role not in BUSINESS_TIME_ROLES:
        raise Forbidden(f"{principal.role} accounts may not date decisions: only service "
                        "accounts and the province give occurred_at; leave it out "
                        "(仅服务账号和省级账号可指定业务时间)")
    return occurred_at if occurred_at.tzinfo else occurred_at.replace(tzinfo=UTC)


def validate(principal: Principal, cmd: DecideRecord, item: ReviewItem | None,
             region: Region | None) -> tuple[ReviewLevel, list[EventPayload]]:
    """Every rule a decision meets before anything is appended, in one order for single
    decisions and batches: known teacher, level, reviewer and region, school placed, then
    the domain's decide (version, status, reason, proof, hard checks)."""
    if item is None:
        raise NotFound(f"teacher {cmd.teacher_id} is not in review")
    level = _level(principal, cmd, awaiting_level(item), item.teacher_id)
    authorize(principal, level, region or Region(school_code=item.school_code))
    if region is None or region.county_code is None:
        raise Conflict(f"school {item.school_code} is not in the school registry yet; "
                       "it cannot be reviewed until it is (学校尚未登记)")
    return level, decide(item, cmd, level, region.county_code)


async def _not_rebuilding(uow: ReviewUnitOfWork) -> None:
    if await uow.rebuilding():
        raise Rebuilding("the review projection is being rebuilt (or the last rebuild "
                         "failed: run `tmis replay review`); decide again in a minute "
                         "(审核数据重建中，请稍后再试)")


async def decide_record(uow_factory: UnitOfWorkFactory, principal: Principal,
                        cmd: DecideRecord, correlation_id: UUID | None = None,
                        occurred_at: datetime | None = None) -> Decided:
    when = business_time(principal, occurred_at)
    async with uow_factory() as uow:
        await _not_rebuilding(uow)
        item = await uow.lock_item(cmd.teacher_id)
        region = await uow.region_of(item.school_code) if item else None
        level, events = validate(principal, cmd, item, region)
        assert item is not None
        stream = stream_of(item.teacher_id)
        appended = await uow.record(
            stream, await uow.stream_version(stream), events,
            Metadata(actor=principal.subject, correlation_id=correlation_id or uuid4(),
                     causation_id=UUID(item.source_event_id), occurred_at=when))
        after = await uow.lock_item(item.teacher_id)
        assert after is not None
    return Decided(item.teacher_id, item.record_version, level, cmd.approve, after.status,
                   appended)


@dataclass(frozen=True)
class Resubmitted:
    teacher_id: str
    record_version: int
    level: ReviewLevel  # the level that decides again
    status: Status
    events: list[Envelope] = field(default_factory=list)


# Who sends a rejected record back: the school that entered it (service accounts for TMIS
# programs). The county does not resubmit what it rejected; it decides again.
RESUBMITTERS = frozenset({Role.SCHOOL_ADMIN, Role.SERVICE})


async def resubmit_record(uow_factory: UnitOfWorkFactory, principal: Principal,
                          cmd: ResubmitRecord, correlation_id: UUID | None = None
                          ) -> Resubmitted:
    async with uow_factory() as uow:
        await _not_rebuilding(uow)
        item = await uow.lock_item(cmd.teacher_id)
        if item is None:
            raise NotFound(f"teacher {cmd.teacher_id} is not in review")
        region = await uow.region_of(item.school_code)
        if principal.role not in RESUBMITTERS:
            raise Forbidden(f"{principal.role} accounts do not resubmit records; the school "
                            "that entered it does (由学校管理员重新提交)")
        principal.require(region or Region(school_code=item.school_code), write=True)
        if region is None or region.county_code is None:
            raise Conflict(f"school {item.school_code} is not in the school registry yet "
                           "(学校尚未登记)")
        events = resubmit(item, cmd, region.county_code)
        stream = stream_of(item.teacher_id)
        appended = await uow.record(
            stream, await uow.stream_version(stream), events,
            Metadata(actor=principal.subject, correlation_id=correlation_id or uuid4(),
                     causation_id=UUID(item.source_event_id)))
        after = await uow.lock_item(item.teacher_id)
        assert after is not None and item.rejected_level is not None
    return Resubmitted(item.teacher_id, item.record_version, item.rejected_level, after.status,
                       appended)


async def decide_batch(uow_factory: UnitOfWorkFactory, principal: Principal,
                       cmds: Sequence[DecideRecord], *, occurred_at: datetime | None = None,
                       chunk: int = CHUNK) -> list[BatchOutcome]:
    """Decide every item, one transaction per chunk; each item's refusal is reported in
    its place, not raised."""
    when = business_time(principal, occurred_at)
    correlation_id = uuid4()
    out: list[BatchOutcome] = []
    for start in range(0, len(cmds), max(1, chunk)):
        out += await _decide_chunk(uow_factory, principal, cmds[start:start + chunk],
                                   correlation_id, when)
    return out


async def _decide_chunk(uow_factory: UnitOfWorkFactory, principal: Principal,
                        cmds: Sequence[DecideRecord], correlation_id: UUID,
                        when: datetime | None) -> list[BatchOutcome]:
    try:
        async with uow_factory() as uow:
            await _not_rebuilding(uow)
            outcomes: list[BatchOutcome | None] = [None] * len(cmds)
            todo = list(range(len(cmds)))
            while todo:
                todo = await _decide_round(uow, principal, cmds, todo, outcomes,
                                           Metadata(actor=principal.subject,
                                                    correlation_id=correlation_id,
                                                    occurred_at=when))
    except Rebuilding as exc:
        return [_refused(cmd, exc) for cmd in cmds]
    except ConcurrencyConflict as exc:
        log.warning("decision_chunk_conflict_one_by_one", stream=exc.stream_id,
                    items=len(cmds))
        return [await _decide_one(uow_factory, principal, cmd, correlation_id, when)
                for cmd in cmds]
    assert all(o is not None for o in outcomes)
    return [o for o in outcomes if o is not None]


async def _decide_round(uow: ReviewUnitOfWork, principal: Principal,
                        cmds: Sequence[DecideRecord], todo: list[int],
                        outcomes: list[BatchOutcome | None], meta: Metadata) -> list[int]:
    """Decide the items `todo` (indexes into cmds) on the current state; returns those that
    must wait for a next round (a second decision on a teacher decided in this one)."""
    items = await uow.lock_items(sorted({cmds[n].teacher_id for n in todo}))
    regions = await uow.regions_of(sorted({i.school_code for i in items.values()}))
    planned: dict[str, _Planned] = {}
    later: list[int] = []
    for n in todo:
        cmd = cmds[n]
        if cmd.teacher_id in planned:
            later.append(n)
            continue
        item = items.get(cmd.teacher_id)
        try:
            level, events = validate(principal, cmd, item,
                                     regions.get(item.school_code) if item else None)
        except TmisError as exc:
            outcomes[n] = _refused(cmd, exc)
            continue
        assert item is not None
        planned[cmd.teacher_id] = _Planned(n, item, level, events)
    if not planned:
        return later
    streams = {tid: stream_of(tid) for tid in planned}
    versions = await uow.stream_versions(list(streams.values()))
    appended = await uow.record_many(
        [Append(streams[tid], versions.get(streams[tid], 0), p.events,
                causation_id=UUID(p.item.source_event_id)) for tid, p in planned.items()],
        meta, {tid: p.item for tid, p in planned.items()})
    by_stream: dict[str, list[Envelope]] = {}
    for env in appended:
        by_stream.setdefault(env.stream_id, []).append(env)
    statuses = await uow.statuses(list(planned))
    for tid, p in planned.items():
        cmd = cmds[p.index]
        outcomes[p.index] = BatchOutcome(cmd.teacher_id, cmd.record_version, Decided(
            tid, p.item.record_version, p.level, cmd.approve, statuses[tid],
            by_stream.get(streams[tid], [])))
    return later


async def _decide_one(uow_factory: UnitOfWorkFactory, principal: Principal,
                      cmd: DecideRecord, correlation_id: UUID,
                      when: datetime | None) -> BatchOutcome:
    try:
        decided = await decide_record(uow_factory, principal, cmd, correlation_id, when)
    except TmisError as exc:
        return _refused(cmd, exc)
    return BatchOutcome(cmd.teacher_id, cmd.record_version, decided)


def _refused(cmd: DecideRecord, exc: TmisError) -> BatchOutcome:
    return BatchOutcome(cmd.teacher_id, cmd.record_version, status_code=exc.status_code,
                        error=exc.as_dict())


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


async def record_spot_check_result(uow_factory: UnitOfWorkFactory, principal: Principal,
                                   cmd: RecordSpotCheckResult
                                   ) -> tuple[SpotCheckResultRecorded, Envelope]:
    """Record what checking one sampled record found, on the sample's stream. The county that
    drew it (or above) records; the version checked is the one under review now."""
    async with uow_factory() as uow:
        sample = await uow.spot_check_sample(cmd.sample_id)
        if sample is None:
            raise NotFound(f"spot check {cmd.sample_id} does not exist")
        principal.require(await uow.county_region(sample.county_code), write=True)
        if principal.role is Role.SCHOOL_ADMIN:
            raise Forbidden("spot-check results are recorded by the county (抽查结果由县区登记)")
        item = await uow.lock_item(cmd.teacher_id)
        if item is None:
            raise NotFound(f"teacher {cmd.teacher_id} is not in review")
        event = record_result(cmd, sample, school_code=item.school_code,
                              record_version=item.record_version)
        stream = f"spotcheck-{sample.county_code}-{sample.sample_id}"
        [env] = await uow.record(stream, await uow.stream_version(stream), [event],
                                 Metadata(actor=principal.subject))
    return event, env


def authorize(principal: Principal, level: ReviewLevel, region: Region) -> None:
    """The school's administrator reviews first; after it, the bureau of the school's reporting
    line (services/review/domain/authority.py); service accounts at either level."""
    if level == ReviewLevel.SCHOOL:
        if principal.role not in REVIEWERS[level]:
            raise Forbidden(f"{principal.role} accounts do not review at school level; the "
                            "school's administrator does (学校初审由学校管理员负责)")
    else:
        reviewer = second_level_reviewer(region.reporting_line)
        if principal.role not in (reviewer, Role.SERVICE):
            raise Forbidden(
                f"{principal.role} accounts do not review this school's records after the "
                f"school: its reporting line is {region.reporting_line}, so the {reviewer} "
                f"does (该校隶属{bureau_of(reviewer)}，由{bureau_of(reviewer)}管理员审核)")
    principal.require(region, write=True)


def _level(principal: Principal, cmd: DecideRecord, awaiting: ReviewLevel | None,
           teacher_id: str) -> ReviewLevel:
    """The level the caller decides at: as asked, else the caller's own, else the one the
    record waits for (service accounts)."""
    if cmd.level is not None:
        return cmd.level
    if principal.role is Role.SCHOOL_ADMIN:
        return ReviewLevel.SCHOOL
    if principal.role in (Role.COUNTY_ADMIN, Role.CITY_ADMIN, Role.PROVINCE_ADMIN):
        return ReviewLevel.COUNTY
    if awaiting is None:
        raise NotAwaitingDecision(f"teacher {teacher_id} does not wait for a decision "
                                  "(无待审核事项)")
    return awaiting
