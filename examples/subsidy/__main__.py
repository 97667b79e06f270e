"""`python -m examples.subsidy --as-of 2017-04-07`: print the rural teacher living subsidy list
per county and write it as CSV, built only from the public topics.

Connection settings come from the flags, else the environment (TMIS_KAFKA_BOOTSTRAP,
TMIS_KAFKA_USERNAME, TMIS_KAFKA_PASSWORD, as `tmis status` and `tmis agency add` print them),
else the local stack's state (.tmis/stack.json).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import sys
from datetime import date
from pathlib import Path

from aiokafka.errors import KafkaError

from examples.subsidy.book import Eligible, SubsidyBook, end_of_day, per_county
from examples.subsidy.reader import read_to_end


def local_bootstrap() -> str | None:
    home = Path(os.environ.get("TMIS_HOME") or Path(__file__).resolve().parents[2] / ".tmis")
    try:
        return str(json.loads((home / "stack.json").read_text())["kafka"]["bootstrap"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m examples.subsidy", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--as-of", type=date.fromisoformat, required=True,
                   help="YYYY-MM-DD: the list as of the end of that day (China Standard Time)")
    p.add_argument("--bootstrap", default=os.environ.get("TMIS_KAFKA_BOOTSTRAP"))
    p.add_argument("--username", default=os.environ.get("TMIS_KAFKA_USERNAME"))
    p.add_argument("--password", default=os.environ.get("TMIS_KAFKA_PASSWORD"))
    p.add_argument("--csv", type=Path, default=None,
                   help="where to write the list (default: subsidy-<as-of>.csv)")
    args = p.parse_args(argv)
    args.bootstrap = args.bootstrap or local_bootstrap()
    if not args.bootstrap:
        p.error("no Kafka: pass --bootstrap or set TMIS_KAFKA_BOOTSTRAP (see `tmis status`)")
    return args


async def build(bootstrap: str, username: str | None, password: str | None) -> SubsidyBook:
    book = SubsidyBook()
    async for raw in read_to_end(bootstrap, username=username, password=password):
        book.add_raw(raw)
    return book


def write_csv(path: Path, rows: list[Eligible]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["teacher_id", "school_code", "county_code"])
        out.writerows((r.teacher_id, r.school_code, r.county_code) for r in rows)


def county_name(code: str) -> str:
    try:
        from shared.domain.divisions import divisions  # reference data, not events

        county = divisions().county(code)
        return county.name if county else ""
    except (ImportError, OSError):
        return ""


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        book = asyncio.run(build(args.bootstrap, args.username, args.password))
    except KafkaError as exc:
        print(f"cannot read the public topics at {args.bootstrap}: {exc}", file=sys.stderr)
        return 2
    rows = book.eligible(end_of_day(args.as_of))
    print(f"乡村教师生活补助名单 as of {args.as_of} (end of day, CST): "
          f"{len(rows)} teachers, {book.events} public events read")
    for county, n in per_county(rows).items():
        print(f"  {county} {county_name(county):<10} {n:>7}")
    path = args.csv or Path(f"subsidy-{args.as_of}.csv")
    write_csv(path, rows)
    print(f"list written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
