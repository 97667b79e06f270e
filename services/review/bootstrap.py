"""The one place that wires review: schema, migrations, projection consumer, HTTP routers."""

from __future__ import annotations

from pathlib import Path

from services.review.config import review_config
from services.review.entrypoints import api
from services.review.entrypoints.consumers import IntakeEventsProjection
from shared.consumer import Projection
from shared.runtime import Runtime, ServiceSpec

MIGRATIONS = Path(__file__).resolve().parent / "adapters" / "migrations"


def projections(runtime: Runtime) -> list[Projection]:
    return [IntakeEventsProjection(runtime.store.schema)]


async def on_start(runtime: Runtime) -> None:
    runtime.extras["review_config"] = review_config()


SPEC = ServiceSpec(
    name="review",
    schema=review_config().review_schema_name,
    migrations_dir=MIGRATIONS,
    writes_events=True,
    projections=projections,
    routers=[api.router],
    on_start=on_start,
    # A Kafka batch is applied in one transaction with set-based SQL: bigger batches, fewer
    # round trips and commits (bench/review_throughput.py).
    consumer_batch=2000,
    description="School and county review of teacher records (谁填报谁负责，谁审核谁负责): "
                "queues, core-information checks, decisions, transfers with proof, spot checks.",
)
