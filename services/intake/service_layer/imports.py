"""Bulk import of one school's teachers: stream the rows, check each, append in batches.

Rows are read and checked in a worker thread, `batch_size` at a time (the event loop keeps
serving other requests meanwhile); each batch's valid rows are then written in one
transaction: one identities insert, one `append_many`, one teachers upsert. A row fails alone,
with its problems in the report; the others go on.

Importing the same file twice changes nothing: a person already in post at this school with
the same record is 'unchanged' (no event); with a different record, the row updates it. A
person in post at another school is a duplicate (a transfer moves them); a person who left is
told to return to post. Within a file, a second row for the same ID number is an error.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from uuid import UUID, uuid4

from services.intake.domain import importing
from services.intake.domain import teacher as domain
from services.intake.domain.importing import RowProblem
from services.intake.domain.record import ALL_FIELDS, PersonRecord
from services.intake.domain.school import School
from services.intake.domain.teacher import Teacher
from services.intake.service_layer.common import business_time, metadata, region_of, today
from services.intake.service_layer.ports import Identity, Lock, Registry, UnitOfWork
from shared.auth import Principal
from shared.contracts.base import EventPayload
from shared.domain.idnumber import mask
from shared.errors import Conflict, Problem, ValidationProblem
from shared.eventstore.store import Append, Metadata

Rows = Iterator[tuple[int, dict[str, Any]]]


@dataclass
class ImportReport:
    school_code: str
    rows: int = 0
    registered: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    skipped: int = 0
    batches: int = 0
    seconds: float = 0.0
    problems: list[RowProblem] = field(default_factory=list)

    def fail(self, problems: list[RowProblem]) -> None:
        self.failed += 1
        self.problems.extend(problems)

    def as_dict(self) -> dict[str, Any]:
        return {
            "school_code": self.school_code, "rows": self.rows, "registered": self.registered,
            "updated": self.updated, "unchanged": self.unchanged, "failed": self.failed,
            "skipped": self.skipped, "batches": self.batches, "seconds": round(self.seconds, 3),
            "problems": [p.as_dict() for p in self.problems],
        }


@dataclass
class Chunk:
    records: list[tuple[int, PersonRecord]] = field(default_factory=list)
    failures: list[list[RowProblem]] = field(default_factory=list)
    rows: int = 0
    skipped: int = 0
    done: bool = False


def read_chunk(rows: Rows, size: int, day: date, seen: dict[str, int]) -> Chunk:
    """Up to `size` valid records from `rows` (fewer at the end), with the failing rows'
    problems. `seen` remembers the row of every ID number so far (duplicates within a file)."""
    chunk = Chunk()
    while len(chunk.records) < size:
        try:
            row, cells = next(rows)
        except StopIteration:
            chunk.done = True
            break
        if importing.is_blank(cells):
            continue
        if importing.is_example(cells):
            chunk.skipped += 1
            continue
        chunk.rows += 1
        record, problems = importing.read_row(row, cells, day)
        if record is None:
            chunk.failures.append(problems)
            continue
        first = seen.get(record.id_number)
        if first is not None:
            chunk.failures.append([RowProblem(
                row, "id_number", f"the same person as row {first} of this file "
                                  f"(与第{first}行身份证号重复)")])
            continue
        seen[record.id_number] = row
        chunk.records.append((row, record))
    return chunk


async def import_target(repo: Registry, who: Principal, school_code: str) -> School:
    """The school a file is imported into: it exists, is open, and is the caller's."""
    school = await repo.school(school_code)
    if school is None:
        raise ValidationProblem([Problem("school_code", f"no school {school_code} in the "
                                                        "registry (学校不存在)")])
    who.require(region_of(school), write=True)
    domain.require_open(school)
    return school


async def import_teachers(uow: Callable[[], UnitOfWork], who: Principal, school_code: str,
                          rows: Rows, *, batch_size: int = 1000, writers: int = 2,
                          correlation_id: UUID | None = None,
                          occurred_at: datetime | None = None) -> ImportReport:
    """Up to `writers` batches are written at once, each in its own transaction, while the
    next batch is read: the database commits one batch while Python prepares the next. The
    batches of one file never touch the same person (a second row for an ID number is an
    error), so they do not wait on each other's locks."""
    started = time.perf_counter()
    async with uow() as repo:
        await import_target(repo, who, school_code)
    meta = metadata(who, correlation_id, business_time(who, occurred_at))
    report = ImportReport(school_code)
    seen: dict[str, int] = {}
    day = today()

    def next_chunk() -> asyncio.Future[Chunk]:
        return asyncio.ensure_future(asyncio.to_thread(read_chunk, rows, batch_size, day, seen))

    async def write(records: list[tuple[int, PersonRecord]]) -> None:
        async with uow() as repo:
            await _write_batch(repo, school_code, records, report, meta, day)
        report.batches += 1

    writing: set[asyncio.Task[None]] = set()

    async def settle(room: int) -> None:
        """Wait until at most `room` writes are in flight; a failed write fails the import."""
        nonlocal writing
        while len(writing) > room:
            done, writing = await asyncio.wait(writing, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()

    # Reading and checking the next batch (a thread) overlaps writing this one (the database).
    pending = next_chunk()
    try:
        while True:
            chunk = await pending
            if not chunk.done:
                pending = next_chunk()
            report.rows += chunk.rows
            report.skipped += chunk.skipped
            for failure in chunk.failures:
                report.fail(failure)
            if chunk.records:
                await settle(max(writers, 1) - 1)
                writing.add(asyncio.create_task(write(chunk.records)))
            if chunk.done:
                break
        await settle(0)
    finally:
        pending.cancel()
        for task in writing:
            task.cancel()
        await asyncio.gather(*writing, return_exceptions=True)
    report.problems.sort(key=lambda p: p.row)
    report.seconds = time.perf_counter() - started
    return report


async def _write_batch(repo: Registry, school_code: str, records: list[tuple[int, PersonRecord]],
                       report: ImportReport, meta: Metadata, day: date) -> None:
    school = await repo.school(school_code, Lock.SHARE)
    if school is None or not school.is_open:
        for row, _ in records:
            report.fail([RowProblem(row, "school_code", f"school {school_code} was closed "
                                                        "during the import (学校已撤销)")])
        return
    known = await repo.identities([r.id_number for _, r in records])
    # Read this school's people without locks: re-importing a file is mostly 'unchanged', and
    # only the rows that change need their teacher locked (below).
    ours = await repo.teachers([i.teacher_id for i in known.values()
                                if i.active and i.school_code == school_code])
    fresh: list[tuple[int, PersonRecord, str]] = []
    differing: list[tuple[int, PersonRecord, str]] = []
    for row, record in records:
        identity = known.get(record.id_number)
        if identity is None:
            fresh.append((row, record, str(uuid4())))
        elif identity.school_code != school_code or not identity.active:
            report.fail([_refusal(row, identity)])
        elif _update(ours[identity.teacher_id], record, school, day) is None:
            report.unchanged += 1
        else:
            differing.append((row, record, identity.teacher_id))
    changes = await _locked_updates(repo, differing, school, report, day)
    claimed = await repo.claim_identities(
        [Identity(tid, record.id_number, school_code, True) for _, record, tid in fresh])
    lost = [(row, record) for row, record, tid in fresh if tid not in claimed]
    if lost:  # concurrent registrations elsewhere won these people
        holders = await repo.identities([r.id_number for _, r in lost])
        for row, record in lost:
            report.fail([_refusal(row, holders[record.id_number])])
    registrations = [(tid, domain.registration(tid, school, record))
                     for _, record, tid in fresh if tid in claimed]
    appends = [Append(domain.stream_id(tid), 0, [ev]) for tid, ev in registrations]
    appends += [Append(t.stream_id, t.version, [ev]) for t, ev in changes]
    envelopes = await repo.append(appends, meta)
    version = {env.stream_id: env.stream_version for env in envelopes}
    states = [domain.evolve(None, ev, version[domain.stream_id(tid)]) for tid, ev in registrations]
    states += [domain.evolve(t, ev, version[t.stream_id]) for t, ev in changes]
    await repo.save_teachers(states)
    report.registered += len(registrations)
    report.updated += len(changes)


async def _locked_updates(repo: Registry, differing: list[tuple[int, PersonRecord, str]],
                          school: School, report: ImportReport, day: date
                          ) -> list[tuple[Teacher, EventPayload]]:
    """The updates of the differing rows, decided again on the locked teachers (a concurrent
    change may have happened since they were read)."""
    locked = await repo.teachers([tid for _, _, tid in differing], lock=True)
    changes: list[tuple[Teacher, EventPayload]] = []
    for row, record, tid in differing:
        try:
            event = _update(locked[tid], record, school, day)
        except (Conflict, ValidationProblem) as exc:
            report.fail([RowProblem(row, "id_number", exc.message)])
            continue
        if event is None:
            report.unchanged += 1
        else:
            changes.append((locked[tid], event))
    return changes


def _update(current: Teacher, record: PersonRecord, school: School,
            day: date) -> EventPayload | None:
    before = PersonRecord.from_public(current.record, record.id_number)
    return domain.update_teacher(current, before, {f: getattr(record, f) for f in ALL_FIELDS},
                                 school, day)


def _refusal(row: int, holder: Identity) -> RowProblem:
    if not holder.active:
        return RowProblem(row, "id_number", f"{mask(holder.id_number)} is teacher "
                                            f"{holder.teacher_id}, who has left; record a return "
                                            "to post (返岗) instead (此人已离岗，请办理返岗)")
    return RowProblem(row, "id_number", f"{mask(holder.id_number)} already holds an active "
                                        f"post at school {holder.school_code} (teacher "
                                        f"{holder.teacher_id}); a transfer (省内调动) moves them "
                                        "(此人已在其他学校任职)")
