"""Read public topics from the beginning up to where they end now, with a group-less consumer.

A list "as of a date" is a batch job: it replays everything each run (the topics keep every
message forever) and needs no committed offsets, so it uses no consumer group. A long-running
subscriber would use its group `agency-<name>.<purpose>` and commit after processing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

PUBLIC_TOPICS = ("tmis.public.school.v1", "tmis.public.teacher.v1", "tmis.public.review.v1")


def security(username: str | None, password: str | None) -> dict[str, Any]:
    """aiokafka settings: SASL/SCRAM when credentials are given, else plaintext."""
    if not username:
        return {}
    return {"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "SCRAM-SHA-512",
            "sasl_plain_username": username, "sasl_plain_password": password}


async def partitions(bootstrap: str, topics: Sequence[str],
                     settings: dict[str, Any]) -> list[TopicPartition]:
    """The partitions of `topics` (those this principal may describe), from cluster metadata."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="subsidy-example",
                                **settings)
    await admin.start()
    try:
        found = await admin.describe_topics(list(topics))
    finally:
        await admin.close()
    return [TopicPartition(t["topic"], p["partition"]) for t in found if not t["error_code"]
            for p in sorted(t["partitions"], key=lambda p: p["partition"])]


async def read_to_end(bootstrap: str, topics: Sequence[str] = PUBLIC_TOPICS, *,
                      username: str | None = None, password: str | None = None,
                      idle_timeout: float = 60.0) -> AsyncIterator[bytes]:
    """Every message value of `topics`, from offset 0 to the end offsets seen at the start."""
    tps = await partitions(bootstrap, topics, security(username, password))
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                enable_auto_commit=False, auto_offset_reset="earliest",
                                client_id="subsidy-example", **security(username, password))
    await consumer.start()
    try:
        if not tps:
            return
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        remaining = {tp for tp in tps if ends[tp] > 0}
        loop = asyncio.get_running_loop()
        quiet_since = loop.time()
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=500)
            for tp, records in batch.items():
                for rec in records:
                    if rec.offset < ends[tp] and rec.value is not None:
                        yield rec.value
            for tp in list(remaining):
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
            if batch:
                quiet_since = loop.time()
            elif loop.time() - quiet_since > idle_timeout:
                raise TimeoutError(f"no progress for {idle_timeout}s reading {topics}")
    finally:
        await consumer.stop()
