"""The one place intake is wired: schema, migrations, routers, the restructuring follower,
and the accounts' parts (its own token gate, password hashing, sign-in policy, peers)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from services.intake.adapters.accounts_pg import IntakeAccountGate
from services.intake.adapters.passwords import Argon2Hasher
from services.intake.adapters.peers import HttpPeers
from services.intake.config import intake_settings
from services.intake.domain.signin import SignInPolicy
from services.intake.entrypoints import api, api_accounts, api_files, api_self
from services.intake.entrypoints.consumers import RestructuringFollower
from services.intake.service_layer.account_ports import AccountDeps
from shared.bodylimit import BodyRule
from shared.consumer import Projection
from shared.runtime import Runtime, ServiceSpec

MIGRATIONS = Path(__file__).parent / "adapters" / "migrations"


def projections(runtime: Runtime) -> list[Projection]:
    return [RestructuringFollower(runtime.store)]


async def on_start(runtime: Runtime) -> None:
    """Intake keeps the accounts: its gate reads them directly (no projection of its own
    topic), so a disabled account is refused at its next request."""
    settings = intake_settings()
    runtime.extras["account_gate"] = IntakeAccountGate(runtime.pool, runtime.store.schema)
    runtime.extras["account_deps"] = AccountDeps(
        hasher=Argon2Hasher(settings.argon2_time_cost, settings.argon2_memory_kib),
        policy=SignInPolicy(max_failures=settings.signin_max_failures,
                            lock_seconds=settings.signin_lock_seconds,
                            delay_base_seconds=settings.signin_delay_base_seconds,
                            delay_cap_seconds=settings.signin_delay_cap_seconds,
                            address_max_failures=settings.signin_address_max_failures,
                            address_window_seconds=settings.signin_address_window_seconds,
                            address_lock_seconds=settings.signin_address_lock_seconds),
        clock=lambda: datetime.now(UTC))
    runtime.extras["peers"] = HttpPeers.from_env(runtime.settings)


SPEC = ServiceSpec(
    name="intake",
    schema=intake_settings().schema_name,
    migrations_dir=MIGRATIONS,
    writes_events=True,
    projections=projections,
    routers=(api.router, api_files.router, api_accounts.router, api_self.router),
    on_start=on_start,
    follows_accounts=False,
    body_limits=(BodyRule("POST", "/v1/documents", lambda: intake_settings().max_document_bytes,
                          "proof document (证明材料)"),
                 BodyRule("POST", "/v1/imports", lambda: intake_settings().max_import_bytes,
                          "import file (导入文件)")),
    description=(
        "The front door of TMIS: schools and education bureaus register schools and teachers, "
        "update records, transfer (省内调动), return to post (返岗), record departures, and "
        "import whole schools from the template. Every accepted change is an event on "
        "tmis.intake.school.v1 / tmis.intake.teacher.v1; the national ID number never is."
    ),
)
