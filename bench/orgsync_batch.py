"""Bench: plan and apply a quarter's restructuring batch (400 operations, 10,000 teachers).

    .venv/bin/python bench/orgsync_batch.py [--merges 300 --closes 50 ...] [--repeat 3]

Uses the stack of TMIS_KAFKA_BOOTSTRAP / TMIS_DATABASE_URL when both are set, else starts a
throwaway local Kafka + PostgreSQL (deploy.local.stack.start_infra) and removes it afterwards.
Orgsync runs in-process (its real runtime: pool, relay, projection), driven over its HTTP API
through ASGI. The registry is registered through an intake-like event store whose relay
publishes to the real intake topics, and loaded by orgsync's projection before timing starts.

Measured: registry follow (10k+ intake events -> orgsync's view), plan (best and median of
--repeat), apply, apply -> RestructuringBatchApplied readable on Kafka, and the repeat apply
(a no-op). "Until reporting reflects it" needs the reporting service, which is not in this
bench yet (reported as null). Results go to bench/results/orgsync.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from services.orgsync.bootstrap import SPEC  # noqa: E402
from shared.contracts.topics import topic_for_category  # noqa: E402
from shared.settings import Settings  # noqa: E402
from tests.integration.kafka_tools import read_topic  # noqa: E402
from tests.integration.test_orgsync_scenario import (  # noqa: E402
    FakeIntake,
    build_scenario,
    followed,
)
from tests.support import eventually, running_service  # noqa: E402

RESULTS = REPO / "bench" / "results" / "orgsync.json"
CSV = {"content-type": "text/csv"}


async def bench(bootstrap: str, database_url: str, opts: argparse.Namespace) -> dict[str, Any]:
    settings = Settings(kafka_bootstrap=bootstrap, database_url=database_url, env="test",
                        log_level="WARNING")
    scenario = build_scenario(merges=opts.merges, closes=opts.closes, opens=opts.opens,
                              per_merged=opts.per_merged, per_closed=opts.per_closed, seed=7)
    timings: dict[str, Any] = {}
    intake = await FakeIntake(settings).start()
    try:
        async with running_service(SPEC, settings,
                                   schema=f"orgsync_b{uuid4().hex[:8]}") as svc:
            schema = svc.runtime.store.schema
            started = time.perf_counter()
            await intake.register(scenario)
            await eventually(lambda: followed(svc.runtime.pool, schema, scenario),
                             lambda n: n == len(scenario.teachers), timeout=900, interval=0.2)
            timings["registry_follow_s"] = round(time.perf_counter() - started, 3)

            auth = {**svc.auth("service"), **CSV}
            body = scenario.csv()
            plans = []
            for _ in range(opts.repeat):
                t0 = time.perf_counter()
                response = await svc.client.post("/v1/batches/plan", content=body, headers=auth)
                plans.append(time.perf_counter() - t0)
                doc = response.json()
                assert response.status_code == 200 and doc["ok"], doc.get("problems", [])[:3]
            timings["plan_best_s"] = round(min(plans), 3)
            timings["plan_median_s"] = round(statistics.median(plans), 3)

            t0 = time.perf_counter()
            applied = await svc.client.post("/v1/batches/apply", content=body, headers=auth)
            timings["apply_s"] = round(time.perf_counter() - t0, 3)
            assert applied.status_code == 200, applied.text
            assert applied.json()["outcome"] == "applied"
            found = await read_topic(
                bootstrap, topic_for_category("restructuring"), expect=1, timeout=120,
                keep=lambda e: e.stream_id == f"batch-{scenario.batch_id}")
            timings["apply_to_kafka_s"] = round(time.perf_counter() - t0, 3)
            assert len(found) == 1

            t0 = time.perf_counter()
            again = await svc.client.post("/v1/batches/apply", content=body, headers=auth)
            timings["repeat_apply_s"] = round(time.perf_counter() - t0, 3)
            assert again.json()["outcome"] == "already_applied"
            timings["apply_to_reporting_s"] = None
    finally:
        await intake.stop()
    return {
        "bench": "orgsync_batch",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform()},
        "batch": {"operations": len(scenario.rows), "teachers_to_move":
                  scenario.teachers_to_move, "registry_schools": len(scenario.schools),
                  "registry_teachers": len(scenario.teachers), "repeat": opts.repeat},
        "timings": timings,
        "notes": ["in-process ASGI calls: no network hop to orgsync",
                  "apply_to_kafka_s: from the apply request until the Applied event was read "
                  "back from Kafka (includes the reader's start-up)",
                  "apply_to_reporting_s: null until the reporting service exists"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--merges", type=int, default=300)
    parser.add_argument("--closes", type=int, default=50)
    parser.add_argument("--opens", type=int, default=20)
    parser.add_argument("--per-merged", type=int, default=25)
    parser.add_argument("--per-closed", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    opts = parser.parse_args()
    bootstrap, database_url = (os.environ.get("TMIS_KAFKA_BOOTSTRAP"),
                               os.environ.get("TMIS_DATABASE_URL"))
    state_dir: Path | None = None
    if not (bootstrap and database_url):
        from deploy.local.stack import start_infra

        state_dir = Path(tempfile.mkdtemp(prefix="tmis-bench-"))
        state_dir.chmod(0o755)  # as root, PostgreSQL runs as `postgres` and must traverse it
        bootstrap, database_url = start_infra(state_dir)
    try:
        result = asyncio.run(bench(bootstrap, database_url, opts))
    finally:
        if state_dir is not None:
            from deploy.local.stack import stop_infra

            stop_infra(state_dir, delete=True)
            shutil.rmtree(state_dir, ignore_errors=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    print(json.dumps(result["timings"], indent=2))
    print(f"written to {RESULTS.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
