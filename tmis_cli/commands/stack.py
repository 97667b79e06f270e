"""``tmis up [--fresh] [--brokers 3]``, ``tmis down``, ``tmis status``: the local stack.

The work is done by ``deploy.local.stack``; this module only parses and translates its
``StackError`` into a ``CliError``.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from tmis_cli import CliError


def register(subparsers: Any) -> None:
    up = subparsers.add_parser(
        "up", help="start Kafka, PostgreSQL and the services locally (no Docker)"
    )
    up.add_argument(
        "--fresh", action="store_true", help="stop everything and delete data and logs first"
    )
    up.add_argument(
        "--infra-only",
        action="store_true",
        help="start Kafka and PostgreSQL only (run the services yourself, e.g. from an IDE)",
    )
    up.add_argument(
        "--brokers",
        type=int,
        choices=(1, 3),
        default=None,
        help="Kafka brokers: 3 runs a KRaft cluster on this machine (replication 3, "
        "min.insync.replicas 2, without SASL); default: what the stack has, else 1",
    )
    mode = up.add_mutually_exclusive_group()
    mode.add_argument(
        "--secure",
        dest="secure",
        action="store_const",
        const=True,
        help="Kafka with SASL/SCRAM and ACLs, one principal per service: the default for a "
        "new stack (TMIS_KAFKA_SECURITY=sasl)",
    )
    mode.add_argument(
        "--insecure",
        dest="secure",
        action="store_const",
        const=False,
        help="Kafka without authentication, for debugging (TMIS_KAFKA_SECURITY=plaintext)",
    )
    up.set_defaults(func=_up)
    down = subparsers.add_parser("down", help="stop the local stack (data is kept)")
    down.set_defaults(func=_down)
    status = subparsers.add_parser(
        "status", help="show what runs and print TMIS_* connection settings (exit 1 if unhealthy)"
    )
    status.set_defaults(func=_status)


def _stack() -> ModuleType:
    """``deploy.local.stack``, imported only when a stack command runs (it is heavy)."""
    import deploy.local.stack as stack

    return stack


@contextmanager
def _stack_errors(stack: ModuleType) -> Iterator[None]:
    try:
        yield
    except stack.StackError as exc:
        raise CliError(str(exc)) from exc


def _up(args: argparse.Namespace) -> int:
    stack = _stack()
    with _stack_errors(stack):
        stack.up(fresh=args.fresh, with_services=not args.infra_only, secure=args.secure,
                 brokers=args.brokers)
    return 0


def _down(args: argparse.Namespace) -> int:
    stack = _stack()
    with _stack_errors(stack):
        stack.down()
    return 0


def _status(args: argparse.Namespace) -> int:
    stack = _stack()
    with _stack_errors(stack):
        healthy: bool = stack.status()
    return 0 if healthy else 1
