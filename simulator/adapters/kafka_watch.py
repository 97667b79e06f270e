"""How far behind the services' consumers are, read from Kafka itself.

A consumer group has caught up when its committed offset equals the end offset on every
partition of its topics (the services commit only after the projection's transaction, so a
committed offset means applied). `KafkaWatch` reads committed offsets with the admin client and
end offsets with a group-less consumer, using shared.kafka.client_security() so it also works on
a secure (SASL/SCRAM) stack.

It survives a broker restart: every question is asked through `_survive`, which on a transient
failure (shared.transient: NodeNotReadyError, KafkaConnectionError, a timeout, ...) closes both
clients, starts new ones and asks again, with stamina's backoff, for up to `retry_seconds`.
aiokafka's own clients do not always recover from a broker that was killed (a metadata cache
pointing at a dead connection), so a fresh pair is the dependable way back.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

import stamina
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import OffsetAndMetadata

from shared.contracts.topics import DEAD_LETTER_TOPIC, TOPICS
from shared.kafka import client_security
from shared.logging import get_logger
from shared.transient import is_transient

log = get_logger(__name__)
T = TypeVar("T")
RETRY_SECONDS = 300.0
START_SECONDS = 30.0

INTERNAL_TOPICS: tuple[str, ...] = tuple(t.name for t in TOPICS if t.name != DEAD_LETTER_TOPIC)


@dataclass(frozen=True)
class GroupLag:
    group: str
    lag: int  # messages not yet committed, over all partitions of the group's topics
    partitions: int


class KafkaWatch:
    def __init__(self, bootstrap: str, client_id: str = "tmis-simulator",
                 retry_seconds: float = RETRY_SECONDS) -> None:
        self.bootstrap = bootstrap
        self.client_id = client_id
        self.retry_seconds = retry_seconds
        self.reconnects = 0
        self._partitions: dict[str, list[TopicPartition]] = {}
        self._new_clients()

    def _new_clients(self) -> None:
        self._started = False
        security = client_security()
        self.admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap,
                                         client_id=self.client_id, request_timeout_ms=15000,
                                         **security)
        self.consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None,
                                         enable_auto_commit=False, client_id=self.client_id,
                                         request_timeout_ms=15000, **security)

    async def start(self) -> None:
        """Connect (a broker that does not answer within START_SECONDS fails the start: a
        wrong address should be said soon, not after the long bound of a restart)."""
        await self._survive(self._start_clients, min(self.retry_seconds, START_SECONDS))

    async def _start_clients(self) -> None:
        if self._started:
            return
        await self.admin.start()
        await self.consumer.start()
        self._started = True

    async def close(self) -> None:
        with contextlib.suppress(Exception):  # also after a failed start
            await self.consumer.stop()
        with contextlib.suppress(Exception):
            await self.admin.close()

    async def _survive(self, ask: Callable[[], Awaitable[T]],
                       seconds: float | None = None) -> T:
        """`ask()`, again on fresh clients after each transient failure (see the module doc)."""
        async for attempt in stamina.retry_context(on=is_transient, attempts=None,
                                                   timeout=seconds or self.retry_seconds,
                                                   wait_initial=0.5, wait_max=5.0):
            with attempt:
                if attempt.num > 1:
                    self.reconnects += 1
                    log.warning("kafka_watch_reconnecting", attempt=attempt.num)
                    await self.close()
                    self._new_clients()
                    await self._start_clients()
                return await ask()
        raise AssertionError("unreachable: stamina raises when it gives up")  # pragma: no cover

    async def partitions(self, topics: Iterable[str]) -> list[TopicPartition]:
        topics = list(topics)
        return await self._survive(lambda: self._partitions_of(topics))

    async def _partitions_of(self, topics: list[str]) -> list[TopicPartition]:
        wanted = [t for t in topics if t not in self._partitions]
        if wanted:
            for t in await self.admin.describe_topics(wanted):
                if t.get("error_code"):
                    continue  # not created yet (or not ours to see): no partitions to wait on
                self._partitions[t["topic"]] = [TopicPartition(t["topic"], p["partition"])
                                                for p in t["partitions"]]
        return [tp for t in topics for tp in self._partitions.get(t, [])]

    async def end_offsets(self, topics: Iterable[str]) -> dict[TopicPartition, int]:
        tps = await self.partitions(topics)
        if not tps:
            return {}

        async def ask() -> dict[TopicPartition, int]:
            ends: dict[TopicPartition, int] = await self.consumer.end_offsets(tps)
            return ends

        return await self._survive(ask)

    async def messages(self, topics: Iterable[str]) -> dict[str, int]:
        """How many messages each topic holds (sum of its partitions' end offsets; the
        topics keep every message)."""
        out: dict[str, int] = {}
        for tp, end in (await self.end_offsets(topics)).items():
            out[tp.topic] = out.get(tp.topic, 0) + end
        return out

    async def lag(self, groups: Mapping[str, Iterable[str]]) -> list[GroupLag]:
        """Per consumer group (-> its topics), the messages it has not committed yet."""
        topics = sorted({t for ts in groups.values() for t in ts})
        ends = await self.end_offsets(topics)
        out = []
        for group, its_topics in sorted(groups.items()):
            mine = [tp for tp in ends if tp.topic in set(its_topics)]
            committed = await self._committed(group, mine) if mine else {}
            lag = 0
            for tp in mine:
                meta = committed.get(tp)
                done = meta.offset if meta is not None and meta.offset >= 0 else 0
                lag += max(0, ends[tp] - done)
            out.append(GroupLag(group, lag, len(mine)))
        return out

    async def _committed(self, group: str, partitions: list[TopicPartition]) -> dict[
            TopicPartition, OffsetAndMetadata]:
        async def ask() -> dict[TopicPartition, OffsetAndMetadata]:
            found: dict[TopicPartition, OffsetAndMetadata] = \
                await self.admin.list_consumer_group_offsets(group, partitions=partitions)
            return found

        return await self._survive(ask)
