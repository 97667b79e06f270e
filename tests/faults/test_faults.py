"""Faults under load: a small province simulated through the public APIs while, one at a time,
the broker is killed, PostgreSQL is restarted, stopped or has its connections cut, and a
service is killed; afterwards reporting equals the plan exactly and the dead-letter topic is
empty (nothing acknowledged lost, nothing counted twice, nothing stalled). One case runs on a
three-broker cluster (replication 3, min.insync.replicas 2) and kills one broker.

No client saw a 500: the simulator retries only 502/503/504 and transport errors, any other
error answer ends its run (ApiError), so a run that completes had none.

Each scenario gets an empty slate (tests/e2e/province.py: topics recreated, a new database,
the four services started) and a province of about 300 teachers (data/), and causes its fault
as soon as the teachers are being entered. How long each took to recover is written to
bench/results/faults.json.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from deploy.local.kafka import broker_count
from shared import deadletters
from simulator.adapters.api import IntakeClient, OrgsyncClient, ServiceClient
from simulator.adapters.endpoints import service_token
from simulator.entrypoints.driver import DriverOptions, Outcome, build_plan, run_plan
from tests.e2e.province import Province, province_stack
from tests.faults.infra import Infra

pytestmark = [pytest.mark.integration, pytest.mark.faults]

PROFILE = Path(__file__).parent / "data" / "profile_tiny_province.csv"
RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results" / "faults.json"
SEED = 15
Fault = Callable[[Infra, Province, dict[str, Any]], Awaitable[None]]
measured: dict[str, dict[str, Any]] = {}


async def all_healthy(province: Province) -> bool:
    async with httpx.AsyncClient(trust_env=False, timeout=3) as client:
        for p in province.processes:
            try:
                if (await client.get(f"{p.url}/healthz")).status_code != 200:
                    return False
            except httpx.HTTPError:
                return False
    return True


async def wait_all_healthy(province: Province, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not await all_healthy(province):
        assert time.monotonic() < deadline, "services not healthy again in time"
        await asyncio.sleep(0.2)


async def intake_answer(province: Province) -> httpx.Response:
    async with httpx.AsyncClient(trust_env=False, timeout=30) as client:
        return await client.get(f"{province.endpoints.url('intake')}/v1/schools",
                                params={"limit": 1},
                                headers={"Authorization": f"Bearer {service_token()}"})


# --------------------------------------------------------------------------- the faults


def broker_killed_for(seconds: float) -> Fault:
    async def broker_killed(infra: Infra, province: Province, notes: dict[str, Any]) -> None:
        infra.kill_kafka()
        await asyncio.sleep(seconds)
        await asyncio.to_thread(infra.start_kafka)

    return broker_killed


async def postgres_restarted_immediately(infra: Infra, province: Province,
                                         notes: dict[str, Any]) -> None:
    await asyncio.to_thread(infra.restart_postgres_immediate)


async def connections_terminated(infra: Infra, province: Province,
                                 notes: dict[str, Any]) -> None:
    database = province.database_url.rsplit("/", 1)[1]
    notes["terminated"] = 0
    for _ in range(3):
        notes["terminated"] += await infra.terminate_backends(database)
        await asyncio.sleep(1.0)
    assert notes["terminated"] > 0


async def service_killed(infra: Infra, province: Province, notes: dict[str, Any]) -> None:
    infra.kill_service(province, "review")
    await asyncio.sleep(2)
    await infra.restart_service(province, "review")


async def postgres_stopped(infra: Infra, province: Province, notes: dict[str, Any]) -> None:
    """While PostgreSQL is down: services answer 503 + Retry-After, and a service started
    meanwhile waits for it instead of crashing."""
    await asyncio.to_thread(infra.stop_postgres)
    answer = await intake_answer(province)
    notes["answer_while_down"] = answer.status_code
    assert answer.status_code == 503, answer.text
    assert int(answer.headers["Retry-After"]) > 0
    infra.kill_service(province, "intake")
    restarted = await infra.restart_service(province, "intake", wait_healthy=False)
    await asyncio.sleep(6)
    assert restarted.process.poll() is None, f"intake gave up:\n{restarted.tail()}"
    await asyncio.to_thread(infra.start_postgres)
    deadline = time.monotonic() + 90
    while (answer := await _answer_or_none(province)) is None or answer.status_code != 200:
        assert time.monotonic() < deadline, "intake did not answer after PostgreSQL came back"
        await asyncio.sleep(0.3)


async def _answer_or_none(province: Province) -> httpx.Response | None:
    try:
        return await intake_answer(province)
    except httpx.HTTPError:
        return None


async def one_of_three_brokers_killed(infra: Infra, province: Province,
                                      notes: dict[str, Any]) -> None:
    """Broker 1 (a controller voter, leader of about a third of the partitions) is killed;
    the other two elect new leaders and keep acknowledging (two in sync suffice)."""
    infra.kill_broker(1)
    await asyncio.sleep(10)
    notes["brokers_while_down"] = await asyncio.to_thread(broker_count, infra.kafka_bootstrap)
    assert notes["brokers_while_down"] == 2
    await asyncio.to_thread(infra.start_broker, 1)


def killed_mid_request(service: str, client: type[ServiceClient], method: str) -> Fault:
    """`service` killed -9 in the middle of one of the simulator's calls of `client.method`
    (intake's POST /v1/imports, orgsync's POST /v1/batches/apply), then started again.

    To be sure the kill falls inside the request, the next such call waits until the test
    holds `<service>.events` in EXCLUSIVE mode (reads go on, writes wait); once a backend of
    the service waits on that lock, its transaction is open and the service is killed. The
    simulator's call retries and must find the request done exactly once."""

    async def fault(infra: Infra, province: Province, notes: dict[str, Any]) -> None:
        original = getattr(client, method)
        claimed, locked = asyncio.Event(), asyncio.Event()

        async def watched(self: ServiceClient, *args: Any, **kwargs: Any) -> Any:
            if not claimed.is_set():
                claimed.set()
                await locked.wait()
            return await original(self, *args, **kwargs)

        setattr(client, method, watched)
        try:
            await asyncio.wait_for(claimed.wait(), 300)
            conn = await asyncpg.connect(province.database_url)
            try:
                async with conn.transaction():
                    await conn.execute(f"LOCK TABLE {service}.events IN EXCLUSIVE MODE")
                    locked.set()
                    notes["writers_waiting_at_kill"] = await writers_waiting(
                        conn, f"{service}.events")
                    infra.kill_service(province, service)
            finally:
                locked.set()
                await conn.close()
        finally:
            setattr(client, method, original)
        await asyncio.sleep(1)
        await infra.restart_service(province, service)

    return fault


async def writers_waiting(conn: asyncpg.Connection, table: str, timeout: float = 60) -> int:
    """How many backends wait for a lock on `table`, once at least one does."""
    deadline = time.monotonic() + timeout
    while True:
        waiting: int = await conn.fetchval(
            "SELECT count(*) FROM pg_locks WHERE relation = $1::regclass AND NOT granted",
            table)
        if waiting:
            return waiting
        assert time.monotonic() < deadline, "no write reached the locked event store"
        await asyncio.sleep(0.02)


FAULTS: dict[str, Fault] = {
    "broker killed -9 for 10 s": broker_killed_for(10),
    "broker killed -9 for 60 s": broker_killed_for(60),
    "postgres pg_ctl restart -m immediate": postgres_restarted_immediately,
    "every connection pg_terminate_backend": connections_terminated,
    "review service killed -9 and restarted": service_killed,
    "intake killed -9 mid-import": killed_mid_request("intake", IntakeClient,
                                                      "import_teachers"),
    "orgsync killed -9 mid-apply": killed_mid_request("orgsync", OrgsyncClient, "apply"),
    "postgres stopped, 503 meanwhile, intake restarted while down": postgres_stopped,
}


# --------------------------------------------------------------------------- the runs


async def simulate_with(fault: Fault, infra: Infra, logs: Path
                        ) -> tuple[Outcome, deadletters.DeadLetters, dict[str, Any]]:
    notes: dict[str, Any] = {}
    async with province_stack(infra.kafka_bootstrap, infra.database_url, logs) as province:
        plan = build_plan(PROFILE, SEED)
        story: list[str] = []
        started = time.monotonic()
        run = asyncio.create_task(run_plan(
            plan, province.endpoints,
            DriverOptions(seed=SEED, concurrency=4, progress=False, catch_up_timeout=300),
            story.append))
        while not any(line.startswith("baselines:") for line in story):
            assert not run.done(), f"the run ended before the fault: {story}"
            await asyncio.sleep(0.1)
        caused = time.monotonic()
        await fault(infra, province, notes)
        undone = time.monotonic()
        await wait_all_healthy(province)
        healthy = time.monotonic()
        outcome = await asyncio.wait_for(run, 600)
        finished = time.monotonic()
        letters = await deadletters.read(infra.kafka_bootstrap)
    notes.update(fault_seconds=round(undone - caused, 1),
                 healthy_after_fault_s=round(healthy - undone, 1),
                 run_seconds=round(finished - started, 1),
                 run_after_fault_s=round(finished - undone, 1), story=story,
                 teachers=sum(s.registered for s in plan.schools))
    return outcome, letters, notes


def earlier_measurements() -> dict[str, Any]:
    """The cases of the results file that this run did not measure (a run of some cases, e.g.
    `-k three_brokers`, keeps the others' last figures)."""
    try:
        earlier: dict[str, Any] = json.loads(RESULTS.read_text(encoding="utf-8"))["faults"]
    except (OSError, ValueError, KeyError):
        return {}
    return {name: figures for name, figures in earlier.items() if name not in measured}


@pytest.fixture(scope="module", autouse=True)
def record_measurements():
    yield
    if measured:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        faults = earlier_measurements() | measured
        RESULTS.write_text(json.dumps({
            "bench": "faults", "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "profile": str(PROFILE.relative_to(RESULTS.parents[2])), "seed": SEED,
            "machine": {"cpus": os.cpu_count(),
                        "loadavg_1m_at_end": round(os.getloadavg()[0], 2)},
            "faults": faults}, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


async def assert_reported_exactly_through(name: str, fault: Fault, infra: Infra, logs: Path,
                                          **facts: Any) -> None:
    """Simulate through `fault`, record how it went, and require the exact report and not one
    dead letter."""
    outcome, letters, notes = await simulate_with(fault, infra, logs)
    failed = [f"{c.name}: {c.detail}" for c in (outcome.verdict.checks if outcome.verdict
                                                 else []) if not c.ok]
    measured[name] = {k: v for k, v in notes.items() if k != "story"} | facts | {
        "reported_exactly": outcome.ok, "dead_letters": len(letters.letters)}
    assert outcome.verdict is not None and outcome.ok, failed
    assert [d.reason for d in letters.letters] == []


@pytest.mark.parametrize("name", list(FAULTS))
async def test_a_province_simulated_through_a_fault_is_reported_exactly_with_no_dead_letter(
        name: str, infra: Infra, tmp_path: Path) -> None:
    await assert_reported_exactly_through(name, FAULTS[name], infra, tmp_path / "logs")


CLUSTER_FAULTS: dict[str, Fault] = {
    "one of three brokers killed -9 for 10 s": one_of_three_brokers_killed,
}


@pytest.mark.parametrize("name", list(CLUSTER_FAULTS))
async def test_a_province_simulated_on_three_brokers_through_a_fault_is_reported_exactly(
        name: str, cluster_infra: Infra, tmp_path: Path) -> None:
    await assert_reported_exactly_through(name, CLUSTER_FAULTS[name], cluster_infra,
                                          tmp_path / "logs", brokers=3)
