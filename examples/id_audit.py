"""An auditor's check, from outside TMIS: no message on any public topic carries a national ID
number (身份证号). Reads every public topic from the beginning and looks for any 18-character
string with a valid GB 11643 check character.

    python -m examples.id_audit [--bootstrap HOST:PORT] [--username U --password P]

Exit 0 when none is found, 1 otherwise (the offending messages' event ids are printed, never
the numbers), 2 when Kafka cannot be read. Run it after `tmis simulate` on a whole simulated
province.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from dataclasses import dataclass

from aiokafka.errors import KafkaError

from examples.subsidy.reader import read_to_end
from shared.contracts.public import find_id_numbers
from shared.contracts.topics import PUBLIC_TOPICS


@dataclass(frozen=True)
class AuditResult:
    messages: int
    offending: tuple[str, ...]  # event ids (or offsets) of messages that carry an ID number


async def audit(bootstrap: str, *, username: str | None = None,
                password: str | None = None) -> AuditResult:
    """Scan every message of every public topic (from offset 0 to the current end)."""
    messages, offending = 0, []
    async for raw in read_to_end(bootstrap, tuple(t.name for t in PUBLIC_TOPICS),
                                 username=username, password=password):
        messages += 1
        text = raw.decode("utf-8", "replace")
        if find_id_numbers(text):
            try:
                offending.append(str(json.loads(text).get("event_id")))
            except ValueError:
                offending.append(f"unparseable message #{messages}")
    return AuditResult(messages, tuple(offending))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m examples.id_audit", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bootstrap", default=os.environ.get("TMIS_KAFKA_BOOTSTRAP"))
    p.add_argument("--username", default=os.environ.get("TMIS_KAFKA_USERNAME"))
    p.add_argument("--password", default=os.environ.get("TMIS_KAFKA_PASSWORD"))
    args = p.parse_args(argv)
    if not args.bootstrap:
        from examples.subsidy.__main__ import local_bootstrap

        args.bootstrap = local_bootstrap()
    if not args.bootstrap:
        p.error("no Kafka: pass --bootstrap or set TMIS_KAFKA_BOOTSTRAP (see `tmis status`)")
    try:
        result = asyncio.run(audit(args.bootstrap, username=args.username,
                                   password=args.password))
    except KafkaError as exc:
        print(f"cannot read the public topics at {args.bootstrap}: {exc}", file=sys.stderr)
        return 2
    print(f"{result.messages} public messages scanned; "
          f"{len(result.offending)} carry an ID number")
    for event_id in result.offending:
        print(f"  {event_id}")
    return 1 if result.offending else 0


if __name__ == "__main__":
    sys.exit(main())
