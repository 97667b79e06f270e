"""Wait until every service has caught up with every event.

A service has caught up when its outbox is empty (everything it accepted is on Kafka: /healthz
says `outbox_backlog`) and each of its consumer groups (/healthz names them and their topics)
has committed the end offset of every partition of its topics. Because one service's consumer
writes events another consumes (review's decisions -> reporting), the check must hold twice in
a row, a poll apart, before the run says so.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Collection
from dataclasses import dataclass

from shared.contracts.topics import DEAD_LETTER_TOPIC
from simulator.adapters.api import Services
from simulator.adapters.kafka_watch import INTERNAL_TOPICS, KafkaWatch
from simulator.adapters.progress import ProgressFactory

POLL_SECONDS = 1.0


class NotCaughtUp(RuntimeError):
    """The services did not catch up in time (or stopped making progress)."""


@dataclass(frozen=True)
class CaughtUp:
    events: int  # messages on the internal topics: every event every service published
    dead_letters: int
    seconds: float


@dataclass(frozen=True)
class Backlog:
    outbox: int
    lag: int
    behind: tuple[str, ...]  # "service/group: n" of what is behind

    @property
    def zero(self) -> bool:
        return self.outbox == 0 and self.lag == 0


async def backlog(services: Services, watch: KafkaWatch,
                  only: Collection[str] | None = None) -> Backlog:
    """The outboxes and consumer lag of the services (of `only` those, by name)."""
    outbox = 0
    behind: list[str] = []
    groups: dict[str, tuple[str, ...]] = {}
    owner: dict[str, str] = {}
    for client in services.all():
        if only is not None and client.name not in only:
            continue
        health = await client.healthz()
        n = int(health.get("outbox_backlog") or 0)
        outbox += n
        if n:
            behind.append(f"{client.name} outbox: {n}")
        for consumer in (health.get("consumers") or {}).values():
            groups[consumer["group"]] = tuple(consumer["topics"])
            owner[consumer["group"]] = client.name
    lag = 0
    for g in await watch.lag(groups):
        lag += g.lag
        if g.lag:
            behind.append(f"{owner[g.group]} {g.group}: {g.lag}")
    return Backlog(outbox, lag, tuple(behind))


async def wait_caught_up(services: Services, watch: KafkaWatch, progress: ProgressFactory, *,
                         label: str = "catching up", timeout: float = 4 * 3600,
                         stall: float = 900, only: Collection[str] | None = None) -> CaughtUp:
    """Poll until the backlog is zero twice in a row. NotCaughtUp after `timeout`, or when
    nothing moved for `stall` seconds (a stuck consumer, not a slow one). `only`: wait for
    these services alone (a step that needs review to have followed intake need not wait
    for reporting)."""
    started = time.monotonic()
    bar = progress(label)
    streak = 0
    best: int | None = None
    moved = started
    try:
        while True:
            b = await backlog(services, watch, only)
            remaining = b.outbox + b.lag
            bar.note(f"{remaining} behind" + (f" ({'; '.join(b.behind[:3])})" if b.behind
                                               else ""))
            if best is None or remaining < best:
                best, moved = remaining, time.monotonic()
            streak = streak + 1 if b.zero else 0
            if streak >= 2:
                break
            now = time.monotonic()
            if now - started > timeout or now - moved > stall:
                raise NotCaughtUp(f"after {now - started:.0f}s still behind: "
                                  + "; ".join(b.behind))
            await asyncio.sleep(POLL_SECONDS)
        counts = await watch.messages([*INTERNAL_TOPICS, DEAD_LETTER_TOPIC])
    finally:
        bar.close()
    return CaughtUp(sum(counts.get(t, 0) for t in INTERNAL_TOPICS),
                    counts.get(DEAD_LETTER_TOPIC, 0), time.monotonic() - started)
