"""The one place intake is wired: schema, migrations, routers, the restructuring follower."""

from __future__ import annotations

from pathlib import Path

from services.intake.config import intake_settings
from services.intake.entrypoints import api, api_files
from services.intake.entrypoints.consumers import RestructuringFollower
from shared.consumer import Projection
from shared.runtime import Runtime, ServiceSpec

MIGRATIONS = Path(__file__).parent / "adapters" / "migrations"


def projections(runtime: Runtime) -> list[Projection]:
    return [RestructuringFollower(runtime.store)]


SPEC = ServiceSpec(
    name="intake",
    schema=intake_settings().schema_name,
    migrations_dir=MIGRATIONS,
    writes_events=True,
    projections=projections,
    routers=(api.router, api_files.router),
    description=(
        "The front door of TMIS: schools and education bureaus register schools and teachers, "
        "update records, transfer (省内调动), return to post (返岗), record departures, and "
        "import whole schools from the template. Every accepted change is an event on "
        "tmis.intake.school.v1 / tmis.intake.teacher.v1; the national ID number never is."
    ),
)
