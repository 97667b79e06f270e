"""`tmis contracts export DIR`: JSON Schema per event and the AsyncAPI document, for the internal
events (DIR/schemas, DIR/asyncapi.json) and the public integration events (DIR/public/), plus
the public event catalogue page (docs/events.md by default).

`tmis contracts check DIR` compares the code's public schemas with those committed in
DIR/public and exits 1 on a change that would break an existing subscriber.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tmis_cli import CliError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("contracts", help="event contracts (JSON Schema, AsyncAPI)")
    sub = parser.add_subparsers(dest="contracts_command", metavar="ACTION", required=True)
    export = sub.add_parser("export", help="write a JSON Schema per event, asyncapi.json, the "
                                           "public schemas and the event catalogue")
    export.add_argument("directory", type=Path)
    export.add_argument("--catalogue", type=Path, default=None,
                        help="where to write the public event catalogue "
                             "(default: DIRECTORY/../events.md)")
    export.set_defaults(func=_export)
    check = sub.add_parser("check", help="fail on a public schema change that would break a "
                                         "subscriber (against DIRECTORY/public)")
    check.add_argument("directory", type=Path)
    check.set_defaults(func=_check)


def _export(args: argparse.Namespace) -> int:
    from shared.contracts.export import export
    from shared.contracts.public_catalogue import (
        BreakingChangeError,
        export_public,
        write_catalogue,
    )

    written = export(args.directory)
    try:
        written += export_public(args.directory / "public")
    except BreakingChangeError as exc:
        raise CliError(str(exc)) from exc
    written.append(write_catalogue(args.catalogue or args.directory.resolve().parent
                                   / "events.md"))
    print(f"wrote {len(written)} files to {args.directory} (public: {args.directory / 'public'})")
    return 0


def _check(args: argparse.Namespace) -> int:
    from shared.contracts.public_catalogue import compatibility_problems

    problems = compatibility_problems(args.directory / "public")
    for name, changes in problems.items():
        for change in changes:
            print(f"{name}: {change}")
    if problems:
        raise CliError("public schemas would break existing subscribers")
    print("public schemas: compatible with the committed ones")
    return 0
