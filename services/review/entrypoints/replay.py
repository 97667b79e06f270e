"""`tmis replay review`: drop the review projection and rebuild it from the log.

The log is intake's school and teacher topics (read from offset 0 by a group-less consumer)
plus review's own event store (`read_all`). Rebuilding happens in place and online: the
projection's tables are truncated in one transaction (which also raises the `rebuilding` flag,
so decisions and spot-check draws answer 503 until it is done), then every event is applied
again through the same ProjectionStore.apply the live service uses.

Why in place and online is correct here: the projection is a function of the *set* of facts
(services.review.domain.model.derive), applying is idempotent, and facts are keyed by their
place in the source stream. So the order in which the rebuild and the still-running live
consumer apply events does not matter; every event committed before the truncation is in the
log below the end offsets the rebuild reads to, and every later one is applied by the live
consumer (or by the decision handler, for review's own events). Nothing needs the live
consumer's offsets to be reset. Queues read during the rebuild are incomplete (the API says
`"rebuilding": true`); the service can also be stopped for the rebuild, with the same result.
A rebuild that fails leaves the flag up (decisions keep answering 503) until one succeeds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import asyncpg

from services.review.adapters.log_reader import LogCounts, read_store, read_topics
from services.review.adapters.projection_store import ProjectionStore
from services.review.bootstrap import MIGRATIONS
from services.review.config import review_config
from services.review.entrypoints.consumers import INTAKE_TOPICS
from shared.contracts.envelope import Envelope
from shared.db import EVENTSTORE_MIGRATIONS, apply_migrations, create_pool
from shared.eventstore.store import EventStore
from shared.kafka import ensure_topics
from shared.logging import configure_logging, get_logger
from shared.settings import Settings, load_settings

log = get_logger(__name__)


@dataclass
class ReplayStats:
    own_events: int = 0
    log_messages: int = 0
    unparseable: int = 0
    poisoned: int = 0
    teachers_recomputed: int = 0
    seconds: float = 0.0

    @property
    def events(self) -> int:
        return self.own_events + self.log_messages

    @property
    def events_per_second(self) -> float:
        return round(self.events / self.seconds, 1) if self.seconds else 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {**asdict(self), "events": self.events,
                "events_per_second": self.events_per_second}


async def rebuild(settings: Settings, schema: str = "review", *,
                  batch_size: int = 2000) -> ReplayStats:
    """Truncate review's projection in `schema` and rebuild it from the log."""
    pool = await create_pool(settings.database_url, max_size=3)
    projection = ProjectionStore(schema)
    stats = ReplayStats()
    try:
        await apply_migrations(pool, schema, [EVENTSTORE_MIGRATIONS, MIGRATIONS])
        await ensure_topics(settings.kafka_bootstrap, list(INTAKE_TOPICS))
        async with pool.acquire() as conn, conn.transaction():
            await projection.set_rebuilding(conn, True)
            await projection.truncate(conn)
        started = time.perf_counter()
        async for batch in read_store(pool, EventStore(schema, "review"),
                                      batch_size=batch_size):
            stats.own_events += len(batch)
            await _apply(pool, projection, batch, stats)
        counts = LogCounts()
        async for batch in read_topics(settings.kafka_bootstrap, INTAKE_TOPICS,
                                       batch_size=batch_size, counts=counts):
            await _apply(pool, projection, batch, stats)
        stats.log_messages, stats.unparseable = counts.messages, counts.unparseable
        stats.seconds = round(time.perf_counter() - started, 3)
        # Only a finished rebuild lowers the flag: after a failed one the projection is
        # incomplete, and decisions stay refused until `tmis replay review` succeeds.
        async with pool.acquire() as conn:
            await projection.set_rebuilding(conn, False, stats.events)
        log.info("review_rebuilt", schema=schema, **stats.as_dict())
        return stats
    finally:
        await pool.close()


async def _apply(pool: asyncpg.Pool, projection: ProjectionStore, batch: list[Envelope],
                 stats: ReplayStats) -> None:
    # The live consumer may hold some of the same teachers' locks, taken in event order;
    # PostgreSQL then breaks the rare deadlock by failing one side: ours simply retries.
    for attempt in range(1, 6):
        try:
            async with pool.acquire() as conn, conn.transaction():
                applied = await projection.apply(conn, batch, skip_poison=True)
        except asyncpg.exceptions.DeadlockDetectedError:
            if attempt == 5:
                raise
            await asyncio.sleep(0.05 * attempt)
            continue
        stats.poisoned += applied.poisoned
        stats.teachers_recomputed += applied.teachers
        return


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="tmis replay review",
        description="Drop review's projection and rebuild it from the log (intake's topics "
                    "and review's own event store). Reads TMIS_DATABASE_URL and "
                    "TMIS_KAFKA_BOOTSTRAP.")
    parser.add_argument("--schema", default=review_config().review_schema_name,
                        help="review's schema (default: $TMIS_REVIEW_SCHEMA_NAME or review)")
    parser.add_argument("--batch", type=int, default=2000, help="events per transaction")
    args = parser.parse_args(argv)
    settings = load_settings()
    configure_logging("review-replay", settings.log_level)
    stats = asyncio.run(rebuild(settings, args.schema, batch_size=args.batch))
    print(json.dumps(stats.as_dict(), ensure_ascii=False))
    return 0
