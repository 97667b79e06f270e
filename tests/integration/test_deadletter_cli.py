"""`tmis deadletter list|show|redrive` against the real broker: a dead letter re-driven once
is applied once; re-driving it again does nothing."""

from __future__ import annotations

import asyncio
import json
from uuid import UUID

import asyncpg
import pytest
from faststream.kafka import KafkaBroker

from shared.consumer import IdempotentConsumer
from shared.contracts.envelope import Envelope
from shared.errors import PoisonEvent
from shared.runtime import subscribe
from tests.integration.test_consumer_faults import SlowCountingProjection, dead_letters_of
from tests.integration.test_idempotent_consumer import an_envelope, counts, publish, setting
from tests.support import eventually
from tmis_cli.main import main as tmis

pytestmark = pytest.mark.integration
__all__ = ["setting"]


class RefusingProjection(SlowCountingProjection):
    """Refuses the events in `refused` (a fault of the projection, fixed later by clearing it)."""

    def __init__(self, schema: str, topic: str, refused: set[UUID]) -> None:
        super().__init__(schema, topic)
        self.refused = refused

    async def apply(self, conn: asyncpg.Connection, envelope: Envelope) -> None:
        if envelope.event_id in self.refused:
            raise PoisonEvent(f"refusing {envelope.event_id} for now")
        await super().apply(conn, envelope)


async def run_tmis(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    capsys.readouterr()
    code = await asyncio.to_thread(tmis, ["deadletter", *args])
    assert code == 0
    return capsys.readouterr().out


async def test_a_dead_letter_redriven_twice_is_applied_once(setting, stack_env, monkeypatch,
                                                            capsys):
    pool, schema, topic, producer = setting
    monkeypatch.setenv("TMIS_KAFKA_BOOTSTRAP", stack_env.kafka_bootstrap)
    events = [an_envelope(i) for i in range(5)]
    projection = RefusingProjection(schema, topic, {events[2].event_id})
    consumer = IdempotentConsumer(pool, schema, projection, producer)
    broker = KafkaBroker(stack_env.kafka_bootstrap, logger=None)
    subscribe(broker, consumer, max_records=10)
    await broker.start()
    try:
        await publish(producer, topic, [e.to_bytes() for e in events])
        await eventually(lambda: dead_letters_of(stack_env.kafka_bootstrap, projection.name),
                         lambda d: len(d) == 1, timeout=60)
        await eventually(lambda: counts(pool, schema), lambda c: len(c) == 4, timeout=60)

        listed = [json.loads(line) for line in
                  (await run_tmis(capsys, "list", "--consumer", projection.name, "--json"))
                  .splitlines()]
        assert [(d["event_id"], d["redriven"]) for d in listed] == [
            (str(events[2].event_id), False)]
        assert listed[0]["source"].startswith(f"{topic}/")
        shown = json.loads(await run_tmis(capsys, "show", str(listed[0]["offset"])))
        assert shown["value"]["event_id"] == str(events[2].event_id)
        assert "refusing" in shown["headers"]["dlq_reason"]

        projection.refused.clear()  # the projection is fixed: now the event can be applied
        said = await run_tmis(capsys, "redrive", "--consumer", projection.name)
        assert "1 re-driven, 0 already" in said
        await eventually(lambda: counts(pool, schema), lambda c: len(c) == 5, timeout=60)

        again = await run_tmis(capsys, "redrive", "--consumer", projection.name)
        assert "0 re-driven, 1 already re-driven before" in again
        pending = await run_tmis(capsys, "list", "--consumer", projection.name, "--pending")
        assert "1 dead letters" not in pending and "0 dead letters" in pending
        await asyncio.sleep(2)  # a second republish, had there been one, would arrive by now
    finally:
        await broker.stop()
    assert sorted(await counts(pool, schema)) == [1] * 5
