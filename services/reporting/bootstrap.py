"""Builds reporting's ServiceSpec: the one place wiring schema, migrations, the projection,
the routers and the handlers' dependencies."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from services.reporting.adapters.snapshot_queries import SnapshotQueries
from services.reporting.entrypoints import api, dashboard
from services.reporting.entrypoints.consumers import ReportingProjection
from services.reporting.service_layer.handlers import Deps
from shared.consumer import Projection
from shared.runtime import Runtime, ServiceSpec

MIGRATIONS = Path(__file__).parent / "adapters" / "migrations"


def projections(runtime: Runtime) -> Sequence[Projection]:
    return [ReportingProjection(runtime.store.schema)]


async def on_start(runtime: Runtime) -> None:
    runtime.extras["deps"] = Deps(runtime.pool, runtime.store,
                                  SnapshotQueries(runtime.store.schema))


SPEC = ServiceSpec(
    name="reporting", schema="reporting", migrations_dir=MIGRATIONS, writes_events=True,
    projections=projections, routers=(api.router, dashboard.router), on_start=on_start,
    consumer_batch=1000,
    description="Materialised comparison views the department publishes: stage table, region "
                "tables, findings, three-way comparison, sign-offs, confirmation tables; as of "
                "any date.",
)
