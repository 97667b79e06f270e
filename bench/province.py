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
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"


def main() -> int:
    sys.path.insert(0, str(REPO))
    from deploy.local import stack
    from simulator.domain.profile import NOTICE_PROFILE_PATH
    from simulator.entrypoints.driver import (
        DriverError,
        DriverOptions,
        measurement,
        simulate,
        write_measurement,
    )
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
    load_at_start = round(os.getloadavg()[0], 2)
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
        options = DriverOptions(seed=args.seed, concurrency=args.concurrency)
        try:
            outcome = simulate(args.profile, options)
        except DriverError as exc:
            record["error"] = str(exc)
            print(f"bench province: {exc}", file=sys.stderr)
        else:
            record.update(measurement(outcome, args.profile, options, record["command"]))
            record["stack_up_seconds"] = round(stack_seconds, 1)
            code = 0 if outcome.ok else 1
    finally:
        record["machine"] = {**record.get("machine", {}), "loadavg_1m_at_start": load_at_start}
        record["wall_seconds"] = round(time.perf_counter() - started, 1)
        RESULTS.mkdir(parents=True, exist_ok=True)
        write_measurement(RESULTS / "province.json", record)
        if args.keep:
            print(f"the stack stays up: TMIS_HOME={home} .venv/bin/tmis down")
        else:
            stack.stop_infra(home, delete=True)
    print(f"wrote {RESULTS / 'province.json'}")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
