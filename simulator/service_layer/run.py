"""Play a province plan through the services' public HTTP APIs, in causal order, backdated.

Steps (business times from schedule.py; the report as of the plan's reference date is the
province the plan describes):

    preflight      every service answers; the registry is empty; intake's import template
    schools        POST /v1/schools for every school (with Idempotency-Key)
    baselines      the annual report per school and per stage (as given), the base table per
                   county: POST /v1/baselines
    teachers       one import per school (POST /v1/imports, the template's Chinese columns,
                   `occurred_at`); retried submissions POST /v1/teachers twice with one key
                   (the second must replay the first answer); the school's teacher ids read
                   back (GET /v1/teachers) and matched to the plan by masked ID number + birth
    changes        updates (PATCH), returns to post (返岗) and transfers (省内调动) with an
                   uploaded proof PDF
    restructuring  once orgsync's registry has followed intake: plan, then apply the merges
                   batch (effective on the 31st of March); intake follows it
    reviews        school approvals, county approvals (and rejections), fixes (PATCH),
                   school and county again: review's queue per county, POST /v1/decisions in
                   batches, with `occurred_at`
    departures     teachers who retired, resigned or moved away (POST .../leave)
    pending        the restructurings announced, not applied (POST /v1/batches/announce)
    catch-up       until every service has applied every event (catchup.py)

No table writes, no Kafka shortcuts: everything goes through the public APIs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from shared.contracts.vocabulary import ReviewLevel
from shared.domain.idnumber import last_four, mask
from simulator.adapters.api import ApiError, Decision, Services
from simulator.adapters.files import (
    batch_json,
    county_baseline,
    import_file,
    json_value,
    record_json,
    school_baseline,
    stage_baseline,
    template_columns,
    template_header,
    tiny_pdf,
)
from simulator.adapters.kafka_watch import KafkaWatch
from simulator.adapters.progress import ProgressFactory
from simulator.domain.model import Fate, ProvincePlan, SchoolPlan
from simulator.domain.outcome import plan_digest
from simulator.domain.teachers import TeacherPlan, teachers_of
from simulator.service_layer.catchup import CaughtUp, wait_caught_up
from simulator.service_layer.ledger import Ledger
from simulator.service_layer.schedule import Schedule

T = TypeVar("T")


class SimulationFailed(RuntimeError):
    """A step could not do what the plan needs (the message says which and why)."""


@dataclass(frozen=True)
class RunOptions:
    workers: int = 6  # schools (or counties, or batches) handled at once
    decision_batch: int = 1000
    catch_up_timeout: float = 6 * 3600


@dataclass(frozen=True)
class StepTiming:
    name: str
    seconds: float
    detail: str = ""


@dataclass
class RunResult:
    ledger: Ledger
    timings: list[StepTiming] = field(default_factory=list)
    caught_up: CaughtUp | None = None
    notes: list[str] = field(default_factory=list)


async def for_each(items: Iterable[T], fn: Callable[[T], Awaitable[None]], workers: int) -> None:
    """Run `fn` over `items` with `workers` tasks; the first failure cancels the rest and is
    raised as itself (not wrapped in an ExceptionGroup)."""
    it = iter(items)

    async def worker() -> None:
        for item in it:  # one shared iterator: each item goes to exactly one worker
            await fn(item)

    try:
        async with asyncio.TaskGroup() as tg:
            for _ in range(max(1, workers)):
                tg.create_task(worker())
    except BaseExceptionGroup as group:
        first: BaseException = group
        while isinstance(first, BaseExceptionGroup):
            first = first.exceptions[0]
        raise first from None


def school_body(s: SchoolPlan, occurred_at: datetime) -> dict[str, Any]:
    return {"code": s.code, "name": s.name, "stage": s.stage.value,
            "is_teaching_point": s.is_teaching_point, "county_code": s.county_code,
            "city_code": s.city_code, "reporting_line": s.reporting_line.value,
            "is_rural": s.is_rural, "occurred_at": occurred_at.isoformat()}


def person_key(masked: str, birth_date: str, name: str) -> tuple[str, str, str]:
    """How a listed teacher is matched to the plan: the last four of the masked ID number,
    the birth date and the name (the mask no longer shows the area code, so two teachers of
    one school born the same day could share the rest)."""
    return last_four(masked), birth_date, name


class Simulation:
    def __init__(self, plan: ProvincePlan, services: Services, watch: KafkaWatch,
                 progress: ProgressFactory, say: Callable[[str], None],
                 options: RunOptions | None = None) -> None:
        self.plan = plan
        self.services = services
        self.watch = watch
        self.progress = progress
        self.say = say
        self.options = options or RunOptions()
        self.schedule = Schedule(plan.reference_date, plan.seed)
        self.ledger = Ledger()
        self.result = RunResult(self.ledger)
        self.run_key = f"sim-{plan.seed}-{plan_digest(plan)[:10]}"
        self.header: list[str] = []
        self.columns: list[str | None] = []
        self.dead_letters_before = 0

    # ------------------------------------------------------------------ the whole run

    async def run(self) -> RunResult:
        steps: Sequence[tuple[str, Callable[[], Awaitable[str]]]] = (
            ("preflight", self.preflight), ("schools", self.register_schools),
            ("baselines", self.import_baselines), ("teachers", self.enter_teachers),
            ("changes", self.record_changes), ("restructuring", self.restructure),
            ("reviews", self.review), ("departures", self.departures),
            ("pending batch", self.announce_pending), ("catch-up", self.catch_up))
        for name, step in steps:
            started = time.monotonic()
            detail = await step()
            seconds = time.monotonic() - started
            self.result.timings.append(StepTiming(name, seconds, detail))
            self.say(f"{name}: {detail} ({_duration(seconds)})")
        self.result.notes += self.ledger.notes
        return self.result

    def key(self, *parts: object) -> str:
        """A deterministic Idempotency-Key: the same plan sends the same keys."""
        return "-".join([self.run_key, *(str(p) for p in parts)])[:200]

    # ------------------------------------------------------------------ preflight

    async def preflight(self) -> str:
        for client in self.services.all():
            await client.healthz()
        if await self.services.intake.any_school():
            raise SimulationFailed(
                "the stack already holds schools: a simulated province needs an empty one "
                "(`tmis up --fresh` starts over)")
        template = await self.services.intake.import_template()
        self.header = template_header(template)
        self.columns = template_columns(template)
        counts = await self.watch.messages(["tmis.deadletter.v1"])
        self.dead_letters_before = counts.get("tmis.deadletter.v1", 0)
        p = self.plan
        return (f"{len(p.schools)} schools, {sum(s.registered for s in p.schools)} teachers to "
                f"register, seed {p.seed}")

    # ------------------------------------------------------------------ schools

    async def register_schools(self) -> str:
        when = self.schedule.schools_registered
        bar = self.progress("schools", len(self.plan.schools))

        async def one(s: SchoolPlan) -> None:
            await self.services.intake.register_school(school_body(s, when),
                                                       self.key("school", s.code))
            bar.advance()

        await for_each(self.plan.schools, one, self.options.workers)
        bar.close()
        return f"{len(self.plan.schools)} registered as of {when:%Y-%m-%d}"

    # ------------------------------------------------------------------ baselines

    async def import_baselines(self) -> str:
        b = self.plan.baselines
        year = self.schedule.baseline_year
        reporting = self.services.reporting
        files = (("annual", "stage", "annual-stages.csv", stage_baseline(b.annual_stages)),
                 ("annual", "school", "annual-schools.csv", school_baseline(b.annual_schools)),
                 ("base", "county", "base-counties.csv", county_baseline(b.base_table)))
        rows = 0
        for kind, level, name, content in files:
            if content.count(b"\n") <= 1:
                continue  # a profile with no school in the annual report has no school rows
            answer = await reporting.import_baseline(content, name, kind, year, level)
            rows += int(answer.get("rows", 0))
        return f"{rows} rows of {year}'s annual report and base table"

    # ------------------------------------------------------------------ teachers

    async def enter_teachers(self) -> str:
        schools = [s for s in self.plan.schools if s.registered > 0]
        bar = self.progress("teachers", sum(s.registered for s in schools))
        await for_each(schools, lambda s: self._enter_school(s, bar.advance),
                       self.options.workers)
        bar.close()
        return (f"{self.ledger.registered} registered at {len(schools)} schools "
                f"({self.ledger.replayed} retried submissions replayed)")

    async def _enter_school(self, school: SchoolPlan, advance: Callable[[int], None]) -> None:
        intake = self.services.intake
        roster = teachers_of(self.plan, school)
        when = self.schedule.teachers_entered(school.code)
        batch = [t for t in roster if not t.retry]
        if batch:
            content = import_file(self.header, self.columns, batch)
            report = await intake.import_teachers(school.code, content, when)
            # An import whose answer was lost (the connection cut after the commit) is sent
            # again and finds its rows "unchanged": imports are idempotent by content, and
            # each school is imported once, so registered + unchanged is what arrived. The
            # listing below checks that every teacher is there, once.
            arrived = int(report.get("registered", 0)) + int(report.get("unchanged", 0))
            if arrived != len(batch) or report.get("failed"):
                raise ApiError("intake", "POST /v1/imports", 200,
                               {"expected_registered": len(batch), "report": report},
                               school.code)
        for t in roster:
            if t.retry:
                await self._register_twice(school, t, when)
        if batch:
            listed = {person_key(r["record"]["id_number_masked"], r["record"]["birth_date"],
                                 r["record"]["name"]):
                      (r["teacher_id"], int(r["version"]))
                      for r in await intake.teachers_at(school.code)}
            for t in batch:
                found = listed.get(person_key(mask(t.id_number), t.birth_date.isoformat(),
                                              t.name))
                if found is None:
                    raise SimulationFailed(f"intake does not list teacher {t.key} at school "
                                           f"{school.code} after importing it")
                self.ledger.learn(t, *found)
        advance(len(roster))

    async def _register_twice(self, school: SchoolPlan, t: TeacherPlan, when: datetime) -> None:
        """A retried submission: the same request with the same Idempotency-Key twice; the
        second must be answered with the first answer, and register nobody."""
        intake, key = self.services.intake, self.key("teacher", t.key)
        first, _ = await intake.register_teacher(school.code, record_json(t), when, key)
        again, replayed = await intake.register_teacher(school.code, record_json(t), when, key)
        if again != first or not replayed:
            raise SimulationFailed(f"a retried submission of teacher {t.key} (school "
                                   f"{school.code}) was not answered with the first answer: "
                                   f"{first} then {again} (replayed: {replayed})")
        self.ledger.replayed += 1
        self.ledger.learn(t, first["teacher_id"], int(first["version"]))

    # ------------------------------------------------------------------ March: changes

    async def record_changes(self) -> str:
        todo = [t for t in self.ledger.later
                if (t.change and not t.rejected_at) or t.returns_to_post
                or t.fate is Fate.TRANSFER]
        bar = self.progress("changes", len(todo))
        counts = {"updates": 0, "returns": 0, "transfers": 0}

        async def one(t: TeacherPlan) -> None:
            tid = self.ledger.id_of(t)
            when = self.schedule.noise(t.key)
            intake = self.services.intake
            if t.change and not t.rejected_at:
                field_name, _, final = t.change
                answer = await intake.update_teacher(
                    t.school_code, tid, self.ledger.version_of(tid),
                    {field_name: json_value(final)}, when, self.key("update", t.key))
                self.ledger.versions[tid] = int(answer["version"])
                counts["updates"] += 1
            if t.returns_to_post:
                proof = await self._proof(f"Return to post of teacher {t.key} at school "
                                          f"{t.school_code}", t.key)
                answer = await intake.return_to_post(
                    tid, t.school_code, proof, self.ledger.version_of(tid),
                    when + timedelta(minutes=30), self.key("return", t.key))
                self.ledger.versions[tid] = int(answer["version"])
                counts["returns"] += 1
            if t.fate is Fate.TRANSFER:
                assert t.final_school is not None
                proof = await self._proof(f"Transfer of teacher {t.key} from {t.school_code} "
                                          f"to {t.final_school}", t.key)
                answer = await intake.transfer(
                    tid, t.final_school, proof, self.ledger.version_of(tid),
                    when + timedelta(hours=1), self.key("transfer", t.key))
                self.ledger.versions[tid] = int(answer["version"])
                counts["transfers"] += 1
            bar.advance()

        await for_each(todo, one, self.options.workers)
        bar.close()
        return ", ".join(f"{n} {what}" for what, n in counts.items()) + \
            " (transfers and returns with a proof document)"

    async def _proof(self, text: str, key: str) -> str:
        """Upload the education authority's proof (a small PDF) and return its sha256."""
        return await self.services.intake.upload_document(
            tiny_pdf(f"Gansu education authority - {text}"), f"proof-{key}.pdf")

    # ------------------------------------------------------------------ restructuring

    async def restructure(self) -> str:
        applied = [b for b in self.plan.batches if b.applied]
        if not applied:
            return "no batch to apply"
        # Orgsync checks a batch against its own registry, which follows intake's events.
        await self._caught_up("orgsync following intake", ("intake", "orgsync"))
        orgsync, moved = self.services.orgsync, 0
        for batch in applied:
            body = batch_json(batch, self.schedule.merge_effective)
            codes = sorted({c for op in batch.operations
                            for c in (op.school_code, op.target_code) if c})
            known = (await orgsync.registry(codes)).get("schools", {})
            missing = [c for c in codes if c not in known]
            if missing:
                raise SimulationFailed(f"orgsync's registry has not followed intake: schools "
                                       f"{', '.join(missing[:10])} unknown to it")
            planned = await orgsync.plan(body)
            if not planned.get("ok", False):
                raise ApiError("orgsync", "POST /v1/batches/plan", 200, planned)
            answer = await orgsync.apply(body)
            moved += int(answer.get("teachers_to_move", 0))
        # Intake follows the applied batch (closes the merged schools, reassigns teachers).
        await self._caught_up("intake following orgsync", ("orgsync", "intake"))
        for batch in applied:
            for op in batch.operations:
                school = await self.services.intake.school(op.school_code)
                if school.get("open") or school.get("merged_into") != op.target_code:
                    raise SimulationFailed(f"intake did not follow batch {batch.batch_id}: "
                                           f"school {op.school_code} is {school}")
        ops = sum(len(b.operations) for b in applied)
        return (f"{ops} merges applied, effective {self.schedule.merge_effective}, "
                f"{moved} teachers moved with their schools")

    # ------------------------------------------------------------------ April: reviews

    async def review(self) -> str:
        await self._caught_up("review following intake", ("intake", "review"))
        school, county = ReviewLevel.SCHOOL, ReviewLevel.COUNTY
        approved = rejected = 0
        for round_no, level in ((0, school), (1, county)):
            a, r = await self._decide_round(level, round_no, None)
            approved, rejected = approved + a, rejected + r
        counties = await self._fix_rejected(2)
        if counties:
            await self._caught_up("review following the fixes", ("intake", "review"))
            for round_no, level in ((3, school), (4, county)):
                a, r = await self._decide_round(level, round_no, counties)
                approved, rejected = approved + a, rejected + r
        note = "" if self.services.review.backdating else \
            " (review refused business times for decisions: decided as of now)"
        if note:
            self.ledger.notes.append("decisions carry today's date: review's POST "
                                     "/v1/decisions did not accept occurred_at")
        return (f"{approved} approvals and {rejected} rejections, "
                f"{len(self.ledger.rejections)} records fixed and resubmitted{note}")

    async def _decide_round(self, level: ReviewLevel, round_no: int,
                            only: set[str] | None) -> tuple[int, int]:
        when = self.schedule.decisions(round_no)
        counties = sorted(only if only is not None else
                          {s.county_code for s in self.plan.schools})
        want = sum(1 for t in self.ledger.targets.values()
                   if t >= (1 if level is ReviewLevel.SCHOOL else 2)) if only is None else None
        bar = self.progress(f"{level.value} reviews", want)
        tally = {"approved": 0, "rejected": 0}

        async def county(code: str) -> None:
            items = await self.services.review.queue_all(level.value, code)
            decisions: list[Decision] = []
            for item in items:
                verdict = self.ledger.decision(item["teacher_id"], level)
                if verdict is None:
                    continue
                rejection = self.ledger.rejections.get(item["teacher_id"])
                decisions.append(Decision(
                    item["teacher_id"], int(item["record_version"]), verdict, level.value,
                    "" if verdict else (rejection.reason if rejection else "信息有误")))
            del items
            size = self.options.decision_batch
            for i in range(0, len(decisions), size):
                chunk = decisions[i:i + size]
                answer = await self.services.review.decide(chunk, when)
                failed = [r for r in answer.get("results", []) if r.get("status") != 200]
                if failed:
                    raise ApiError("review", f"POST /v1/decisions ({level.value} level, county "
                                             f"{code})", 200,
                                   {"failed": len(failed), "first": failed[:5]})
                tally["approved"] += int(answer.get("approved", 0))
                tally["rejected"] += int(answer.get("rejected", 0))
                bar.advance(len(chunk))

        # Two counties at a time: a batch is already 1000 decisions of work for review.
        await for_each(counties, county, min(2, self.options.workers))
        bar.close()
        return tally["approved"], tally["rejected"]

    async def _fix_rejected(self, round_no: int) -> set[str]:
        """The schools correct what the reviewers sent back (PATCH), which resubmits the
        record; returns the counties that have resubmitted records to review again."""
        when = self.schedule.decisions(round_no)
        by_id = {self.ledger.id_of(t): t for t in self.ledger.later if t.rejected_at}
        counties: set[str] = set()

        async def one(tid: str) -> None:
            t = by_id[tid]
            assert t.change is not None
            field_name, _, final = t.change
            answer = await self.services.intake.update_teacher(
                t.school_code, tid, self.ledger.version_of(tid), {field_name: json_value(final)},
                when, self.key("fix", t.key))
            self.ledger.versions[tid] = int(answer["version"])
            self.ledger.rejections[tid].fixed = True
            counties.add(self.plan.school(t.school_code).county_code)

        await for_each(sorted(self.ledger.rejections), one, self.options.workers)
        return counties

    # ------------------------------------------------------------------ departures

    async def departures(self) -> str:
        leavers = [t for t in self.ledger.later if t.fate is Fate.LEAVE]
        when = self.schedule.departures

        async def one(t: TeacherPlan) -> None:
            tid = self.ledger.id_of(t)
            reason = (t.leave_reason.value if t.leave_reason else "resigned")
            await self.services.intake.leave(t.school_code, tid, reason,
                                             self.ledger.version_of(tid), when,
                                             self.key("leave", t.key))

        await for_each(leavers, one, self.options.workers)
        return f"{len(leavers)} teachers left (retired, resigned, moved out of the province)"

    # ------------------------------------------------------------------ pending batch

    async def announce_pending(self) -> str:
        pending = [b for b in self.plan.batches if not b.applied]
        ops = 0
        for batch in pending:
            await self.services.orgsync.announce(batch_json(batch))
            ops += len(batch.operations)
        if not pending:
            return "none planned"
        return (f"{ops} restructurings announced, not applied (effective "
                f"{pending[0].effective_date})")

    # ------------------------------------------------------------------ catch-up

    async def catch_up(self) -> str:
        caught = await wait_caught_up(self.services, self.watch, self.progress,
                                      label="final catch-up",
                                      timeout=self.options.catch_up_timeout)
        self.result.caught_up = caught
        new_dead = caught.dead_letters - self.dead_letters_before
        if new_dead:
            self.result.notes.append(f"{new_dead} events were dead-lettered during the run")
        return f"all services caught up: {caught.events} events"

    async def _caught_up(self, label: str, only: Sequence[str]) -> CaughtUp:
        """Wait until `only` (service names) have caught up: a step waits for the services
        it depends on, not for reporting, which keeps counting meanwhile."""
        return await wait_caught_up(self.services, self.watch, self.progress, label=label,
                                    timeout=self.options.catch_up_timeout, only=only)


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"
