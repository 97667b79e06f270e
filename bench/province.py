"""The notice province end to end: first submission -> every report correct.

    .venv/bin/python bench/province.py [--profile STAGE_TABLE.csv] [--seed N] [--keep]

Starts a stack of its own (`tmis up --fresh` in a temporary TMIS_HOME, so someone's own
`tmis up` is left alone), plays the whole profile through the services' public APIs with the
simulator's driver (the code path of `tmis simulate` / `tmis demo`), waits until every service
has applied every event, checks reporting against the plan, and writes
bench/results/province.json: the time of each step, the events on the internal topics, and
events/s over the whole run. The stack is stopped and deleted at the end unless --keep.

A measurement, not a test: a failed verification is recorded (and exits 1), never hidden.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"


def machine() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "python": sys.version.split()[0],
            "loadavg_1m": round(os.getloadavg()[0], 2)}


def main() -> int:
    sys.path.insert(0, str(REPO))
    from deploy.local import stack
    from simulator.domain.profile import NOTICE_PROFILE_PATH
    from simulator.entrypoints.driver import DriverError, DriverOptions, simulate
    from tmis_cli.main import local_kafka_credentials

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", type=Path, default=NOTICE_PROFILE_PATH)
    parser.add_argument("--seed", type=int, default=2017)
    parser.add_argument("--concurrency", type=int, default=6)
    parser.add_argument("--keep", action="store_true", help="leave the stack up (its "
                        "TMIS_HOME is printed)")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="tmis-bench-province-"))
    os.environ["TMIS_HOME"] = str(home)
    for name in ("TMIS_KAFKA_BOOTSTRAP", "TMIS_DATABASE_URL"):
        os.environ.pop(name, None)  # the driver must find this stack, not another one
    before = machine()
    started = time.perf_counter()
    record: dict[str, Any] = {"bench": "province", "when": datetime.now(UTC).isoformat(
        timespec="seconds"), "command": "python bench/province.py "
        + " ".join(sys.argv[1:]), "profile": str(args.profile), "seed": args.seed,
        "concurrency": args.concurrency}
    code = 1
    try:
        stack.up(fresh=True, state_dir=home)  # secure by default, like `make demo`
        local_kafka_credentials()  # connect as its admin, as `tmis simulate` does
        stack_seconds = time.perf_counter() - started
        try:
            outcome = simulate(args.profile, DriverOptions(seed=args.seed,
                                                           concurrency=args.concurrency))
        except DriverError as exc:
            record["error"] = str(exc)
            print(f"bench province: {exc}", file=sys.stderr)
        else:
            run_seconds = sum(s for name, s in outcome.timings if name != "verify")
            caught = outcome.result.caught_up
            events = caught.events if caught else None
            record.update({
                "stack_up_seconds": round(stack_seconds, 1),
                "schools": len(outcome.plan.schools),
                "teachers": sum(s.registered for s in outcome.plan.schools),
                "steps": {name: round(s, 1) for name, s in outcome.timings},
                "seconds": round(run_seconds, 1),
                "events": events,
                "dead_letters": caught.dead_letters if caught else None,
                "events_per_s": round(events / run_seconds, 1) if events else None,
                "verified": outcome.ok,
                "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail}
                           for c in (outcome.verdict.checks if outcome.verdict else [])],
            })
            code = 0 if outcome.ok else 1
    finally:
        record["machine"] = {**before, "loadavg_1m_after": round(os.getloadavg()[0], 2)}
        record["wall_seconds"] = round(time.perf_counter() - started, 1)
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "province.json").write_text(json.dumps(record, ensure_ascii=False, indent=2)
                                               + "\n", encoding="utf-8")
        if args.keep:
            print(f"the stack stays up: TMIS_HOME={home} .venv/bin/tmis down")
        else:
            stack.stop_infra(home, delete=True)
    print(f"wrote {RESULTS / 'province.json'}")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
