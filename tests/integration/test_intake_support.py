"""Helpers for intake's integration tests (this module holds no tests): a running intake under
its own schema, schools and people made up per test, and counts of what the store holds."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import date
from typing import Any
from uuid import uuid4

from services.intake.bootstrap import SPEC
from shared.contracts.vocabulary import Gender
from shared.domain.idnumber import synthetic_id_number
from tests.support import RunningService, running_service, settings_for

COUNTY, CITY = "620102", "620100"  # 城关区, 兰州市
OTHER_COUNTY = "620502"  # 秦州区, 天水市
TEACHER_TOPIC = "tmis.intake.teacher.v1"
SCHOOL_TOPIC = "tmis.intake.school.v1"


async def intake_service(stack_env: Any, **overrides: Any) -> AsyncIterator[RunningService]:
    """An intake runtime under a fresh schema (its own tables and consumer group)."""
    schema = f"intake_t{uuid4().hex[:8]}"
    async with running_service(SPEC, settings_for(stack_env, **overrides),
                               schema=schema) as svc:
        yield svc


def schema_of(svc: RunningService) -> str:
    return svc.runtime.store.schema


async def event_count(svc: RunningService) -> int:
    return int(await svc.runtime.pool.fetchval(
        f"SELECT count(*) FROM {schema_of(svc)}.events"))


# Every ID number a_person has handed out in this test process. The synthetic space of one
# county is ~590,000 numbers (sequence 900-999) and a module's tests share one schema, so two
# independent draws of a few thousand people collide now and then; a second, unrelated test's
# teacher would then be refused as a duplicate person. A number is handed out once.
_ISSUED: set[str] = set()


def a_person(rng: random.Random | None = None, **changes: Any) -> dict[str, Any]:
    """A made-up teacher's record as JSON, with a checksum-valid synthetic ID number that no
    other a_person of this process has been given."""
    rng = rng or random.Random()
    while True:
        born = date(rng.randint(1962, 1996), rng.randint(1, 12), rng.randint(1, 28))
        gender = rng.choice([Gender.MALE, Gender.FEMALE])
        id_number = synthetic_id_number(rng, COUNTY, born, gender)
        if id_number not in _ISSUED:
            _ISSUED.add(id_number)
            break
    record: dict[str, Any] = {
        "name": f"测试教师{rng.randint(1, 10**6)}",
        "id_number": id_number,
        "gender": gender.value, "birth_date": born.isoformat(), "ethnicity": "汉族",
        "post_status": "in_post", "is_fulltime_teacher": rng.random() < 0.8,
        "hire_date": date(born.year + 22, 9, 1).isoformat(),
        "stage_taught": "primary",
    }
    record.update(changes)
    return record


def distinct_people(n: int, seed: int | None = None) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    people: dict[str, dict[str, Any]] = {}
    while len(people) < n:
        p = a_person(rng)
        people.setdefault(p["id_number"], p)
    return list(people.values())


async def a_school(svc: RunningService, county: str = COUNTY, **extra: Any) -> str:
    code = f"T{uuid4().hex[:10]}"
    body = {"code": code, "name": f"测试学校{code}", "stage": "primary", "county_code": county,
            **extra}
    r = await svc.client.post("/v1/schools", json=body, headers=svc.auth("province_admin"))
    assert r.status_code == 201, r.text
    return code


async def a_teacher(svc: RunningService, school: str,
                    person: dict[str, Any] | None = None) -> dict[str, Any]:
    r = await svc.client.post("/v1/teachers", json={"school_code": school,
                                                    "record": person or a_person()},
                              headers=svc.auth("school_admin", school_code=school))
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def a_proof(svc: RunningService, school: str) -> str:
    content = b"%PDF-1.4\n% proof from the education bureau " + uuid4().bytes
    r = await svc.client.post("/v1/documents", files={"file": ("proof.pdf", content)},
                              headers=svc.auth("school_admin", school_code=school))
    assert r.status_code == 201, r.text
    return str(r.json()["sha256"])
