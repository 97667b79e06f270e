"""``tmis agency add NAME`` / ``tmis agency list``: subscribing agencies on the secure local
stack (``tmis up``, secure by default).

``add`` creates the SCRAM principal ``agency-NAME`` and its ACLs (read and describe the
``tmis.public.*`` topics, consumer groups ``agency-NAME.*`` only) on the running broker and
prints the connection settings to hand to the agency. Running it again for the same name prints
the same settings (the password is kept) and re-applies the ACLs.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tmis_cli import CliError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("agency", help="agencies that subscribe to the public events "
                                                  "(secure stack only)")
    sub = parser.add_subparsers(dest="agency_command", metavar="ACTION", required=True)
    add = sub.add_parser("add", help="create an agency's Kafka principal and ACLs; print its "
                                     "connection settings")
    add.add_argument("name", help="lower-case letters, digits and '-', e.g. finance")
    add.add_argument("--state-dir", type=Path, default=None,
                     help="the stack's state dir (default: $TMIS_HOME or <repo>/.tmis)")
    add.set_defaults(func=_add)
    listing = sub.add_parser("list", help="the agencies created so far")
    listing.add_argument("--state-dir", type=Path, default=None)
    listing.set_defaults(func=_list)


def _add(args: argparse.Namespace) -> int:
    from deploy.local import kafka, kafka_security
    from deploy.local.errors import StackError
    from deploy.local.stack import default_state_dir
    from deploy.local.state import load

    state_dir = args.state_dir or default_state_dir()
    try:
        state = load(state_dir)
        if state.kafka is None or not kafka_security.is_secure(state_dir):
            raise CliError(f"no secure stack in {state_dir}: start one with "
                           "`tmis up --fresh` (secure by default)")
        bootstrap = state.kafka.bootstrap
        if not kafka.is_ready(bootstrap, kafka_security.admin_client_kwargs(state_dir)):
            raise CliError(f"Kafka at {bootstrap} does not answer: `tmis status`, `tmis up`")
        settings = kafka_security.add_agency(kafka.ensure_kafka_jars(), state_dir, bootstrap,
                                             args.name)
    except StackError as exc:
        raise CliError(str(exc)) from exc
    for line in settings.lines():
        print(line)
    return 0


def _list(args: argparse.Namespace) -> int:
    from deploy.local import kafka_security
    from deploy.local.errors import StackError
    from deploy.local.stack import default_state_dir

    try:
        for name, principal in kafka_security.agencies(args.state_dir or default_state_dir()
                                                       ).items():
            print(f"{name}\t{principal}")
    except StackError as exc:
        raise CliError(str(exc)) from exc
    return 0
