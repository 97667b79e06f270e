"""Finding a teacher: by the start of a name inside one's region, by ID number anywhere in
the province (where the person is, not their record, when outside one's region)."""

from __future__ import annotations

import pytest

from services.intake.domain.commands import RecordDeparture
from services.intake.domain.search import parse_query
from services.intake.service_layer import search, teachers
from shared.auth import Principal, Role
from shared.contracts.vocabulary import LeaveReason
from shared.errors import Forbidden, ValidationProblem
from tests.unit.test_intake_service_layer import (
    OTHER_COUNTY,
    PROVINCE,
    FakeRegistry,
    a_person,
    a_school,
    a_teacher,
    county_admin,
    school_admin,
)


async def test_a_county_finds_teachers_by_the_start_of_a_name_in_its_county_only() -> None:
    repo = FakeRegistry()
    mine, theirs = await a_school(repo), await a_school(repo, county=OTHER_COUNTY)
    wang = await a_teacher(repo, mine, a_person(name="王小明"))
    await a_teacher(repo, mine, a_person(name="李华"))
    await a_teacher(repo, theirs, a_person(name="王大力"))

    found = await search.search_teachers(repo, county_admin(mine.profile.county_code),
                                         parse_query("王"), limit=10, offset=0)

    assert [f.hit.teacher.teacher_id for f in found] == [wang.teacher_id]
    assert found[0].in_region and found[0].hit.school.code == mine.code


async def test_the_province_finds_a_name_in_every_county_in_name_order() -> None:
    repo = FakeRegistry()
    a, b = await a_school(repo), await a_school(repo, county=OTHER_COUNTY)
    await a_teacher(repo, a, a_person(name="王乙"))
    await a_teacher(repo, b, a_person(name="王甲"))

    found = await search.search_teachers(repo, PROVINCE, parse_query("王"), limit=10, offset=0)

    assert [f.hit.teacher.record.name for f in found] == sorted(["王乙", "王甲"])


async def test_a_receiving_school_finds_a_teacher_of_another_school_by_id_number_without_the_record(
) -> None:
    repo = FakeRegistry()
    sending, receiving = await a_school(repo, county=OTHER_COUNTY), await a_school(repo)
    person = a_person(name="张三")
    teacher = await a_teacher(repo, sending, person)

    found = await search.search_teachers(repo, school_admin(receiving.code),
                                         parse_query(person.id_number), limit=10, offset=0)

    assert [f.hit.teacher.teacher_id for f in found] == [teacher.teacher_id]
    assert not found[0].in_region and found[0].hit.school.code == sending.code


async def test_an_id_number_finds_a_person_who_left_for_a_return_to_post() -> None:
    repo = FakeRegistry()
    school = await a_school(repo)
    person = a_person()
    teacher = await a_teacher(repo, school, person)
    await teachers.record_departure(repo, school_admin(school.code), RecordDeparture(
        teacher.teacher_id, LeaveReason.RETIRED, teacher.version))

    by_number = await search.search_teachers(repo, county_admin(school.profile.county_code),
                                             parse_query(person.id_number), limit=10, offset=0)
    by_name = await search.search_teachers(repo, county_admin(school.profile.county_code),
                                           parse_query(person.name), limit=10, offset=0)

    assert [f.hit.teacher.has_left for f in by_number] == [True]
    assert by_name == []


async def test_a_school_admin_lists_its_own_school_in_pages_and_no_other() -> None:
    repo = FakeRegistry()
    school, other = await a_school(repo), await a_school(repo)
    for n in range(5):
        await a_teacher(repo, school, a_person(name=f"教师{n}"))
    me = school_admin(school.code)

    first = await search.search_teachers(repo, me, parse_query(None, school_code=school.code),
                                         limit=2, offset=0)
    rest = await search.search_teachers(repo, me, parse_query(None, school_code=school.code),
                                        limit=10, offset=2)

    assert [f.hit.teacher.record.name for f in first + rest] == [f"教师{n}" for n in range(5)]
    with pytest.raises(Forbidden):
        await search.search_teachers(repo, me, parse_query(None, school_code=other.code),
                                     limit=10, offset=0)


async def test_a_teacher_account_cannot_search() -> None:
    with pytest.raises(Forbidden):
        await search.search_teachers(FakeRegistry(), Principal("t", Role.TEACHER, teacher_id="x"),
                                     parse_query("王"), limit=10, offset=0)


@pytest.mark.parametrize("q", ["62010219800101123", "620102198001011234X", "620102198013011230"])
def test_a_malformed_id_number_is_refused_at_q(q: str) -> None:
    with pytest.raises(ValidationProblem) as refused:
        parse_query(q)
    assert refused.value.problems[0].loc == "q"


def test_an_empty_query_without_a_school_is_refused_at_q() -> None:
    with pytest.raises(ValidationProblem) as refused:
        parse_query("  ")
    assert "school_code" in refused.value.problems[0].msg


def test_a_name_is_trimmed_and_one_with_digits_is_still_a_name() -> None:
    assert parse_query(" 王小明 ").name_prefix == "王小明"
    assert parse_query("教师12").name_prefix == "教师12"
