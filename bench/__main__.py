"""`make bench`: run every benchmark on ONE throwaway Kafka + PostgreSQL, then write
bench/results/SUMMARY.md with each figure and its ratio to the machine's own limits (Kafka's
producer and consumer perf tools, PostgreSQL COPY) measured in the same run on the same broker
and server.

    .venv/bin/python -m bench [--only machine,intake,...] [--quick] [--province]

--quick runs smaller sizes (a smoke run, minutes); --province also runs the whole notice
province end to end through `tmis up` + `tmis simulate` (tens of minutes). Benchmarks are
measurements, never tests: nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
PY = sys.executable

# name -> (script, full-size arguments, quick arguments)
BENCHES: dict[str, tuple[str, list[str], list[str]]] = {
    "machine": ("bench/machine.py", ["--records", "200000"], ["--records", "30000"]),
    "intake": ("bench/intake_submissions.py", [], ["--seconds", "8", "--rows", "5000"]),
    "review": ("bench/review_throughput.py", ["--label", "after"],
               ["--label", "after", "--teachers", "10000"]),
    "review_lag": ("bench/review_lag.py", [], ["--seconds", "15"]),
    "reporting": ("bench/reporting_throughput.py", ["--label", "after"],
                  ["--label", "after", "--schools", "500", "--teachers", "10000"]),
    "reporting_asof": ("bench/reporting_asof.py", [], ["--runs", "2"]),
    "orgsync": ("bench/orgsync_batch.py", [], ["--repeat", "1"]),
}


# The JSON file each bench writes in bench/results/, stamped with the run's durability.
OUTPUTS = {"machine": "machine", "intake": "intake", "review": "review_throughput",
           "review_lag": "review", "reporting": "reporting_throughput",
           "reporting_asof": "reporting", "orgsync": "orgsync"}


def durability(database_url: str) -> dict[str, Any]:
    """The settings the server reports (not what we asked for), and the bus's."""
    import asyncpg

    async def read() -> dict[str, str]:
        conn = await asyncpg.connect(database_url)
        try:
            rows = await conn.fetch("SELECT name, setting FROM pg_settings WHERE name = ANY($1)",
                                    ["fsync", "synchronous_commit", "full_page_writes"])
            return {r["name"]: r["setting"] for r in rows}
        finally:
            await conn.close()

    return {"postgres": asyncio.run(read()),
            "kafka": {"acks": "all", "idempotent_producer": True, "brokers": 1,
                      "replication_factor": 1}}


def stamp(name: str, settings: dict[str, Any]) -> None:
    """Every record says the durability it ran under (a bench may already have written it)."""
    path = RESULTS / f"{OUTPUTS.get(name, name)}.json"
    if not path.exists():
        return
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, dict) and "durability" not in data:
        data["durability"] = settings
        path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n",
                        encoding="utf-8")


def run(name: str, quick: bool, env: dict[str, str]) -> tuple[int, float]:
    script, full, small = BENCHES[name]
    started = time.perf_counter()
    print(f"\n=== bench {name}: {script} {' '.join(small if quick else full)}", flush=True)
    done = subprocess.run([PY, script, *(small if quick else full)], cwd=REPO, env=env,
                          check=False)
    return done.returncode, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated subset of: "
                        + ", ".join(BENCHES))
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--province", action="store_true")
    args = parser.parse_args()
    names = [n for n in args.only.split(",") if n] or list(BENCHES)
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        parser.error(f"unknown bench: {', '.join(unknown)}")
    sys.path.insert(0, str(REPO))
    from bench.summary import write_summary
    from deploy.local.stack import start_infra, stop_infra

    outcomes: dict[str, tuple[int, float]] = {}
    with tempfile.TemporaryDirectory(prefix="tmis-bench-") as tmp:
        state = Path(tmp) / "stack"
        bootstrap, database_url = start_infra(state)
        env = {**os.environ, "TMIS_KAFKA_BOOTSTRAP": bootstrap,
               "TMIS_DATABASE_URL": database_url}
        settings = durability(database_url)
        print(f"durability: {settings}", flush=True)
        try:
            for name in names:
                outcomes[name] = run(name, args.quick, env)
                if outcomes[name][0] == 0:
                    stamp(name, settings)
        finally:
            stop_infra(state, delete=True)
    if args.province:
        started = time.perf_counter()
        done = subprocess.run([PY, "bench/province.py"], cwd=REPO, check=False)
        outcomes["province"] = (done.returncode, time.perf_counter() - started)
    path = write_summary(RESULTS, outcomes, quick=args.quick)
    print(f"\nwrote {path}")
    failed = [n for n, (code, _) in outcomes.items() if code != 0]
    if failed:
        print(f"benches that failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
