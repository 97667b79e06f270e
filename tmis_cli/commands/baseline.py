"""``tmis baseline template`` and ``tmis baseline import``: the annual report (年报) and the
base table (基数表) as imported figures, through the reporting service.

    tmis baseline template --kind annual --level county --format xlsx -o annual.xlsx
    tmis baseline import shared/data/notice_2017_stage_table.csv --kind annual --year 2016
    tmis baseline import schools.xlsx --kind base --level school

A file with any bad row is refused whole (row, field, problem are printed) and nothing is
imported. Blank cells are unknown, not zero; a total row that does not add up is flagged.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from tmis_cli import CliError
from tmis_cli.commands.report import request


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "baseline", help="import the annual report / base table; baseline file templates",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="baseline_command", metavar="ACTION", required=True)
    tpl = sub.add_parser("template", help="an empty baseline file to fill in")
    tpl.add_argument("--kind", choices=("annual", "base"), default="annual")
    tpl.add_argument("--level", choices=("stage", "county", "school"), default="county")
    tpl.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    tpl.add_argument("-o", "--output", type=Path, help="write here (default: stdout for csv)")
    tpl.set_defaults(func=_template)
    imp = sub.add_parser("import", help="import a baseline file (CSV or XLSX)")
    imp.add_argument("file", type=Path)
    imp.add_argument("--kind", choices=("annual", "base"), required=True)
    imp.add_argument("--year", type=int, help="the report's year (default: last year)")
    imp.add_argument("--level", choices=("stage", "city", "county", "school"),
                     help="default: recognised from the header")
    imp.add_argument("--json", action="store_true", help="print the full per-row report")
    imp.set_defaults(func=_import)


def _template(args: argparse.Namespace) -> int:
    body = request("GET", "/v1/baselines/template", params={
        "kind": args.kind, "level": args.level, "format": args.format}).content
    output: Path | None = args.output
    if output is None and args.format == "xlsx":
        output = Path(f"baseline-{args.kind}-{args.level}.xlsx")
    if output is None:
        sys.stdout.buffer.write(body)
    else:
        output.write_bytes(body)
        print(f"wrote {output}", file=sys.stderr)
    return 0


def _import(args: argparse.Namespace) -> int:
    path: Path = args.file
    if not path.is_file():
        raise CliError(f"no such file: {path}")
    form = {"kind": args.kind}
    if args.year is not None:
        form["year"] = str(args.year)
    if args.level:
        form["level"] = args.level
    body = request("POST", "/v1/baselines", files={"file": (path.name, path.read_bytes())},
                   data=form).json()
    if args.json:
        print(json.dumps(body, ensure_ascii=False, indent=2))
        return 0
    print(f"imported baseline {body['baseline_id']}: {body['kind']} {body['year']}, "
          f"{body['level']} level, {body['rows']} rows in {body['chunks']} event(s)")
    if body["ignored_columns"]:
        print(f"ignored columns: {', '.join(body['ignored_columns'])}")
    blanks = sum(1 for r in body["row_report"] if r["blank"])
    if blanks:
        print(f"{blanks} row(s) have blank figures: kept as unknown, not zero")
    for check in body["checks"]:
        print(f"FLAG {check['message']}")
    return 0
