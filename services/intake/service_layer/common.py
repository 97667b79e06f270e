"""What every intake handler shares: regions, business time, today's date, event metadata."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from services.intake.domain.school import School
from shared.auth import Principal, Region, Role
from shared.errors import Problem, ValidationProblem
from shared.eventstore.store import Metadata

SHANGHAI = ZoneInfo("Asia/Shanghai")
BUSINESS_TIME_ROLES = (Role.PROVINCE_ADMIN, Role.SERVICE)


def today() -> date:
    """The date in the province (dates of birth and hire are compared with it)."""
    return datetime.now(SHANGHAI).date()


def region_of(school: School, *, with_school: bool = True) -> Region:
    """The school as a region. Without the school code it is the school's county and city:
    what a bureau covers, and what a school administrator does not."""
    return Region(school_code=school.code if with_school else None,
                  county_code=school.profile.county_code, city_code=school.profile.city_code)


def business_time(who: Principal, occurred_at: datetime | None) -> datetime | None:
    """The business time a command may claim: only the province and service accounts load
    history or simulate; everyone else's events happen now (None)."""
    if occurred_at is None:
        return None
    if who.role not in BUSINESS_TIME_ROLES:
        raise ValidationProblem([Problem(
            "occurred_at", "only province administrators and service accounts may set the "
                           "business time; leave it out")])
    if occurred_at.tzinfo is None:
        occurred_at = occurred_at.replace(tzinfo=UTC)
    return occurred_at


def metadata(who: Principal, correlation_id: UUID | None = None,
             occurred_at: datetime | None = None) -> Metadata:
    return Metadata(actor=who.subject or str(who.role), correlation_id=correlation_id or uuid4(),
                    occurred_at=occurred_at)
