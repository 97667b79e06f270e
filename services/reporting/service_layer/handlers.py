"""Reporting's handlers: each loads what it needs, makes one domain call, and renders or appends.

    build       a report as of a date, for a principal's scope (read-only, one snapshot)
    progress    a scope's headline figures as of several days (read-only, one transaction)
    import_     a baseline file -> BaselineImported events (all or nothing)
    sign_off    a city's completeness sign-off of a county -> CompletenessSignedOff
    export      a school's confirmation table (XLSX/PDF) -> ConfirmationTableExported
    returned    the signed table came back -> ConfirmationTableReturned
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import uuid4

import asyncpg

from services.reporting.adapters.baseline_files import read_table
from services.reporting.adapters.confirmation_docs import confirmation_pdf, confirmation_xlsx
from services.reporting.adapters.snapshot_queries import SnapshotQueries
from services.reporting.domain.asof import CST, AsOf, parse_as_of
from services.reporting.domain.baselines import chunk_events, parse_rows
from services.reporting.domain.confirmation import decide_export, decide_return
from services.reporting.domain.facts import Snapshot
from services.reporting.domain.progress import progress_body, progress_point, series_cutoffs
from services.reporting.domain.regions import region_inputs
from services.reporting.domain.reports import ReportRequest, build_report
from services.reporting.domain.scope import Scope
from services.reporting.domain.signoff import decide_signoff
from services.reporting.domain.tables import Report
from shared.auth import Principal, Region, Role
from shared.contracts.events import ConfirmationTableExported
from shared.domain.divisions import divisions
from shared.errors import Forbidden, NotFound
from shared.eventstore.store import EventStore, Metadata, UnitOfWork


@dataclass(frozen=True)
class Deps:
    pool: asyncpg.Pool
    store: EventStore
    queries: SnapshotQueries


async def load_snapshot(deps: Deps, as_of: AsOf, year: int | None = None) -> Snapshot:
    # One repeatable-read transaction: every table is read at the same moment.
    async with deps.pool.acquire() as conn, conn.transaction(isolation="repeatable_read",
                                                             readonly=True):
        return await deps.queries.snapshot(conn, as_of, year)


async def build(deps: Deps, request: ReportRequest, as_of_raw: str | None,
                year: int | None = None) -> Report:
    snapshot = await load_snapshot(deps, parse_as_of(as_of_raw), year)
    return build_report(request, snapshot, divisions())


def require_baseline_importer(principal: Principal) -> None:
    if not principal.province_wide or not principal.can_write:
        raise Forbidden("only the province (or a service account) imports baselines "
                        "(仅省级账号可导入基数表)")


async def progress(deps: Deps, scope: Scope, until_raw: str | None, step_days: int,
                   points: int) -> dict[str, Any]:
    cutoffs = series_cutoffs(parse_as_of(until_raw), step_days, points)
    async with deps.pool.acquire() as conn, conn.transaction(isolation="repeatable_read",
                                                             readonly=True):
        snapshots = [await deps.queries.snapshot(conn, c) for c in cutoffs]
    return progress_body(scope, step_days, [progress_point(s, scope, divisions())
                                            for s in snapshots])


async def import_baseline(deps: Deps, principal: Principal, data: bytes,
                          filename: str | None, kind: str, year: int,
                          level: str | None) -> dict[str, Any]:
    require_baseline_importer(principal)
    header, rows = read_table(data, filename)
    parsed = parse_rows(header, rows, kind=kind, level=level, divisions=divisions())
    baseline_id = uuid4().hex
    events = chunk_events(baseline_id, kind, year, parsed.rows)
    async with UnitOfWork(deps.pool) as uow:
        await deps.store.append(uow.conn, f"baseline-{baseline_id}", 0, events,
                                Metadata(actor=principal.subject))
    return {
        "baseline_id": baseline_id, "kind": kind, "year": year, "level": parsed.level,
        "rows": len(parsed.rows), "chunks": len(events),
        "ignored_columns": list(parsed.ignored_columns), "checks": list(parsed.checks),
        "row_report": [{"row": line, "level": r.level, "code": r.code, "stage": r.stage,
                        "is_total": r.is_total, "status": "ok",
                        "blank": [m for m in ("schools", "teaching_points", "staff", "fulltime")
                                  if getattr(r, m) is None]}
                       for line, r in zip(parsed.row_numbers, parsed.rows, strict=True)],
    }


async def sign_off(deps: Deps, principal: Principal, county_code: str, agrees: bool,
                   explanation: str) -> dict[str, Any]:
    county = divisions().county(county_code)
    if county is None:
        raise NotFound(f"no county {county_code} in the province")
    if principal.role not in (Role.CITY_ADMIN, Role.PROVINCE_ADMIN):
        raise Forbidden("a city administrator signs off its counties (市州管理员确认)")
    principal.require(Region(county_code=county_code, city_code=county.city_code), write=True)
    snapshot = await load_snapshot(deps, parse_as_of(None))
    inputs = region_inputs(snapshot, divisions())
    counts = inputs.counties.get(county_code)
    base = inputs.base.county.get(county_code)
    event = decide_signoff(
        county_code=county_code, city_code=county.city_code, agrees=agrees,
        explanation=explanation, schools_system=counts.schools if counts else 0,
        staff_system=counts.staff if counts else 0,
        schools_base=base.schools if base else None, staff_base=base.staff if base else None)
    async with UnitOfWork(deps.pool) as uow:
        [env] = await deps.store.append(uow.conn, f"signoff-{county_code}", None, [event],
                                        Metadata(actor=principal.subject))
    return {"event_id": str(env.event_id), "occurred_at": env.occurred_at.isoformat(),
            **event.model_dump(mode="json")}


async def _school(deps: Deps, principal: Principal, school_code: str) -> dict[str, Any]:
    async with deps.pool.acquire() as conn:
        school = await deps.queries.current_school(conn, school_code)
    if school is None:
        raise NotFound(f"no school {school_code} in the registry")
    principal.require(Region(school_code=school_code, county_code=school["county_code"],
                             city_code=school["city_code"]), write=True)
    return school


async def export_confirmation(deps: Deps, principal: Principal, school_code: str,
                              fmt: str) -> bytes:
    school = await _school(deps, principal, school_code)
    async with deps.pool.acquire() as conn:
        teachers = await deps.queries.teachers_of(conn, school_code)
    event = decide_export(school_code, [t["teacher_id"] for t in teachers], fmt)
    today = date.today()
    doc = confirmation_xlsx(school, teachers, today) if fmt == "xlsx" else \
        confirmation_pdf(school, teachers, today)
    async with UnitOfWork(deps.pool) as uow:
        await deps.store.append(uow.conn, f"confirmation-{school_code}", None, [event],
                                Metadata(actor=principal.subject))
    return doc


async def mark_returned(deps: Deps, principal: Principal, school_code: str,
                        teacher_ids: list[str] | None, signed: bool) -> dict[str, Any]:
    await _school(deps, principal, school_code)
    stream = f"confirmation-{school_code}"
    async with UnitOfWork(deps.pool) as uow:
        history = await deps.store.load(uow.conn, stream)
        exported = [e for e in history if e.event_type == ConfirmationTableExported.event_type]
        last = tuple(exported[-1].payload["teacher_ids"]) if exported else None
        event = decide_return(school_code, last, teacher_ids, signed)
        version = history[-1].stream_version if history else 0
        [env] = await deps.store.append(uow.conn, stream, version, [event],
                                        Metadata(actor=principal.subject))
    return {"event_id": str(env.event_id), "occurred_at": env.occurred_at.isoformat(),
            "school_code": school_code, "teachers": len(event.teacher_ids),
            "signed": event.signed}


def default_year() -> int:
    """The annual report a baseline file most likely is: last year's."""
    return datetime.now(CST).year - 1
