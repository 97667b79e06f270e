"""`tmis replay reporting`: drop reporting's projection and rebuild it from the log.

The log is every topic reporting reads, its own included (baselines, sign-offs, confirmation
tables are applied from Kafka like everything else), read from offset 0 up to the end offsets
taken right after the truncation, by a group-less consumer, through the very IdempotentConsumer
and ReportingProjection the live service runs.

Why rebuilding in place, even online, gives the live state: the projection is a function of the
*set* of events (timelines are ordered by business time, not arrival; every other table is keyed
by the event), applying is idempotent (processed event ids, stream positions), and concurrent
writers to one entity are serialised by an advisory lock. Every event applied before the
truncation is below the end offsets read; every later one is applied by the live consumer, and
the other side skips it. Stopping the service first gives the same result, faster.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from uuid import uuid4

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition

from services.reporting.adapters.projection_store import ProjectionStore
from services.reporting.bootstrap import MIGRATIONS
from services.reporting.entrypoints.consumers import TOPICS, ReportingProjection
from shared.consumer import IdempotentConsumer
from shared.db import EVENTSTORE_MIGRATIONS, apply_migrations, create_pool
from shared.kafka import ensure_topics, make_producer
from shared.logging import configure_logging, get_logger
from shared.settings import Settings, load_settings

log = get_logger(__name__)


@dataclass
class ReplayStats:
    messages: int = 0
    applied: int = 0
    seconds: float = 0.0

    @property
    def events_per_second(self) -> float:
        return round(self.messages / self.seconds, 1) if self.seconds else 0.0

    def as_dict(self) -> dict[str, float | int]:
        return {**asdict(self), "events_per_second": self.events_per_second}


async def rebuild(settings: Settings, schema: str = "reporting", *,
                  batch_size: int = 2000, topics: Sequence[str] = TOPICS) -> ReplayStats:
    """Truncate reporting's projection in `schema` and rebuild it from the Kafka log."""
    pool = await create_pool(settings.database_url, max_size=3)
    producer = make_producer(settings.kafka_bootstrap, "tmis-reporting-replay")
    projection = ReportingProjection(schema)
    consumer = IdempotentConsumer(pool, schema, projection, producer)
    stats = ReplayStats()
    try:
        await apply_migrations(pool, schema, [EVENTSTORE_MIGRATIONS, MIGRATIONS])
        await ensure_topics(settings.kafka_bootstrap, list(topics))
        await producer.start()
        async with pool.acquire() as conn, conn.transaction():
            await ProjectionStore(schema).truncate(conn, projection.name)
        started = time.perf_counter()
        await _read_log(settings.kafka_bootstrap, topics, consumer, stats, batch_size)
        stats.seconds = round(time.perf_counter() - started, 3)
        stats.applied = consumer.applied
        log.info("reporting_rebuilt", schema=schema, **stats.as_dict())
        return stats
    finally:
        await producer.stop()
        await pool.close()


async def _read_log(bootstrap: str, topics: Sequence[str], consumer: IdempotentConsumer,
                    stats: ReplayStats, batch_size: int) -> None:
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                              enable_auto_commit=False, auto_offset_reset="earliest",
                              client_id=f"tmis-reporting-replay-{uuid4().hex[:6]}",
                              max_partition_fetch_bytes=8 * 1024 * 1024)
    await reader.start()
    try:
        tps = []
        for topic in topics:
            parts = reader.partitions_for_topic(topic)
            while not parts:
                await reader._client.force_metadata_update()
                parts = reader.partitions_for_topic(topic)
            tps += [TopicPartition(topic, p) for p in sorted(parts)]
        reader.assign(tps)
        await reader.seek_to_beginning(*tps)
        ends = await reader.end_offsets(tps)
        remaining = {tp for tp in tps if ends[tp] > 0}
        while remaining:
            fetched = await reader.getmany(*remaining, timeout_ms=1000,
                                           max_records=batch_size)
            records = []
            for tp, recs in fetched.items():
                records += [r for r in recs if r.offset < ends[tp]]
            for i in range(0, len(records), batch_size):
                chunk = records[i:i + batch_size]
                await _apply(consumer, chunk)
                stats.messages += len(chunk)
            for tp in list(remaining):
                if await reader.position(tp) >= ends[tp]:
                    remaining.discard(tp)
    finally:
        await reader.stop()


async def _apply(consumer: IdempotentConsumer, records: Sequence[object]) -> None:
    # The live consumer may hold some of the same entities' locks: PostgreSQL breaks the rare
    # deadlock by failing one side, and ours retries the (idempotent) batch.
    for attempt in range(1, 6):
        try:
            await consumer.handle_records(records)  # type: ignore[arg-type]
            return
        except asyncpg.exceptions.DeadlockDetectedError:
            if attempt == 5:
                raise
            await asyncio.sleep(0.05 * attempt)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="tmis replay reporting",
        description="Drop reporting's projection and rebuild it from the Kafka log (every "
                    "topic reporting reads, its own included). Reads TMIS_DATABASE_URL and "
                    "TMIS_KAFKA_BOOTSTRAP.")
    parser.add_argument("--schema", default="reporting",
                        help="reporting's schema (default: reporting)")
    parser.add_argument("--batch", type=int, default=2000, help="events per transaction")
    args = parser.parse_args(argv)
    settings = load_settings()
    configure_logging("reporting-replay", settings.log_level)
    stats = asyncio.run(rebuild(settings, args.schema, batch_size=args.batch))
    print(json.dumps(stats.as_dict(), ensure_ascii=False))
    return 0
