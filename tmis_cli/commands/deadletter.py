"""``tmis deadletter list|show|redrive``: look at the dead-letter topic and re-drive from it.

    tmis deadletter list [--consumer NAME] [--source TOPIC] [--pending] [--json]
    tmis deadletter show OFFSET [--partition N]
    tmis deadletter redrive [--consumer NAME] [--source TOPIC|TOPIC/P/O] [--offset N ...]
                            [--dry-run]

A dead letter is a record a consumer could not parse or apply (shared/consumer.py), with headers
dlq_reason, dlq_consumer and dlq_source. `redrive` publishes each chosen one's original value
and key to its original topic (from dlq_source) and records that in the dead-letter topic, so
re-driving the same dead letter again is a no-op; consumers skip an event id they have already
applied, so even a repeated republish changes nothing (shared/deadletters.py says how).

Kafka: TMIS_KAFKA_BOOTSTRAP, else the local stack's broker; on a secure stack the command
authenticates as the local admin (tmis_cli.main), or as TMIS_KAFKA_USERNAME/PASSWORD.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from datetime import UTC, datetime
from typing import Any

from shared import deadletters
from shared.deadletters import DeadLetter, DeadLetters
from tmis_cli import CliError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "deadletter", help="list, show and re-drive the dead-letter topic",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = sub.add_parser("list", help="the dead letters, oldest first")
    _filters(listing)
    listing.add_argument("--pending", action="store_true", help="only those not re-driven yet")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    listing.set_defaults(func=_list)
    show = sub.add_parser("show", help="one dead letter: headers and value")
    show.add_argument("offset", type=int)
    show.add_argument("--partition", type=int, default=0)
    show.set_defaults(func=_show)
    redrive = sub.add_parser("redrive", help="republish to the original topic (idempotent)")
    _filters(redrive)
    redrive.add_argument("--offset", type=int, action="append", default=[],
                         help="only this dead letter (repeatable)")
    redrive.add_argument("--dry-run", action="store_true", help="say what would be re-driven")
    redrive.set_defaults(func=_redrive)


def _filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--consumer", help="only those this consumer wrote (e.g. reporting)")
    parser.add_argument("--source", help="only from this topic (or topic/partition/offset)")


def bootstrap() -> str:
    given = os.environ.get("TMIS_KAFKA_BOOTSTRAP")
    if given:
        return given
    from deploy.local.stack import default_state_dir
    from deploy.local.state import load

    state = load(default_state_dir())
    if state.kafka is None:
        raise CliError("no Kafka: set TMIS_KAFKA_BOOTSTRAP or start the stack (tmis up)")
    return state.kafka.bootstrap


def _read() -> DeadLetters:
    where = bootstrap()
    try:
        return asyncio.run(deadletters.read(where))
    except Exception as exc:  # the broker's own errors: one line for the person
        raise CliError(f"cannot read the dead-letter topic at {where}: "
                       f"{type(exc).__name__}: {exc}") from exc


def describe(d: DeadLetter, redriven: bool) -> dict[str, Any]:
    env = d.envelope()
    return {"partition": d.partition, "offset": d.offset,
            "at": datetime.fromtimestamp(d.timestamp_ms / 1000, UTC).isoformat(),
            "consumer": d.consumer, "source": d.source,
            "event_type": env.event_type if env else None,
            "event_id": str(env.event_id) if env else None,
            "redriven": redriven, "reason": d.reason}


def _list(args: argparse.Namespace) -> int:
    letters = _read()
    chosen = letters.select(consumer=args.consumer, source=args.source,
                            include_redriven=not args.pending)
    rows = [describe(d, d.where in letters.redriven) for d in chosen]
    if args.json:
        for row in rows:
            print(json.dumps(row, ensure_ascii=False))
        return 0
    for row in rows:
        mark = "redriven" if row["redriven"] else "pending "
        print(f"{row['partition']}/{row['offset']:<6} {mark} {row['consumer']:<22} "
              f"{row['source']:<36} {row['event_type'] or '-':<22} {row['reason'][:80]}")
    pending = sum(1 for r in rows if not r["redriven"])
    print(f"{len(rows)} dead letters, {pending} not re-driven")
    return 0


def _show(args: argparse.Namespace) -> int:
    letters = _read()
    for d in letters.letters:
        if (d.partition, d.offset) == (args.partition, args.offset):
            out = describe(d, d.where in letters.redriven)
            out["key"] = (d.key or b"").decode("utf-8", "replace")
            out["headers"] = {k: v.decode("utf-8", "replace") for k, v in d.headers}
            try:
                out["value"] = json.loads(d.value or b"")
            except ValueError:
                out["value"] = (d.value or b"").decode("utf-8", "replace")
            print(json.dumps(out, ensure_ascii=False, indent=2))
            return 0
    raise CliError(f"no dead letter at {args.partition}/{args.offset}")


def _redrive(args: argparse.Namespace) -> int:
    letters = _read()
    chosen = letters.select(consumer=args.consumer, source=args.source)
    if args.offset:
        chosen = [d for d in chosen if d.offset in set(args.offset)]
    if args.dry_run:
        for d in chosen:
            state = "already re-driven" if d.where in letters.redriven else "would re-drive"
            print(f"{d.where} {state}: {d.source} ({d.consumer})")
        return 0
    where = bootstrap()
    try:
        done = asyncio.run(deadletters.redrive(where, letters, chosen))
    except Exception as exc:
        raise CliError(f"re-drive to {where} failed: {type(exc).__name__}: {exc}") from exc
    for d in done.republished:
        print(f"{d.where} re-driven to {d.source_topic}")
    for d in done.unparseable:
        print(f"{d.where} not re-driven: its value is still no envelope ({d.reason[:80]})")
    print(f"{len(done.republished)} re-driven, {len(done.already)} already re-driven before, "
          f"{len(done.unparseable)} not re-drivable")
    return 0
