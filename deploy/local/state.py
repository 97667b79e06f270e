"""``<state>/stack.json``: what the local stack started (pids, ports, urls, timings).

Ports stay in the file after ``down`` so the next ``up`` reuses them: clients configured with
the printed values keep working, and the KRaft quorum keeps its controller address.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

FILE_NAME = "stack.json"


@dataclass
class KafkaNode:
    """One broker JVM: its client and controller ports."""

    port: int
    controller_port: int
    pid: int | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


@dataclass
class KafkaRecord(KafkaNode):
    """The single broker, or broker 1 of a cluster with the others in ``more``."""

    more: list[KafkaNode] = field(default_factory=list)

    @property
    def nodes(self) -> list[KafkaNode]:
        """Every broker, node 1 first (cluster node n is ``nodes[n - 1]``)."""
        return [self, *self.more]

    @property
    def brokers(self) -> int:
        return 1 + len(self.more)

    @property
    def bootstrap(self) -> str:
        """Every broker's address, comma-separated (what Kafka clients take)."""
        return ",".join(n.address for n in self.nodes)


@dataclass
class PostgresRecord:
    port: int
    base_dir: str
    pid: int | None = None
    durable: bool = True  # what was asked for at start; `tmis status` reads the server

    @property
    def url(self) -> str:
        return f"postgresql://tmis@127.0.0.1:{self.port}/tmis"


@dataclass
class ServiceRecord:
    port: int
    pid: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class StackState:
    kafka: KafkaRecord | None = None
    postgres: PostgresRecord | None = None
    services: dict[str, ServiceRecord] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    with_services: bool = True  # False after `tmis up --infra-only`

    def pids(self) -> list[int]:
        kafka = self.kafka.nodes if self.kafka else []
        records: list[Any] = [*kafka, self.postgres, *self.services.values()]
        return [r.pid for r in records if r is not None and r.pid]

    def to_json(self) -> dict[str, Any]:
        """The file's content; urls are written out for people and scripts reading it."""
        doc: dict[str, Any] = asdict(self)
        if self.kafka:
            doc["kafka"]["bootstrap"] = self.kafka.bootstrap
            if not self.kafka.more:  # a single broker's record stays as it always was
                del doc["kafka"]["more"]
        if self.postgres:
            doc["postgres"]["url"] = self.postgres.url
        for name, record in self.services.items():
            doc["services"][name]["url"] = record.url
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> StackState:
        kafka, pg = doc.get("kafka"), doc.get("postgres")
        return cls(
            kafka=KafkaRecord(
                kafka["port"], kafka["controller_port"], kafka.get("pid"),
                [KafkaNode(n["port"], n["controller_port"], n.get("pid"))
                 for n in kafka.get("more", [])],
            )
            if kafka
            else None,
            postgres=PostgresRecord(pg["port"], pg["base_dir"], pg.get("pid"),
                                    pg.get("durable", True)) if pg else None,
            services={
                name: ServiceRecord(s["port"], s.get("pid"))
                for name, s in doc.get("services", {}).items()
            },
            timings=dict(doc.get("timings", {})),
            with_services=bool(doc.get("with_services", True)),
        )


def load(state_dir: Path) -> StackState:
    """The recorded state, or an empty one (missing or unreadable file)."""
    try:
        doc = json.loads((state_dir / FILE_NAME).read_text())
        return StackState.from_json(doc)
    except (OSError, ValueError, KeyError, TypeError):
        return StackState()


def save(state_dir: Path, state: StackState) -> None:
    """Write the state atomically (a reader never sees half a file)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    tmp = state_dir / f".{FILE_NAME}.tmp"
    tmp.write_text(json.dumps(state.to_json(), indent=2, sort_keys=True) + "\n")
    os.replace(tmp, state_dir / FILE_NAME)
