"""``tmis replay <service>``: drop a service's projections and rebuild them from the log.

Each service that can be replayed registers its program in ``REPLAYERS`` as
``"module:function"``; the function takes the remaining command-line arguments and returns an
exit code. To add one (e.g. reporting), add a line to ``REPLAYERS``: nothing else changes.

The programs read TMIS_DATABASE_URL and TMIS_KAFKA_BOOTSTRAP; when they are not set, the
values of the local stack (``.tmis/stack.json``, or ``$TMIS_HOME/stack.json``) are used.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tmis_cli import CliError

REPLAYERS: dict[str, str] = {
    "review": "services.review.entrypoints.replay:main",
    "reporting": "services.reporting.entrypoints.replay:main",
}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "replay", help="drop a service's projections and rebuild them from the log",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("service", choices=sorted(REPLAYERS), help="the service to rebuild")
    parser.add_argument("args", nargs=argparse.REMAINDER,
                        help="options of the service's replay (see: tmis replay SERVICE -h)")
    parser.set_defaults(func=_replay)


def _replay(args: argparse.Namespace) -> int:
    program = _program(REPLAYERS[args.service])
    _stack_defaults()
    return int(program(list(args.args)) or 0)


def _program(target: str) -> Callable[[Sequence[str]], int]:
    module_name, _, func = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise CliError(f"cannot load {module_name}: {exc}") from exc
    program: Callable[[Sequence[str]], int] = getattr(module, func)
    return program


def _stack_defaults() -> None:
    """Fill TMIS_DATABASE_URL / TMIS_KAFKA_BOOTSTRAP from the local stack when unset."""
    if os.environ.get("TMIS_DATABASE_URL") and os.environ.get("TMIS_KAFKA_BOOTSTRAP"):
        return
    home = os.environ.get("TMIS_HOME")
    state = Path(home).expanduser() if home else Path(__file__).resolve().parents[2] / ".tmis"
    try:
        doc = json.loads((state / "stack.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    kafka, pg = doc.get("kafka") or {}, doc.get("postgres") or {}
    if kafka.get("bootstrap"):
        os.environ.setdefault("TMIS_KAFKA_BOOTSTRAP", kafka["bootstrap"])
    if pg.get("url"):
        os.environ.setdefault("TMIS_DATABASE_URL", pg["url"])
