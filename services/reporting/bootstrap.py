"""Builds reporting's ServiceSpec: the one place wiring schema, migrations, the projection,
the routers and the handlers' dependencies."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from services.reporting.adapters.chasing_queries import ChasingQueries
from services.reporting.adapters.snapshot_queries import SnapshotQueries
from services.reporting.entrypoints import api, api_chasing, dashboard
from services.reporting.entrypoints.consumers import ReportingProjection
from services.reporting.service_layer.chasing import ChasingDeps
from services.reporting.service_layer.handlers import Deps
from shared.bodylimit import BodyRule
from shared.consumer import Projection
from shared.runtime import Runtime, ServiceSpec

MIGRATIONS = Path(__file__).parent / "adapters" / "migrations"


# Members of reporting's one consumer group in this process. Kafka splits the partitions
# between them and each applies its own batches, so while one waits for PostgreSQL the other
# parses and folds: on two cores about half again the events per second of a single member.
# Safe because the projection is a function of the set of events, not of their order, and
# writers of one entity are serialised by its advisory lock (taken in one global order).
# They share the projection's name, hence its group and its processed-event record.
GROUP_MEMBERS = 2


def projections(runtime: Runtime) -> Sequence[Projection]:
    return [ReportingProjection(runtime.store.schema) for _ in range(GROUP_MEMBERS)]


async def on_start(runtime: Runtime) -> None:
    deps = Deps(runtime.pool, runtime.store, SnapshotQueries(runtime.store.schema))
    runtime.extras["deps"] = deps
    runtime.extras["chasing"] = ChasingDeps(deps, ChasingQueries(runtime.store.schema))


SPEC = ServiceSpec(
    name="reporting", schema="reporting", migrations_dir=MIGRATIONS, writes_events=True,
    projections=projections, routers=(api.router, api_chasing.router, dashboard.router),
    on_start=on_start,
    consumer_batch=2000,
    body_limits=[BodyRule("POST", "/v1/baselines", api.MAX_BASELINE_BYTES,
                          "baseline file (基数表文件)")],
    description="Materialised comparison views the department publishes: stage table, region "
                "tables, findings, three-way comparison, sign-offs, confirmation tables, "
                "collection rounds and reminders to lagging units (催报); as of any date.",
)
