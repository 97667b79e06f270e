"""Read-side views: what the queue, the teacher page, the history and the spot-check pages
return. Each checks the caller's region first (shared.auth), then reads the projection (or,
for the history, review's own event store, which is the record of who decided what)."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

import asyncpg

from services.review.adapters.projection_store import item_from_row
from services.review.adapters.queries import QueueFilter, ReviewQueries, sample_of
from services.review.config import ReviewConfig
from services.review.domain.authority import lines_reviewed_by
from services.review.domain.checks import same_person_check
from services.review.domain.decisions import awaiting_level
from services.review.domain.model import Status
from services.review.domain.spotcheck import redraw
from shared.auth import Principal, Region
from shared.contracts.events import SpotCheckSampleDrawn
from shared.contracts.vocabulary import ReviewLevel
from shared.domain.divisions import divisions
from shared.errors import Forbidden, NotFound
from shared.eventstore.store import EventStore

LEVEL_STATUS = {ReviewLevel.SCHOOL: Status.SUBMITTED, ReviewLevel.COUNTY: Status.SCHOOL_APPROVED}


async def queue(conn: asyncpg.Connection, q: ReviewQueries, principal: Principal,
                level: ReviewLevel | None, status: Status | None, f: QueueFilter
                ) -> dict[str, Any]:
    """A reviewer's queue: oldest submission first, within the caller's region."""
    if status is not None:
        f = dataclasses.replace(f, statuses=(status.value,))
    elif level is not None:
        f = dataclasses.replace(f, statuses=(LEVEL_STATUS[level].value,))
    if level == ReviewLevel.COUNTY and lines_reviewed_by(principal.role):
        # a bureau's queue after the school: the schools of the lines it reviews (a county
        # does not see its 市属 or 厅直属 schools' records waiting here: they are not its own)
        f = dataclasses.replace(f, reporting_lines=lines_reviewed_by(principal.role))
    f = await _scoped(conn, q, principal, f)
    rows, total = await q.queue(conn, f)
    return {
        "items": [_queue_item(r) for r in rows], "total": total, "limit": f.limit,
        "offset": f.offset, "rebuilding": await q.rebuilding(conn),
    }


async def _scoped(conn: asyncpg.Connection, q: ReviewQueries, principal: Principal,
                  f: QueueFilter) -> QueueFilter:
    """Refuse filters outside the caller's region; narrow the rest to it."""
    if f.school_code:
        region = await q.region_of(conn, f.school_code) or Region(school_code=f.school_code)
        principal.require(region)
    if f.county_code:
        principal.require(Region(county_code=f.county_code,
                                 city_code=divisions().city_of(f.county_code)))
    if f.city_code:
        principal.require(Region(city_code=f.city_code))
    if principal.province_wide:
        return f
    if principal.school_code:
        return dataclasses.replace(f, school_code=principal.school_code)
    if principal.county_code:
        return dataclasses.replace(f, county_code=principal.county_code)
    return dataclasses.replace(f, city_code=principal.city_code)


def _queue_item(r: asyncpg.Record) -> dict[str, Any]:
    return {
        "teacher_id": r["teacher_id"], "name": r["name"], "school_code": r["school_code"],
        "school_name": r["school_name"], "county_code": r["county_code"],
        "city_code": r["city_code"], "kind": r["kind"], "status": r["status"],
        "record_version": r["record_version"], "submitted_at": r["submitted_at"],
        "school_approved_at": r["school_approved_at"],
        "rejected": ({"level": r["rejected_level"], "reason": r["reject_reason"]}
                     if r["status"] == Status.REJECTED.value else None),
        "has_proof": r["has_proof"], "hard_failures": r["hard_failures"],
        "warnings": r["warnings"] + (1 if r["same_person_elsewhere"] else 0),
        "same_person_elsewhere": r["same_person_elsewhere"],
        "changed_fields": r["changed_fields"],
    }


async def _readable(conn: asyncpg.Connection, q: ReviewQueries, principal: Principal,
                    teacher_id: str) -> asyncpg.Record:
    row = await q.item(conn, teacher_id)
    if row is None:
        raise NotFound(f"teacher {teacher_id} is not in review")
    principal.require(Region(school_code=row["school_code"], county_code=row["county_code"],
                             city_code=row["city_code"]))
    return row


async def teacher(conn: asyncpg.Connection, q: ReviewQueries, principal: Principal,
                  teacher_id: str, config: ReviewConfig) -> dict[str, Any]:
    """Everything a reviewer needs to decide: the record, the checks (with the live
    same-person check), what changed since the last approval, and the proof document."""
    row = await _readable(conn, q, principal, teacher_id)
    item = item_from_row(row)
    checks = [*item.checks, same_person_check(await q.same_person(conn, teacher_id))]
    proof = None
    if item.proof:
        proof = {**item.proof, "url": config.proof_url(str(item.proof.get("sha256")))}
    level = awaiting_level(item) if item.active else None
    return {
        "teacher_id": item.teacher_id, "school_code": item.school_code,
        "school_name": row["school_name"], "county_code": row["county_code"],
        "city_code": row["city_code"], "active": item.active, "status": item.status.value,
        "awaiting_level": level.value if level else None, "kind": item.kind.value,
        "record_version": item.record_version, "stream_version": item.stream_version,
        "record": item.record,
        "rejected": ({"level": item.rejected_level.value if item.rejected_level else None,
                      "reason": item.reject_reason} if item.status == Status.REJECTED else None),
        "needs_proof": item.needs_proof, "proof": proof,
        "from_school_code": item.from_school_code,
        "diff_base_version": item.diff_base_version,
        "diff": [{"field": c.field, "old": c.old, "new": c.new} for c in item.diff],
        "checks": [c.model_dump(mode="json") for c in checks],
        "hard_failures": sum(1 for c in checks if not c.passed and c.severity == "hard"),
        "warnings": sum(1 for c in checks if not c.passed and c.severity == "warning"),
        "submitted_at": item.submitted_at, "school_approved_at": item.school_approved_at,
        "county_approved_at": item.county_approved_at,
        "resubmitted": await q.resubmission(conn, item.teacher_id, item.record_version),
    }


async def history(conn: asyncpg.Connection, q: ReviewQueries, store: EventStore,
                  principal: Principal, teacher_id: str) -> dict[str, Any]:
    """Every decision on a teacher's records: who, when, what, from review's event store."""
    await _readable(conn, q, principal, teacher_id)
    async with conn.transaction():
        envelopes = await store.load(conn, f"review-{teacher_id}")
    entries = []
    for env in envelopes:
        p = env.payload
        what = {"RecordApproved": "approved", "RecordRejected": "rejected",
                "RecordResubmitted": "resubmitted",
                "ReviewCompleted": "review_completed"}.get(env.event_type, env.event_type)
        entries.append({
            "event_id": str(env.event_id), "event_type": env.event_type, "what": what,
            "level": p.get("level"), "record_version": p.get("record_version"),
            "reason": p.get("reason"), "comment": p.get("comment"), "note": p.get("note"),
            "school_code": p.get("school_code"), "county_code": p.get("county_code"),
            "who": env.actor, "when": env.occurred_at, "recorded_at": env.recorded_at,
            "version": env.stream_version,
        })
    return {"teacher_id": teacher_id, "decisions": entries}


async def spot_check(conn: asyncpg.Connection, q: ReviewQueries, principal: Principal,
                     sample_id: str) -> dict[str, Any]:
    """A drawn sample, proven by drawing it again from its seed and population."""
    row = await q.spot_check(conn, sample_id)
    if row is None:
        raise NotFound(f"spot check {sample_id} does not exist")
    principal.require(await q.county_region(conn, row["county_code"]))
    event = sample_of(row)
    members = await q.sample_members(conn, event.sample_id, event.sample)
    checked = [m for m in members.values() if m["outcome"]]
    return {
        **spot_check_body(event), "actor": row["actor"], "drawn_at": row["drawn_at"],
        "redrawn_sample": list(redraw(event)), "verified": redraw(event) == event.sample,
        "members": [_member(t, members.get(t)) for t in event.sample],
        "checked": len(checked),
        "errors": sum(1 for m in checked if m["outcome"] == "error_found"),
    }


def _member(teacher_id: str, m: asyncpg.Record | None) -> dict[str, Any]:
    if m is None:
        return {"teacher_id": teacher_id, "status": None, "result": None}
    result = None if m["outcome"] is None else {
        "outcome": m["outcome"], "fields": list(m["fields"] or []), "note": m["note"],
        "checked_by": m["checked_by"], "checked_at": m["checked_at"],
        "record_version": m["checked_version"]}
    return {"teacher_id": teacher_id, "name": m["name"], "school_code": m["school_code"],
            "school_name": m["school_name"], "status": m["status"], "result": result}


async def error_rates(conn: asyncpg.Connection, q: ReviewQueries, principal: Principal, *,
                      county_code: str | None, city_code: str | None) -> dict[str, Any]:
    """Spot-check error rates per county and per school, inside the caller's region."""
    if county_code:
        principal.require(await q.county_region(conn, county_code))
    elif city_code:
        principal.require(Region(city_code=city_code))
    elif not principal.province_wide:
        county_code, city_code = principal.county_code, principal.city_code
        if principal.school_code or not (county_code or city_code):
            raise Forbidden("spot-check error rates are read by counties, cities and the "
                            "province (抽查差错率由县区及以上查看)")
        if county_code:
            city_code = None
    rows = await q.error_rates(conn, county_code=county_code, city_code=city_code)

    def rate(r: asyncpg.Record) -> dict[str, Any]:
        checked, errors = int(r["checked"]), int(r["errors"])
        return {"checked": checked, "errors": errors,
                "error_rate": round(errors / checked, 4) if checked else None}

    counties = [{"county_code": r["county_code"], **rate(r)} for r in rows
                if r["school_code"] is None]
    schools = [{"county_code": r["county_code"], "school_code": r["school_code"],
                "school_name": r["school_name"], **rate(r)} for r in rows
               if r["school_code"] is not None]
    return {"county_code": county_code, "city_code": city_code, "counties": counties,
            "schools": schools}


def spot_check_body(event: SpotCheckSampleDrawn) -> dict[str, Any]:
    return {
        "sample_id": event.sample_id, "county_code": event.county_code, "seed": event.seed,
        "requested_size": event.requested_size, "requested_percent": event.requested_percent,
        "population_size": len(event.population), "population": list(event.population),
        "sample": list(event.sample),
    }


async def spot_checks(conn: asyncpg.Connection, q: ReviewQueries, principal: Principal,
                      county_code: str, limit: int) -> dict[str, Any]:
    principal.require(await q.county_region(conn, county_code))
    rows = await q.spot_checks(conn, county_code, limit)
    return {"county_code": county_code, "spot_checks": [dict(r) for r in rows]}



async def quality(conn: asyncpg.Connection, q: ReviewQueries, principal: Principal, *,
                  county_code: str | None, city_code: str | None,
                  as_of: datetime | None, now: datetime) -> dict[str, Any]:
    """Data quality at a glance (数据质量), inside the caller's region: per county, or per
    school with the suspected duplicates listed when one county is asked for. The record
    figures are the projection's state now; decision figures (the rejection rate) count the
    decisions made up to `as_of`."""
    county_code, city_code = await _quality_scope(conn, q, principal, county_code, city_code)
    by_school = county_code is not None
    rows = await q.quality(conn, county_code=county_code, city_code=city_code,
                           by_school=by_school)
    decided = await q.decision_counts(conn, county_code=county_code, city_code=city_code,
                                      as_of=as_of)

    def figures(r: asyncpg.Record) -> dict[str, Any]:
        records = int(r["records"])
        since = r["oldest_waiting_since"]
        return {
            "records": records, "failing_checks": int(r["failing_checks"]),
            "check_failure_rate": _ratio(int(r["failing_checks"]), records),
            "rejected_now": int(r["rejected"]),
            "awaiting_school": int(r["awaiting_school"]),
            "awaiting_second_level": int(r["awaiting_second_level"]),
            "oldest_waiting_since": since,
            "oldest_waiting_days": (now - since).days if since else None,
            "suspected_duplicates": int(r["suspected_duplicates"]),
            "incomplete": int(r["incomplete"]),
            "incomplete_rate": _ratio(int(r["incomplete"]), records)}

    counties: dict[str, dict[str, Any]] = {}
    schools: list[dict[str, Any]] = []
    for r in rows:
        if by_school:
            schools.append({"county_code": r["county_code"], "school_code": r["school_code"],
                            "school_name": r["school_name"], **figures(r)})
        else:
            counties[r["county_code"]] = {"county_code": r["county_code"], **figures(r)}
    for code, (decisions, rejections) in decided.items():
        row = counties.setdefault(code, {"county_code": code}) if not by_school else None
        if row is not None:
            row.update(decisions=decisions, rejections=rejections,
                       rejection_rate=_ratio(rejections, decisions))
    out: dict[str, Any] = {"county_code": county_code, "city_code": city_code,
                           "as_of": as_of, "counties": list(counties.values())}
    if by_school:
        assert county_code is not None
        decisions, rejections = decided.get(county_code, (0, 0))
        out.update(schools=schools, decisions=decisions, rejections=rejections,
                   rejection_rate=_ratio(rejections, decisions),
                   duplicates=[dict(r) for r in await q.suspected_duplicates(
                       conn, county_code=county_code, limit=200)])
    return out


async def _quality_scope(conn: asyncpg.Connection, q: ReviewQueries, principal: Principal,
                         county_code: str | None, city_code: str | None
                         ) -> tuple[str | None, str | None]:
    if county_code:
        principal.require(await q.county_region(conn, county_code))
        return county_code, None
    if city_code:
        principal.require(Region(city_code=city_code))
        return None, city_code
    if principal.province_wide:
        return None, None
    if principal.school_code or not (principal.county_code or principal.city_code):
        raise Forbidden("data quality is read by counties, cities and the province "
                        "(数据质量由县区及以上查看)")
    if principal.county_code:
        return principal.county_code, None
    return None, principal.city_code


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None
