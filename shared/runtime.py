"""The runtime every service process shares: pools, producer, relay, consumers, HTTP basics.

A service describes itself with a ServiceSpec (its schema, migrations, projections, routers);
`build_app(spec)` returns the FastAPI application whose lifespan opens the pool, applies the
migrations, provisions topics, starts the idempotent producer, the outbox relay (for services
that write events) and one faststream batch subscriber per projection, and closes them all in
reverse order. /healthz and /metrics are served by every service.

Every service also gets the account gate (shared/accounts.py): the `account_status` table and
its projection of tmis.intake.account.v1, registered after the service's own projections, and
`runtime.extras["account_gate"]`, which `shared.auth` asks on every request. A service that
keeps the accounts itself (intake) sets `follows_accounts=False` and installs its own gate.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.security import BaseSecurity, SASLScram256, SASLScram512
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from shared.accounts import ACCOUNT_STATUS_MIGRATIONS, AccountStatusProjection, ProjectedAccountGate
from shared.apidocs import install_api_docs
from shared.bodylimit import BodyLimit, BodyRule, bearer_signed_in
from shared.consumer import IdempotentConsumer, Projection, records_of
from shared.db import EVENTSTORE_MIGRATIONS, apply_migrations, create_pool
from shared.errors import TmisError
from shared.eventstore.store import EventStore
from shared.kafka import (
    KafkaCredentials,
    bootstrap_servers,
    credentials_from_env,
    ensure_topics,
    make_producer,
)
from shared.logging import configure_logging, get_logger
from shared.metrics import REQUEST_LATENCY
from shared.outbox import OutboxRelay, relay_health
from shared.settings import Settings, load_settings
from shared.startup import until_up
from shared.transient import is_transient
from shared.unavailable import install_unavailable_handler

log = get_logger(__name__)


@dataclass
class Runtime:
    """What handlers and consumers are given: built once per process by the lifespan."""

    settings: Settings
    pool: asyncpg.Pool
    producer: AIOKafkaProducer
    store: EventStore
    consumers: list[IdempotentConsumer] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)


ProjectionFactory = Callable[[Runtime], Sequence[Projection]]
Hook = Callable[[Runtime], Awaitable[None]]


@dataclass
class ServiceSpec:
    name: str
    schema: str
    migrations_dir: Path | None = None
    writes_events: bool = True
    projections: ProjectionFactory | None = None
    routers: Sequence[Any] = ()
    on_start: Hook | None = None
    consumer_batch: int = 500
    description: str = ""
    follows_accounts: bool = True  # keep account_status from the account topic (the gate)
    body_limits: Sequence[BodyRule] = ()  # upload routes: their limits, signed in first


def group_id(schema: str, consumer_name: str) -> str:
    """One consumer group per (schema, projection): a test running a service under another
    schema gets its own offsets."""
    return f"tmis.{schema}.{consumer_name}"


def subscribe(broker: KafkaBroker, consumer: IdempotentConsumer, max_records: int) -> None:
    """Wire an idempotent consumer to a faststream batch subscriber with explicit acks: the
    offsets are committed only after the handler returned (NACK_ON_ERROR seeks back).

    The consumer retries an infrastructure failure in place with backoff; one that outlasts
    its retries is raised here, so no offset is committed and the next poll redelivers the
    batch (never dead-lettered: shared/transient.py)."""

    @broker.subscriber(
        *consumer.projection.topics, group_id=group_id(consumer.schema, consumer.name), batch=True,
        max_records=max_records, auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR, title=f"{consumer.name}",
        description=f"Projection '{consumer.name}': applied idempotently, then acknowledged.",
        decoder=_records_not_bodies,
    )
    async def handle(body: Any, msg: KafkaMessage) -> None:
        try:
            await consumer.handle_records(records_of(msg))
        except Exception as exc:
            if is_transient(exc):
                log.warning("batch_not_acknowledged", consumer=consumer.name,
                            error=type(exc).__name__, detail=str(exc)[:200])
            raise


async def _records_not_bodies(message: Any) -> None:
    """The handler reads the raw records (the consumer parses each envelope itself), so skip
    faststream's decoding of the batch: a message object and a JSON parse per record, about
    a sixth of a consumer's CPU per event, thrown away."""
    return None


def broker_security(credentials: KafkaCredentials | None) -> BaseSecurity | None:
    """faststream's SASL settings for the service's principal (None: plaintext)."""
    if credentials is None:
        return None
    scram = SASLScram256 if credentials.mechanism == "SCRAM-SHA-256" else SASLScram512
    return scram(credentials.username, credentials.password)


async def start_runtime(spec: ServiceSpec, settings: Settings, *, relay: bool = True,
                        consumers: bool = True) -> tuple[Runtime, KafkaBroker,
                                                         list[asyncio.Task[Any]], asyncio.Event]:
    """Everything a service process needs. `relay=False` when the relay runs as a process of
    its own (shared/supervisor.py); `consumers=False` for a process that only serves HTTP."""
    started = time.perf_counter()
    dirs = [EVENTSTORE_MIGRATIONS] + ([spec.migrations_dir] if spec.migrations_dir else [])
    if spec.follows_accounts:
        dirs.append(ACCOUNT_STATUS_MIGRATIONS)
    wait = settings.startup_wait_seconds  # PostgreSQL or Kafka not up yet: wait, do not crash
    pool = await until_up("postgresql", lambda: _open_database(settings, spec.schema, dirs), wait)
    await until_up("kafka topics", lambda: ensure_topics(settings.kafka_bootstrap), wait)
    producer = await until_up("kafka producer", lambda: _started_producer(settings, spec.name),
                              wait)
    runtime = Runtime(settings=settings, pool=pool, producer=producer,
                      store=EventStore(spec.schema, spec.name))
    broker = KafkaBroker(bootstrap_servers(settings.kafka_bootstrap), client_id=f"tmis-{spec.name}",
                         logger=None, security=broker_security(credentials_from_env()))
    projections = list(spec.projections(runtime) if spec.projections else ())
    if spec.follows_accounts:
        # last, so a service's own projections keep their places in runtime.consumers
        projections.append(AccountStatusProjection(spec.schema))
        runtime.extras["account_gate"] = ProjectedAccountGate(pool, spec.schema)
    for projection in projections if consumers else ():
        consumer = IdempotentConsumer(pool, spec.schema, projection, producer)
        runtime.consumers.append(consumer)
        subscribe(broker, consumer, spec.consumer_batch)
    if spec.on_start:
        await spec.on_start(runtime)
    stop = asyncio.Event()
    tasks: list[asyncio.Task[Any]] = []
    if spec.writes_events and relay:
        outbox = OutboxRelay(settings.database_url, spec.schema, spec.name, producer)
        runtime.extras["relay"] = outbox
        tasks.append(asyncio.create_task(outbox.run(stop), name=f"{spec.name}-relay"))
    if runtime.consumers:
        await broker.start()
    log.info("service_started", service=spec.name,
             ms=round((time.perf_counter() - started) * 1000))
    return runtime, broker, tasks, stop


async def _open_database(settings: Settings, schema: str, dirs: list[Path]) -> asyncpg.Pool:
    pool = await create_pool(settings.database_url, max_size=settings.db_pool_size,
                             command_timeout=settings.db_command_timeout,
                             timeout=settings.db_connect_timeout)
    try:
        await apply_migrations(pool, schema, dirs)
    except BaseException:
        await pool.close()
        raise
    return pool


async def _started_producer(settings: Settings, service: str) -> AIOKafkaProducer:
    producer = make_producer(settings.kafka_bootstrap, f"tmis-{service}")
    try:
        await producer.start()
    except BaseException:
        with contextlib.suppress(Exception):
            await producer.stop()
        raise
    return producer


async def stop_runtime(runtime: Runtime, broker: KafkaBroker, tasks: list[asyncio.Task[Any]],
                       stop: asyncio.Event) -> None:
    stop.set()
    with contextlib.suppress(Exception):
        await broker.stop()
    for t in tasks:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(t, 10)
    with contextlib.suppress(Exception):
        await runtime.producer.stop()
    await runtime.pool.close()


def build_app(spec: ServiceSpec, settings: Settings | None = None, *,
              relay: bool = True) -> FastAPI:
    """The service's FastAPI app; its lifespan runs the runtime (with the relay in the same
    process unless `relay=False`: tests and single-process runs keep it in)."""
    settings = settings or load_settings()
    configure_logging(spec.name, settings.log_level)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime, broker, tasks, stop = await start_runtime(spec, settings, relay=relay)
        app.state.runtime = runtime
        try:
            yield
        finally:
            await stop_runtime(runtime, broker, tasks, stop)

    app = FastAPI(title=f"TMIS {spec.name}", description=spec.description, lifespan=lifespan,
                  version="1", docs_url=None, redoc_url=None)
    install_api_docs(app)  # /docs and /redoc from bundled assets, not a CDN
    install_basics(app, spec.name, spec.body_limits)
    for router in spec.routers:
        app.include_router(router)
    return app


def install_metrics(app: FastAPI, service: str) -> None:
    """Prometheus /metrics and the request-latency histogram (every service and the web front).

    The timing is a plain ASGI middleware: Starlette's BaseHTTPMiddleware (what
    `@app.middleware("http")` builds) runs each request in an extra task with memory streams,
    about 15% of intake's CPU per submission under load (py-spy)."""

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    app.add_middleware(LatencyMiddleware, service=service)


class LatencyMiddleware:
    """Observes each HTTP request's duration by service, method, route and status."""

    def __init__(self, app: Any, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            REQUEST_LATENCY.labels(self.service, scope["method"], route, status).observe(
                time.perf_counter() - started)


def install_basics(app: FastAPI, service: str, body_limits: Sequence[BodyRule] = ()) -> None:
    """/healthz, /metrics, request latency, TmisError -> JSON error responses, a transient
    database or broker failure -> 503 + Retry-After (shared/unavailable.py), and bounded
    request bodies (shared/bodylimit.py: 413 past the limit, chunked or not)."""

    @app.get("/healthz", include_in_schema=False)
    async def healthz(request: Request) -> JSONResponse:
        runtime: Runtime = request.app.state.runtime
        # The outbox backlog tells a caller (the simulator, an operator) whether everything this
        # service accepted has reached Kafka; consumer lag is read from Kafka itself. A relay
        # that is not publishing while rows wait (in its own process or this one) is a 503.
        relay = await relay_health(runtime.pool, runtime.store.schema)
        body = {"service": service, "status": "ok" if relay["ok"] else "relay_stalled",
                "outbox_backlog": relay["backlog"], "relay": relay,
                "consumers": {c.name: {"group": group_id(c.schema, c.name),
                                       "topics": list(c.projection.topics),
                                       "applied": c.applied, "skipped": c.skipped}
                              for c in runtime.consumers}}
        return JSONResponse(body, status_code=200 if relay["ok"] else 503)

    install_metrics(app, service)
    install_unavailable_handler(app, service)  # PostgreSQL/Kafka away: 503 + Retry-After

    @app.exception_handler(TmisError)
    async def tmis_error(request: Request, exc: TmisError) -> JSONResponse:
        if exc.status_code == 403:
            log.warning("forbidden", path=request.url.path, reason=exc.message)
        return JSONResponse(exc.as_dict(), status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def request_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [{"loc": ".".join(str(p) for p in e.get("loc", ())), "msg": e.get("msg", "")}
                    for e in exc.errors()]
        return JSONResponse({"error": "validation_failed", "message": "invalid request",
                             "problems": problems}, status_code=422)

    app.add_middleware(BodyLimit, rules=body_limits, signed_in=bearer_signed_in)


ROLES = ("http", "relay", "all")


def serve(spec: ServiceSpec) -> None:
    """`python -m services.<name> [ROLE]`: without a role, supervise the service's processes
    (shared/supervisor.py: `http`, and `relay` for services that write events); `http` serves
    the app with TMIS_HTTP_WORKERS uvicorn workers; `relay` runs the outbox relay alone; `all`
    runs everything in one process (the layout before processes were split)."""
    role = sys.argv[1] if len(sys.argv) > 1 else "supervise"
    try:
        settings = load_settings()
    except ValueError as exc:  # pydantic's ValidationError: a missing or weak secret, ...
        sys.exit(f"{spec.name} refuses to start: {exc}")
    if role == "supervise":
        from shared.supervisor import supervise

        roles = ["http", "relay"] if spec.writes_events else ["http"]
        sys.exit(supervise(f"services.{spec.name}", roles))
    if role not in ROLES:
        sys.exit(f"unknown role {role!r}: one of {', '.join(ROLES)} (or none: supervise)")
    if role == "relay":
        configure_logging(f"{spec.name}-relay", settings.log_level)
        import uvloop

        uvloop.run(run_relay(spec, settings))
        return
    import uvicorn

    os.environ["TMIS_SERVICE_SPEC"] = f"services.{spec.name}.bootstrap:SPEC"
    os.environ["TMIS_SERVICE_RELAY"] = "1" if role == "all" else "0"
    uvicorn.run("shared.runtime:app_from_env", factory=True, host=settings.http_host,
                port=settings.http_port, workers=settings.http_workers, loop="uvloop",
                http="httptools", log_level="warning", access_log=False, log_config=None,
                timeout_keep_alive=settings.http_keep_alive_seconds)


def app_from_env() -> FastAPI:
    """uvicorn's factory in each worker process: the app of TMIS_SERVICE_SPEC."""
    module, _, name = os.environ["TMIS_SERVICE_SPEC"].partition(":")
    spec = getattr(importlib.import_module(module), name)
    assert isinstance(spec, ServiceSpec)
    return build_app(spec, relay=os.environ.get("TMIS_SERVICE_RELAY") == "1")


async def run_relay(spec: ServiceSpec, settings: Settings) -> None:
    """The relay process: migrations applied by the http process (or here, whichever is
    first), the idempotent producer, the relay until SIGTERM."""
    pool = await create_pool(settings.database_url, max_size=2)
    try:
        dirs = [EVENTSTORE_MIGRATIONS] + ([spec.migrations_dir] if spec.migrations_dir else [])
        await apply_migrations(pool, spec.schema, dirs)
    finally:
        await pool.close()
    await ensure_topics(settings.kafka_bootstrap)
    producer = make_producer(settings.kafka_bootstrap, f"tmis-{spec.name}-relay")
    await producer.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    relay = OutboxRelay(settings.database_url, spec.schema, spec.name, producer)
    log.info("relay_process_started", service=spec.name, pid=os.getpid())
    try:
        await relay.run(stop)
    finally:
        with contextlib.suppress(Exception):
            await producer.stop()
