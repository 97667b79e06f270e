"""`tmis contracts export DIR`: JSON Schema per event and the AsyncAPI document."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("contracts", help="event contracts (JSON Schema, AsyncAPI)")
    sub = parser.add_subparsers(dest="contracts_command", metavar="ACTION", required=True)
    export = sub.add_parser("export", help="write a JSON Schema per event and asyncapi.json")
    export.add_argument("directory", type=Path)
    export.set_defaults(func=_export)


def _export(args: argparse.Namespace) -> int:
    from shared.contracts.export import export

    written = export(args.directory)
    print(f"wrote {len(written)} files to {args.directory}")
    return 0
