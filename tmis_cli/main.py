"""``tmis``: the entry point that gathers the subcommands of ``tmis_cli/commands/``.

Modules are listed explicitly (order = order in ``--help``); one that is not written yet is
skipped, so engineers can add commands independently.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import MutableMapping, Sequence
from types import ModuleType

from tmis_cli import CliError

COMMAND_MODULES = [
    "stack",
    "contracts",
    "intake",  # tmis token, tmis import
    "account",  # tmis account create|list|disable|enable|reset-password|handover|audit
    "orgsync",
    "report",
    "baseline",
    "replay",
    "agency",  # tmis agency add NAME (secure stack)
    "deadletter",  # tmis deadletter list|show|redrive
    "simulate",
    "demo",
]


STACK_COMMANDS = ("up", "down", "status")


def _load(name: str) -> ModuleType | None:
    """The command module, or None when it does not exist yet (a broken one still raises)."""
    qualified = f"tmis_cli.commands.{name}"
    try:
        return importlib.import_module(qualified)
    except ModuleNotFoundError as exc:
        if exc.name == qualified:
            return None
        raise


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tmis", description="Teacher management information system: local tools."
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        module = _load(name)
        if module is not None:
            module.register(subparsers)
    return parser


def local_kafka_credentials(environ: MutableMapping[str, str] = os.environ) -> None:
    """Connect as the local stack's Kafka admin when that stack is secure (the default of
    `tmis up`) and nobody said otherwise: no TMIS_KAFKA_USERNAME given, and TMIS_KAFKA_BOOTSTRAP
    unset or naming that stack's broker."""
    if environ.get("TMIS_KAFKA_USERNAME"):
        return
    from deploy.local import kafka_security
    from deploy.local.stack import default_state_dir
    from deploy.local.state import load

    state_dir = default_state_dir(environ)
    if not kafka_security.is_secure(state_dir):
        return
    state = load(state_dir)
    given = environ.get("TMIS_KAFKA_BOOTSTRAP")
    if given and (state.kafka is None or given != state.kafka.bootstrap):
        return
    environ.update(kafka_security.admin_env(state_dir))


def main(argv: Sequence[str] | None = None) -> int:
    """Parse, dispatch, and turn expected failures into one line on stderr and exit 1."""
    args = build_parser().parse_args(argv)
    if args.command not in STACK_COMMANDS:  # those manage the stack (and its secrets) itself
        local_kafka_credentials()
    try:
        code = args.func(args)
    except CliError as exc:
        print(f"tmis: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("tmis: interrupted", file=sys.stderr)
        return 130
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
