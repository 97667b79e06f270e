"""`tmis replay reporting`: drop reporting's projection and rebuild it from the log.

The log is every topic reporting reads, its own included (baselines, sign-offs, confirmation
tables are applied from Kafka like everything else), read from offset 0 up to the end offsets
taken right after the truncation, by a group-less consumer, through the very IdempotentConsumer
and ReportingProjection the live service runs (`apply_batch`: set-based, `--batch` events per
transaction).

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
from typing import Any
from uuid import uuid4

import asyncpg
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from services.reporting.adapters.projection_store import ProjectionStore
from services.reporting.bootstrap import MIGRATIONS
from services.reporting.entrypoints.consumers import TOPICS, ReportingProjection
from shared.consumer import IdempotentConsumer
from shared.db import EVENTSTORE_MIGRATIONS, apply_migrations, create_pool
from shared.kafka import client_security, ensure_topics, make_producer
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
                  batch_size: int = 2000, workers: int = 2,
                  topics: Sequence[str] = TOPICS) -> ReplayStats:
    """Truncate reporting's projection in `schema` and rebuild it from the Kafka log.

    `workers` transactions apply batches at once (each on its own connection), so PostgreSQL
    works on one while Python parses and folds the next: the result does not depend on which
    batch lands first (see the module's docstring)."""
    pool = await create_pool(settings.database_url, max_size=workers + 1)
    producer = make_producer(settings.kafka_bootstrap, "tmis-reporting-replay")
    projection = ReportingProjection(schema)
    consumers = [IdempotentConsumer(pool, schema, projection, producer)
                 for _ in range(max(1, workers))]
    stats = ReplayStats()
    try:
        await apply_migrations(pool, schema, [EVENTSTORE_MIGRATIONS, MIGRATIONS])
        await ensure_topics(settings.kafka_bootstrap, list(topics))
        await producer.start()
        async with pool.acquire() as conn, conn.transaction():
            await ProjectionStore(schema).truncate(conn, projection.name)
        started = time.perf_counter()
        await _read_log(settings.kafka_bootstrap, topics, consumers, stats, batch_size)
        stats.seconds = round(time.perf_counter() - started, 3)
        stats.applied = sum(c.applied for c in consumers)
        log.info("reporting_rebuilt", schema=schema, **stats.as_dict())
        return stats
    finally:
        await producer.stop()
        await pool.close()


async def _read_log(bootstrap: str, topics: Sequence[str], consumers: list[IdempotentConsumer],
                    stats: ReplayStats, batch_size: int) -> None:
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                              enable_auto_commit=False, auto_offset_reset="earliest",
                              client_id=f"tmis-reporting-replay-{uuid4().hex[:6]}",
                              max_partition_fetch_bytes=8 * 1024 * 1024,
                              **client_security())
    # Chunks of records go to the workers through a short queue: reading stays at most a
    # chunk per worker ahead of applying.
    chunks: asyncio.Queue[Sequence[ConsumerRecord[Any, Any]] | None] = \
        asyncio.Queue(maxsize=len(consumers))

    async def work(consumer: IdempotentConsumer) -> None:
        while (chunk := await chunks.get()) is not None:
            await _apply(consumer, chunk)
            stats.messages += len(chunk)

    await reader.start()
    working = [asyncio.create_task(work(c)) for c in consumers]
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
                await _hand_over(chunks, records[i:i + batch_size], working)
            for tp in list(remaining):
                if await reader.position(tp) >= ends[tp]:
                    remaining.discard(tp)
        for _ in working:
            await _hand_over(chunks, None, working)
        await asyncio.gather(*working)
    finally:
        for task in working:
            task.cancel()
        await reader.stop()


async def _hand_over(chunks: asyncio.Queue[Any], chunk: Any,
                     working: list[asyncio.Task[None]]) -> None:
    """Queue a chunk for the workers; if one of them failed meanwhile, raise its error
    instead of waiting for room that would never come."""
    put = asyncio.ensure_future(chunks.put(chunk))
    await asyncio.wait([put, *working], return_when=asyncio.FIRST_COMPLETED)
    if not put.done():
        put.cancel()
    for task in working:
        if task.done() and not task.cancelled() and task.exception() is not None:
            task.result()  # re-raises the worker's error


async def _apply(consumer: IdempotentConsumer, records: Sequence[object]) -> None:
    # Both sides take their entity locks in one global order, but the live consumer may be
    # recording the same event ids in processed_events: PostgreSQL breaks such a rare
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
    parser.add_argument("--workers", type=int, default=2,
                        help="transactions applying batches at once (default: 2)")
    args = parser.parse_args(argv)
    settings = load_settings()
    configure_logging("reporting-replay", settings.log_level)
    stats = asyncio.run(rebuild(settings, args.schema, batch_size=args.batch,
                                workers=args.workers))
    print(json.dumps(stats.as_dict(), ensure_ascii=False))
    return 0
