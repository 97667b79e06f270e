"""The people and places the browser journeys need, made through intake's public API the way a
province is meant to be set up: the province's first system administrator by bootstrap (a
service token minted with the signing key, as `tmis account create --bootstrap` does), then each
level's system administrator creates the level below and its own unit's information
administrator, who does the work.

Places: school A (城关区 620102, 兰州市 620100) is where the journeys happen; school B (秦州区
620502, 天水市 620500) is "another region". Every person is made up; ID numbers are synthetic
(shared/domain/idnumber.py).
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx

from shared.auth import mint_token
from shared.contracts.vocabulary import Gender
from shared.domain.idnumber import synthetic_id_number
from shared.settings import Settings

PASSWORD = "Browser-tests-2026"  # every seeded account's; at least 10 letters and digits
COUNTY_A, CITY_A = "620102", "620100"  # 城关区, 兰州市
COUNTY_B, CITY_B = "620502", "620500"  # 秦州区, 天水市


@dataclass(frozen=True)
class Login:
    username: str
    password: str = PASSWORD


@dataclass(frozen=True)
class TeacherLogin:
    teacher_id: str
    name: str
    id_number: str
    credential: str


@dataclass(frozen=True)
class Seeded:
    teacher_id: str
    name: str


@dataclass
class World:
    """Who signs in where. `accounts` keys: province, city_a, county_a, school_a, county_b,
    school_b (the information administrators: 信息管理员) and province_sys."""

    school_a: str
    school_a_name: str
    school_b: str
    school_b_name: str
    accounts: dict[str, Login] = field(default_factory=dict)
    teacher: TeacherLogin | None = None
    seeded_teachers: list[Seeded] = field(default_factory=list)  # at school A, submitted


def a_person(rng: random.Random, county: str = COUNTY_A, **changes: Any) -> dict[str, Any]:
    """A made-up teacher's record as intake's RecordIn JSON."""
    born = date(rng.randint(1968, 1996), rng.randint(1, 12), rng.randint(1, 28))
    gender = rng.choice([Gender.MALE, Gender.FEMALE])
    surname = rng.choice("王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗")
    given = "".join(rng.choice("文明华建国丽芳静敏强军伟秀英红霞玉兰晓宇") for _ in range(2))
    record: dict[str, Any] = {
        "name": surname + given,
        "id_number": synthetic_id_number(rng, county, born, gender),
        "gender": gender.value, "birth_date": born.isoformat(), "ethnicity": "汉族",
        "post_status": "in_post", "is_fulltime_teacher": True,
        "hire_date": date(born.year + 22, 9, 1).isoformat(), "stage_taught": "primary",
    }
    record.update(changes)
    return record


def wrong_check_digit(id_number: str) -> str:
    """The same ID number with another check character: what a typing slip gives."""
    return id_number[:-1] + ("0" if id_number[-1] != "0" else "1")


class Seeder:
    """Calls intake as whoever it signed in as last."""

    def __init__(self, intake_url: str, settings: Settings | None = None) -> None:
        self.client = httpx.AsyncClient(base_url=intake_url, trust_env=False, timeout=60)
        self.settings = settings or Settings()
        self.tokens: dict[str, str] = {}

    async def close(self) -> None:
        await self.client.aclose()

    async def post(self, as_who: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        r = await self.client.post(path, json=body,
                                   headers={"Authorization": f"Bearer {self.tokens[as_who]}"})
        if r.status_code not in (200, 201):
            raise RuntimeError(f"POST {path} as {as_who}: {r.status_code} {r.text}")
        answer: dict[str, Any] = r.json()
        return answer

    async def sign_in(self, key: str, login: Login) -> None:
        r = await self.client.post("/v1/auth/login", json={"username": login.username,
                                                           "password": login.password})
        if r.status_code != 200:
            raise RuntimeError(f"sign-in of {login.username}: {r.status_code} {r.text}")
        self.tokens[key] = str(r.json()["token"])

    async def account(self, by: str, key: str, kind: str, level: str, code: str | None,
                      username: str, display_name: str) -> Login:
        await self.post(by, "/v1/accounts", {
            "kind": kind, "level": level, "code": code, "username": username,
            "display_name": display_name, "password": PASSWORD})
        login = Login(username)
        await self.sign_in(key, login)
        return login


async def seed_world(intake_url: str, seed: int = 20261125) -> World:
    rng = random.Random(seed)
    s = Seeder(intake_url)
    try:
        s.tokens["bootstrap"] = mint_token(s.settings, "service", subject="tests:browser")
        accounts: dict[str, Login] = {}
        accounts["province_sys"] = await s.account(
            "bootstrap", "province_sys", "system", "province", None, "sheng.xitong", "省系统管理员")
        accounts["province"] = await s.account(
            "province_sys", "province", "info", "province", None, "sheng.xinxi", "省信息管理员")

        school_a, school_b = f"{COUNTY_A}{rng.randint(1000, 9999)}", \
            f"{COUNTY_B}{rng.randint(1000, 9999)}"
        world = World(school_a, "城关区第一实验小学", school_b, "秦州区东关小学")
        for code, name, county in ((school_a, world.school_a_name, COUNTY_A),
                                   (school_b, world.school_b_name, COUNTY_B)):
            await s.post("province", "/v1/schools", {
                "code": code, "name": name, "stage": "primary", "county_code": county})

        for suffix, city, county, school in (("a", CITY_A, COUNTY_A, school_a),
                                             ("b", CITY_B, COUNTY_B, school_b)):
            await s.account("province_sys", f"city_{suffix}_sys", "system", "city", city,
                            f"shi.{suffix}.xitong", f"市系统管理员{suffix.upper()}")
            accounts[f"city_{suffix}"] = await s.account(
                f"city_{suffix}_sys", f"city_{suffix}", "info", "city", city,
                f"shi.{suffix}.xinxi", f"市信息管理员{suffix.upper()}")
            await s.account(f"city_{suffix}_sys", f"county_{suffix}_sys", "system", "county",
                            county, f"xian.{suffix}.xitong", f"县系统管理员{suffix.upper()}")
            accounts[f"county_{suffix}"] = await s.account(
                f"county_{suffix}_sys", f"county_{suffix}", "info", "county", county,
                f"xian.{suffix}.shenhe", f"县审核员{suffix.upper()}")
            await s.account(f"county_{suffix}_sys", f"school_{suffix}_sys", "system", "school",
                            school, f"xiao.{suffix}.xitong", f"校系统管理员{suffix.upper()}")
            accounts[f"school_{suffix}"] = await s.account(
                f"school_{suffix}_sys", f"school_{suffix}", "info", "school", school,
                f"xiao.{suffix}.xinxi", f"校信息管理员{suffix.upper()}")
        world.accounts = accounts

        # A few teachers already at school A, so lists and the dashboard are not empty; the
        # first gets a self-service credential for the teacher's own sign-in.
        for i in range(3):
            person = a_person(rng)
            added = await s.post("school_a", "/v1/teachers",
                                 {"school_code": school_a, "record": person})
            world.seeded_teachers.append(Seeded(added["teacher_id"], person["name"]))
            if i == 0:
                issued = await s.post("school_a",
                                      f"/v1/teachers/{added['teacher_id']}/credential", {})
                world.teacher = TeacherLogin(added["teacher_id"], person["name"],
                                             person["id_number"], issued["credential"])
        return world
    finally:
        await s.close()


async def until_followed(world: World, orgsync_url: str, review_url: str,
                         timeout: float = 120.0) -> None:
    """Until orgsync's registry knows both schools and review's queue holds the seeded
    teachers: the services consume intake's events a moment after intake accepted them, and
    a journey that starts earlier would see an empty queue or an unknown school."""
    token = mint_token(Settings(), "service", subject="tests:browser")
    headers = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(trust_env=False, timeout=10, headers=headers) as client:
        while True:
            registry = (await client.get(f"{orgsync_url}/v1/registry", params={
                "school": [world.school_a, world.school_b]})).json()
            queue = (await client.get(f"{review_url}/v1/queue", params={
                "school_code": world.school_a, "status": "submitted"})).json()
            if len(registry.get("schools", {})) == 2 and \
                    len(queue.get("items", [])) >= len(world.seeded_teachers):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"not followed in {timeout}s: registry {registry}, "
                                   f"queue {queue}")
            await asyncio.sleep(0.5)
