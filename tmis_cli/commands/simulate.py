"""``tmis simulate --profile STAGE_TABLE.csv [--seed N]``: a whole synthetic province through
the services' public HTTP APIs, then a check that reporting shows exactly the profile.

    tmis simulate --profile shared/data/notice_2017_stage_table.csv --seed 2017
    tmis simulate --profile my_table.csv --concurrency 4 --no-verify
    tmis simulate --profile my_table.csv --record bench/results/province.json   # timings as JSON

The profile is a stage table in the notice's CSV format (blanks, entered above annual, a stage
with nothing entered and a total row that does not add up are all fine). The run is
deterministic for a seed, backdated so that the report as of 2017-04-07 is the province, needs
an empty stack (`tmis up --fresh`), and returns once every service has caught up with every
event. Exit 0 when reporting's stage table (and findings) equal the plan, 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from tmis_cli import CliError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "simulate", help="build a synthetic province from a stage-table profile, through the "
                         "public APIs, and check the reports", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_run_options(parser)
    parser.add_argument("--profile", type=Path, required=True, metavar="STAGE_TABLE.csv",
                        help="the stage table to reproduce (the notice's CSV columns)")
    parser.add_argument("--seed", type=int, default=2017, help="the province's seed "
                                                               "(default 2017)")
    parser.add_argument("--no-verify", dest="verify", action="store_false",
                        help="do not compare reporting's tables with the plan afterwards")
    parser.set_defaults(func=run)


def add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--concurrency", type=_positive, default=6,
                        help="requests in flight at once (default 6, for a 2-core machine)")
    parser.add_argument("--no-progress", dest="progress", action="store_false",
                        help="no progress bars on stderr")
    parser.add_argument("--record", type=Path, metavar="FILE.json",
                        help="also write the run's timings and event counts as a benchmark "
                             "record (bench/results/province.json's format)")


def _positive(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def run(args: argparse.Namespace) -> int:
    from simulator.entrypoints.driver import DriverError, DriverOptions, simulate

    options = DriverOptions(seed=args.seed, concurrency=args.concurrency, verify=args.verify,
                            progress=args.progress)
    try:
        outcome = simulate(args.profile, options)
    except DriverError as exc:
        raise CliError(str(exc)) from exc
    record(args, args.profile, options, outcome)
    return 0 if outcome.ok else 1


def record(args: argparse.Namespace, profile: Path, options: Any, outcome: Any) -> None:
    if args.record is not None:
        from simulator.entrypoints.driver import measurement, write_measurement

        write_measurement(args.record, measurement(outcome, profile, options,
                                                   "tmis " + " ".join(sys.argv[1:])))
        print(f"wrote {args.record}")
