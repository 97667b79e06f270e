"""``tmis demo``: the notice (甘教师〔2017〕5号) reproduced on the running stack.

Simulates shared/data/notice_2017_stage_table.csv with seed 2017 (`tmis simulate`), then prints
the stage table and the findings the way the notice words them, from reporting as of
2017-04-07, the time each step took, and the dashboard's URL. It ends; the stack stays up
(`tmis down` stops it). `make demo` runs `tmis up --fresh` first: the demo needs an empty stack.
"""

from __future__ import annotations

import argparse
from typing import Any

from tmis_cli import CliError
from tmis_cli.commands.report import dashboard_url
from tmis_cli.commands.simulate import add_run_options, record

SEED = 2017


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo", help="reproduce the 2017 notice on the running stack (empty: tmis up --fresh)",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_run_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from simulator.domain.profile import NOTICE_PROFILE_PATH
    from simulator.entrypoints.driver import DriverError, DriverOptions, simulate
    from simulator.entrypoints.notice import findings_text, stage_table, timings_text

    options = DriverOptions(seed=SEED, concurrency=args.concurrency, progress=args.progress)
    try:
        outcome = simulate(NOTICE_PROFILE_PATH, options)
    except DriverError as exc:
        raise CliError(str(exc)) from exc
    record(args, NOTICE_PROFILE_PATH, options, outcome)
    verdict = outcome.verdict
    assert verdict is not None and outcome.endpoints is not None
    day, year = outcome.plan.reference_date, outcome.plan.reference_date.year - 1
    lines = ["", *stage_table(verdict.stages, day, year), "",
             *findings_text(verdict, day, year), "", *timings_text(outcome.timings), "",
             f"仪表盘 (dashboard, 登录后查看): {_dashboard()}",
             "the stack stays up: `tmis down` stops it"]
    print("\n".join(lines))
    return 0 if outcome.ok else 1


def _dashboard() -> str:
    try:
        return dashboard_url()
    except CliError:
        return "the web front's /dashboard (`tmis status` prints TMIS_WEB_URL)"
