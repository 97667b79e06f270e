"""Wires orgsync: its schema and migrations, the registry projection, the HTTP routers, and
the stores its handlers use (kept in `runtime.extras`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from services.orgsync.adapters.batch_store import BatchStore
from services.orgsync.adapters.registry_store import RegistryStore
from services.orgsync.config import SCHEMA, SERVICE, load_orgsync_settings
from services.orgsync.entrypoints.api import router
from services.orgsync.entrypoints.consumers import RegistryProjection
from services.orgsync.service_layer.handlers import Stores
from shared.bodylimit import BodyRule
from shared.consumer import Projection
from shared.runtime import Runtime, ServiceSpec

MIGRATIONS = Path(__file__).resolve().parent / "adapters" / "migrations"


def stores_of(runtime: Runtime) -> Stores:
    """The handlers' stores, built once per runtime (under the runtime's schema, which a test
    may have replaced)."""
    stores: Stores | None = runtime.extras.get("orgsync_stores")
    if stores is None:
        schema = runtime.store.schema
        stores = Stores(runtime.store, RegistryStore(schema), BatchStore(schema))
        runtime.extras["orgsync_stores"] = stores
        runtime.extras["orgsync_settings"] = load_orgsync_settings()
    return stores


def projections(runtime: Runtime) -> Sequence[Projection]:
    return [RegistryProjection(stores_of(runtime).registry)]


async def on_start(runtime: Runtime) -> None:
    stores_of(runtime)


SPEC = ServiceSpec(
    name=SERVICE,
    schema=SCHEMA,
    migrations_dir=MIGRATIONS,
    writes_events=True,
    projections=projections,
    routers=[router],
    on_start=on_start,
    consumer_batch=1000,
    body_limits=[BodyRule("POST", "/v1/batches/(plan|apply|announce)",
                          lambda: load_orgsync_settings().max_upload_bytes,
                          "restructuring batch (调整批次文件)")],
    description="The quarterly school restructuring job: plan, announce and apply batches of "
                "merges, closures, openings, renames and re-stagings; emits "
                "RestructuringBatchAnnounced / RestructuringBatchApplied on "
                "tmis.orgsync.restructuring.v1.",
)
