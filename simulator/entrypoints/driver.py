"""`tmis simulate` end to end: read the profile, plan, play the plan through the services,
wait for every service to catch up, verify what reporting shows, and say how long it all took.

Failures a person can act on (no stack, a malformed profile, a service refusing a step) come
back as `DriverError` with one readable message; `tmis_cli` prints it and exits 1.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from aiokafka.errors import KafkaError

from shared.settings import Settings
from simulator.adapters.api import ApiError, Services
from simulator.adapters.endpoints import Endpoints, EndpointsUnknown, locate, service_token
from simulator.adapters.files import TemplateChanged
from simulator.adapters.kafka_watch import KafkaWatch
from simulator.adapters.progress import ProgressFactory, bars, silent
from simulator.domain.layout import PlanError
from simulator.domain.model import ProvincePlan
from simulator.domain.plan import expected_outcome, plan_province
from simulator.domain.profile import ProfileError, load_profile
from simulator.service_layer.catchup import NotCaughtUp
from simulator.service_layer.run import RunOptions, RunResult, Simulation, SimulationFailed
from simulator.service_layer.schedule import CST
from simulator.service_layer.verify import PENDING_NOTE, Verdict, verify


class DriverError(RuntimeError):
    """What stopped the run, in one message."""


@dataclass
class Outcome:
    plan: ProvincePlan
    result: RunResult
    verdict: Verdict | None
    timings: list[tuple[str, float]] = field(default_factory=list)  # incl. plan and verify
    endpoints: Endpoints | None = None

    @property
    def ok(self) -> bool:
        return self.verdict is None or self.verdict.ok


@dataclass(frozen=True)
class DriverOptions:
    seed: int = 2017
    concurrency: int = 6
    verify: bool = True
    progress: bool = True
    catch_up_timeout: float = 6 * 3600


def build_plan(profile_path: Path, seed: int) -> ProvincePlan:
    try:
        return plan_province(load_profile(profile_path), seed)
    except OSError as exc:
        raise DriverError(f"cannot read the profile {profile_path}: {exc}") from exc
    except (ProfileError, PlanError) as exc:
        raise DriverError(str(exc)) from exc


async def run_plan(plan: ProvincePlan, endpoints: Endpoints, options: DriverOptions,
                   say: Callable[[str], None], settings: Settings | None = None) -> Outcome:
    progress: ProgressFactory = bars() if options.progress else silent
    services = Services.connect(endpoints, service_token(settings), options.concurrency)
    watch = KafkaWatch(endpoints.kafka_bootstrap)
    try:
        try:
            await watch.start()
        except KafkaError as exc:
            raise DriverError(f"cannot reach Kafka at {endpoints.kafka_bootstrap}: {exc}") \
                from exc
        sim = Simulation(plan, services, watch, progress, say,
                         RunOptions(workers=options.concurrency,
                                    catch_up_timeout=options.catch_up_timeout))
        try:
            result = await sim.run()
        except (ApiError, SimulationFailed, NotCaughtUp, TemplateChanged) as exc:
            raise DriverError(str(exc)) from exc
        outcome = Outcome(plan, result, None, [(t.name, t.seconds) for t in result.timings],
                          endpoints)
        if options.verify:
            started = time.monotonic()
            try:
                outcome.verdict = await verify(plan, expected_outcome(plan), services.reporting,
                                               datetime.now(CST).date())
            except ApiError as exc:
                raise DriverError(str(exc)) from exc
            outcome.timings.append(("verify", time.monotonic() - started))
    finally:
        await services.close()
        await watch.close()
    return outcome


def simulate(profile_path: Path, options: DriverOptions, out: TextIO | None = None,
             settings: Settings | None = None) -> Outcome:
    """Plan and run `profile_path` against the running stack; print the story and the
    verdict. The caller decides the exit code from `Outcome.ok`."""
    stream = out or sys.stdout

    def say(line: str) -> None:
        print(line, file=stream, flush=True)

    started = time.monotonic()
    plan = build_plan(profile_path, options.seed)
    planned = time.monotonic() - started
    say(f"planned {profile_path.name} with seed {options.seed} in {planned:.1f}s: "
        f"{len(plan.schools)} schools, {sum(s.registered for s in plan.schools)} teachers")
    try:
        endpoints = locate()
    except EndpointsUnknown as exc:
        raise DriverError(str(exc)) from exc
    outcome = asyncio.run(run_plan(plan, endpoints, options, say, settings))
    outcome.timings.insert(0, ("plan", planned))
    report(outcome, say)
    return outcome


def measurement(outcome: Outcome, profile_path: Path, options: DriverOptions,
                command: str) -> dict[str, Any]:
    """The run as a benchmark record (bench/results/province.json): first submission to every
    report correct, per step, with the events the services exchanged."""
    run_seconds = sum(s for name, s in outcome.timings if name not in ("plan", "verify"))
    caught = outcome.result.caught_up
    events = caught.events if caught else None
    return {
        "bench": "province", "command": command,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "profile": str(profile_path), "seed": options.seed, "concurrency": options.concurrency,
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0],
                    "loadavg_1m_at_end": round(os.getloadavg()[0], 2)},
        "schools": len(outcome.plan.schools),
        "teachers": sum(s.registered for s in outcome.plan.schools),
        "steps": {name: round(s, 1) for name, s in outcome.timings},
        "seconds": round(run_seconds, 1),
        "events": events,
        "dead_letters": caught.dead_letters if caught else None,
        "events_per_s": round(events / run_seconds, 1) if events and run_seconds else None,
        "verified": outcome.ok if outcome.verdict is not None else None,
        "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail}
                   for c in (outcome.verdict.checks if outcome.verdict else [])],
    }


def write_measurement(path: Path, record: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def report(outcome: Outcome, say: Callable[[str], None]) -> None:
    caught = outcome.result.caught_up
    if caught is not None:
        say(f"all services caught up: {caught.events} events")
    for note in outcome.result.notes:
        say(f"note: {note}")
    v = outcome.verdict
    if v is not None:
        say("")
        say("verification against the plan (expected_outcome):")
        for check in v.checks:
            say(f"  {'ok  ' if check.ok else 'DIFF'} {check.name}: {check.detail}")
        say(f"  note: {PENDING_NOTE}")
        if not v.ok:
            say("")
            say("reporting's stage table as of the reference date (CSV):")
            say(v.stage_csv.rstrip())
    say("")
    say("timings:")
    total = 0.0
    for name, seconds in outcome.timings:
        total += seconds
        say(f"  {name:<16} {_duration(seconds):>10}")
    say(f"  {'total':<16} {_duration(total):>10}")


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, s = divmod(int(seconds), 60)
    return f"{minutes // 60}h{minutes % 60:02d}m{s:02d}s" if minutes >= 60 else \
        f"{minutes}m{s:02d}s"
