"""The dead-letter topic read back, and re-driven: what `tmis deadletter` and the tests use.

shared/consumer.py writes a dead letter as the original record's key and value with headers
`dlq_reason`, `dlq_consumer` and `dlq_source` (`<topic>/<partition>/<offset>`). Re-driving one
publishes its value and key again to the original topic; that is safe to repeat because every
consumer skips an event id it has already applied.

What was re-driven is recorded in the dead-letter topic itself: after the republished record is
acknowledged, a *marker* record (key `redriven`, empty value, header `dlq_redriven` =
`<partition>/<offset>` of the dead letter) is appended. We chose the topic over a table or a
second topic: the CLI needs nothing but the broker it already reads (no database, no new topic
or ACL), and the record of a redrive sits next to the dead letter it concerns, as durable as it
(unlimited retention). A second redrive reads the markers and skips those dead letters; a crash
between the republish and the marker means the next redrive republishes once more, which the
consumers' deduplication makes harmless. Markers are not dead letters: `read` tells them apart.

A dead letter whose value still does not parse as an envelope is not re-driven: every consumer
of the original topic would dead-letter it again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from pydantic import ValidationError

from shared.contracts.envelope import Envelope
from shared.contracts.topics import DEAD_LETTER_TOPIC
from shared.contracts.topics import topic as registered_topic
from shared.kafka import KafkaCredentials, client_security, make_producer

MARKER_KEY = b"redriven"
MARKER_HEADER = "dlq_redriven"


@dataclass(frozen=True)
class DeadLetter:
    """One record of the dead-letter topic that is not a redrive marker."""

    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    timestamp_ms: int

    def header(self, name: str) -> str:
        return dict(self.headers).get(name, b"").decode("utf-8", "replace")

    @property
    def where(self) -> str:
        """Its own address in the dead-letter topic: what a marker names."""
        return f"{self.partition}/{self.offset}"

    @property
    def reason(self) -> str:
        return self.header("dlq_reason")

    @property
    def consumer(self) -> str:
        return self.header("dlq_consumer")

    @property
    def source(self) -> str:
        return self.header("dlq_source")

    @property
    def source_topic(self) -> str:
        return self.source.rsplit("/", 2)[0] if self.source.count("/") >= 2 else ""

    def envelope(self) -> Envelope | None:
        try:
            return Envelope.from_bytes(self.value or b"")
        except (ValidationError, ValueError):
            return None


@dataclass
class DeadLetters:
    """The whole topic as read: the dead letters and the addresses already re-driven."""

    letters: list[DeadLetter] = field(default_factory=list)
    redriven: set[str] = field(default_factory=set)

    def pending(self) -> list[DeadLetter]:
        return [d for d in self.letters if d.where not in self.redriven]

    def select(self, *, consumer: str | None = None, source: str | None = None,
               include_redriven: bool = True) -> list[DeadLetter]:
        """Filtered by consumer name and by source (a topic, or `topic/partition/offset`)."""
        found = self.letters if include_redriven else self.pending()
        return [d for d in found
                if (consumer is None or d.consumer == consumer)
                and (source is None or d.source == source or d.source_topic == source)]


async def read(bootstrap: str, credentials: KafkaCredentials | None = None) -> DeadLetters:
    """Every record of the dead-letter topic, from the beginning to its end now."""
    topic = DEAD_LETTER_TOPIC
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                              enable_auto_commit=False, auto_offset_reset="earliest",
                              client_id="tmis-deadletter", **client_security(credentials))
    await reader.start()
    out = DeadLetters()
    try:
        if topic not in await reader.topics():
            return out
        # the registry's partition count (the consumer's own metadata has no unassigned topic)
        tps = [TopicPartition(topic, p) for p in range(registered_topic(topic).partitions)]
        reader.assign(tps)
        await reader.seek_to_beginning(*tps)
        ends = await reader.end_offsets(tps)
        todo = {tp for tp in tps if ends[tp] > 0}
        while todo:
            batch = await reader.getmany(*todo, timeout_ms=1000)
            for tp, records in batch.items():
                for r in records:
                    headers = tuple((k, v) for k, v in (r.headers or ()))
                    if r.key == MARKER_KEY and dict(headers).get(MARKER_HEADER):
                        out.redriven.add(dict(headers)[MARKER_HEADER].decode())
                    elif r.offset < ends[tp]:
                        out.letters.append(DeadLetter(r.partition, r.offset, r.key, r.value,
                                                      headers, r.timestamp))
            for tp in list(todo):
                if await reader.position(tp) >= ends[tp]:
                    todo.discard(tp)
    finally:
        await reader.stop()
    return out


@dataclass(frozen=True)
class Redrive:
    """What a redrive did: re-published, skipped as already re-driven, skipped unparseable."""

    republished: list[DeadLetter]
    already: list[DeadLetter]
    unparseable: list[DeadLetter]


async def redrive(bootstrap: str, letters: DeadLetters, chosen: Iterable[DeadLetter],
                  credentials: KafkaCredentials | None = None) -> Redrive:
    """Republish each chosen dead letter (not yet re-driven, parseable) to its source topic,
    then record it with a marker (see the module doc)."""
    todo, already, unparseable = [], [], []
    for d in chosen:
        if d.where in letters.redriven:
            already.append(d)
        elif d.envelope() is None or not d.source_topic:
            unparseable.append(d)
        else:
            todo.append(d)
    if todo:
        producer: AIOKafkaProducer = make_producer(bootstrap, "tmis-deadletter-redrive",
                                                   credentials)
        await producer.start()
        try:
            for d in todo:
                original = [(k, v) for k, v in d.headers if not k.startswith("dlq_")]
                await producer.send_and_wait(d.source_topic, value=d.value, key=d.key,
                                             headers=[*original,
                                                      ("dlq_redriven_from", d.where.encode())])
                await producer.send_and_wait(
                    DEAD_LETTER_TOPIC, value=b"", key=MARKER_KEY,
                    headers=[(MARKER_HEADER, d.where.encode()),
                             ("dlq_consumer", d.consumer.encode()),
                             ("dlq_source", d.source.encode())])
                letters.redriven.add(d.where)
        finally:
            await producer.stop()
    return Redrive(todo, already, unparseable)
