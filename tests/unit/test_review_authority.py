"""After the school, the bureau of the school's reporting line reviews: the county for 县属
schools, the city for 市属, the province for 厅直属 schools and universities."""

from __future__ import annotations

import pytest

from services.review.domain.authority import lines_reviewed_by, second_level_reviewer
from services.review.domain.decisions import DecideRecord
from services.review.domain.model import Status
from services.review.service_layer import handlers
from shared.auth import Principal, Region, Role
from shared.errors import Forbidden
from tests.unit.test_review_handlers import (
    CITY,
    COUNTY_A,
    FakeStore,
    FakeUnitOfWork,
    county_admin,
    school_admin,
    submitted,
)

PROVINCE = Principal("province", Role.PROVINCE_ADMIN)
CITY_ADMIN = Principal("city:" + CITY, Role.CITY_ADMIN, city_code=CITY)


@pytest.mark.parametrize(("line", "role"), [
    ("county", Role.COUNTY_ADMIN), ("city", Role.CITY_ADMIN),
    ("province", Role.PROVINCE_ADMIN), ("university", Role.PROVINCE_ADMIN)])
def test_each_reporting_line_has_its_reviewing_bureau(line: str, role: Role) -> None:
    assert second_level_reviewer(line) is role
    assert line in lines_reviewed_by(role)


async def review_after_the_school(line: str, reviewer: Principal) -> Status:
    store = FakeStore()
    store.regions = {"S1": Region("S1", COUNTY_A, CITY, reporting_line=line)}
    h = submitted(store)
    uow = lambda: FakeUnitOfWork(store)  # noqa: E731
    await handlers.decide_record(uow, school_admin(), DecideRecord(h.teacher_id, 1, True))
    return (await handlers.decide_record(uow, reviewer, DecideRecord(h.teacher_id, 1,
                                                                     True))).status


async def test_a_university_is_reviewed_by_the_province_not_its_county() -> None:
    with pytest.raises(Forbidden, match="省级"):
        await review_after_the_school("university", county_admin())
    assert await review_after_the_school("university", PROVINCE) is Status.COUNTY_APPROVED


async def test_a_city_school_is_reviewed_by_its_city() -> None:
    with pytest.raises(Forbidden, match="市州"):
        await review_after_the_school("city", county_admin())
    assert await review_after_the_school("city", CITY_ADMIN) is Status.COUNTY_APPROVED


async def test_the_province_does_not_review_a_county_school() -> None:
    with pytest.raises(Forbidden, match="县区"):
        await review_after_the_school("county", PROVINCE)
