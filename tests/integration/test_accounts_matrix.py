"""The authorization matrix: every kind of account of every level, a teacher and a service
token, against every intake endpoint and a representative endpoint of review, orgsync and
reporting, inside and outside the account's region, each answer as designed.

The tokens are real: the province's system administrator is bootstrapped, every level's
system administrator creates the accounts of its unit and of the level below, everyone signs
in (POST /v1/auth/login), and the teacher signs in with the school's credential. Review,
orgsync and reporting run in-process and know the accounts only from the account topic (their
gate), so the matrix waits until they have heard of every account.

How to read MATRIX: one row per endpoint; the first string is the answers when the target lies
inside the region of the accounts of school A, city 620100 and county 620102 (school A), the
second when it lies outside (school B, county 620502, city 620500). The columns are COLUMNS:

    p.* province   c.* city 620100   y.* county 620102   s.* school A
    *.info = information administrator, *.sys = system administrator, *.query = query account

Reporting's dashboard (`/`) and its downloads are rows too: through the session cookie a
browser brings (`via="cookie"`) as well as the bearer header, and with the token in the URL
(`via="url"`), which everyone gets a 400 for.

Endpoints left out, and why: POST /v1/auth/login and /v1/auth/teacher take no token;
POST /v1/me/password checks the caller's own password (test_accounts_flow.py covers it).
Cells that pass authorization change state; each builds its own fresh teacher, account or flag,
so every cell of a row sees the same world.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import pytest

from services.intake.adapters.peers import HttpPeers
from services.intake.bootstrap import SPEC as INTAKE
from services.intake.domain.importing import COLUMNS as IMPORT_COLUMNS
from services.intake.domain.labels import label
from services.orgsync.bootstrap import SPEC as ORGSYNC
from services.reporting.bootstrap import SPEC as REPORTING
from services.review.bootstrap import SPEC as REVIEW
from shared.auth import SESSION_COOKIE
from shared.contracts.vocabulary import Gender, PostStatus
from tests.integration.test_accounts_support import (
    COLUMNS,
    COUNTY_A,
    COUNTY_B,
    Province,
    a_school,
    a_teacher,
    bearer,
    build_province,
    create,
    service,
    sign_in,
    teacher_token,
)
from tests.integration.test_intake_support import a_person
from tests.support import RunningService, eventually

pytestmark = pytest.mark.integration

READ = ("200 200 200 200 200 200 200 200 200 200 200 200 403 200",
        "200 200 200 403 403 403 403 403 403 403 403 403 403 200")
WRITE = ("200 403 403 200 403 403 200 403 403 200 403 403 403 200",
         "200 403 403 403 403 403 403 403 403 403 403 403 403 200")
MANAGE = ("403 403 403 403 403 403 403 200 403 403 200 403 403 403",
          "403 403 403 403 403 403 403 403 403 403 403 403 403 403")
SEE_ACCOUNTS = ("403 200 403 403 200 403 403 200 403 403 200 403 403 403",
                "403 200 403 403 403 403 403 403 403 403 403 403 403 403")
ANY = ("200 200 200 200 200 200 200 200 200 200 200 200 403 200",) * 2
TEACHER_ONLY = ("403 403 403 403 403 403 403 403 403 403 403 403 200 403",) * 2
COUNTY_READ = ("200 200 200 200 200 200 200 200 200 403 403 403 403 200",  # a school: no county
               "200 200 200 403 403 403 403 403 403 403 403 403 403 200")

#          p.info p.sys p.query c.info c.sys c.query y.info y.sys y.query s.info s.sys s.query
#          teacher service
MATRIX: dict[str, tuple[str, str]] = {
    "intake POST /v1/schools": (
        "201 403 403 201 403 403 201 403 403 403 403 403 403 201",
        "201 403 403 403 403 403 403 403 403 403 403 403 403 201"),
    "intake PATCH /v1/schools/{code}": (
        "200 403 403 200 403 403 200 403 403 403 403 403 403 200",
        "200 403 403 403 403 403 403 403 403 403 403 403 403 200"),
    "intake GET /v1/schools/{code}": READ,
    "intake GET /v1/schools?county=": (
        "200 200 200 200 200 200 200 200 200 200 200 200 403 200",
        "200 200 200 403 403 403 403 403 403 200 200 200 403 200"),  # a school: empty list
    "intake POST /v1/teachers": (
        "201 403 403 201 403 403 201 403 403 201 403 403 403 201",
        "201 403 403 403 403 403 403 403 403 403 403 403 403 201"),
    "intake GET /v1/teachers?school_code=": READ,
    "intake GET /v1/teachers/{id}": READ,
    "intake PATCH /v1/teachers/{id}": WRITE,
    "intake POST /v1/teachers/{id}/transfer": WRITE,
    "intake POST /v1/teachers/{id}/return-to-post": WRITE,
    "intake POST /v1/teachers/{id}/leave": WRITE,
    "intake POST /v1/documents": (
        "201 403 403 201 403 403 201 403 403 201 403 403 403 201",) * 2,
    "intake GET /v1/documents/{sha256}": (
        "200 403 403 200 403 403 200 403 403 403 403 403 403 200",
        "200 403 403 403 403 403 403 403 403 403 403 403 403 200"),
    "intake POST /v1/imports": WRITE,
    "intake GET /v1/imports/template": ANY,
    "intake POST /v1/accounts": (
        "403 403 403 403 403 403 403 201 403 403 201 403 403 403",
        "403 403 403 403 403 403 403 403 403 403 403 403 403 403"),
    "intake GET /v1/accounts?level=school&code=": SEE_ACCOUNTS,
    "intake GET /v1/accounts/{id}": SEE_ACCOUNTS,
    "intake GET /v1/accounts/audit?level=school&code=": SEE_ACCOUNTS,
    "intake POST /v1/accounts/{id}/disable": MANAGE,
    "intake POST /v1/accounts/{id}/enable": MANAGE,
    "intake POST /v1/accounts/{id}/reset-password": MANAGE,
    "intake POST /v1/accounts/{id}/handover": MANAGE,
    "intake GET /v1/me": ("200 200 200 200 200 200 200 200 200 200 200 200 200 200",) * 2,
    "intake GET /v1/me/pending": ANY,
    "intake POST /v1/teachers/{id}/credential": (
        "403 403 403 403 403 403 403 403 403 201 201 403 403 403",
        "403 403 403 403 403 403 403 403 403 403 403 403 403 403"),
    "intake GET /v1/me/record": TEACHER_ONLY,
    "intake POST /v1/me/confirm": TEACHER_ONLY,
    "intake POST /v1/me/flags": (
        "403 403 403 403 403 403 403 403 403 403 403 403 201 403",) * 2,
    "intake GET /v1/schools/{code}/flags": READ,
    "intake POST /v1/schools/{code}/flags/{id}/resolve": WRITE,
    "review GET /v1/queue?school_code=": READ,
    "orgsync GET /v1/batches": ANY,
    "orgsync POST /v1/batches/plan": (
        "200 403 403 200 403 403 403 403 403 403 403 403 403 200",) * 2,  # by role only
    "reporting GET /v1/reports/schools?county=": COUNTY_READ,
    "reporting GET /?county=": COUNTY_READ,
    "reporting GET /?county= (session cookie)": COUNTY_READ,
    "reporting GET /download/schools.xlsx?county=": COUNTY_READ,
    "reporting GET /download/stages.csv (session cookie)": ANY,
    "reporting GET / (session cookie)": ANY,
    "reporting GET /?token=": ("400 400 400 400 400 400 400 400 400 400 400 400 400 400",) * 2,
}


@dataclass
class World:
    intake: RunningService
    review: RunningService
    orgsync: RunningService
    reporting: RunningService
    province: Province
    proof: str
    used_proof: dict[bool, str]
    teacher_b_token: str

    def school(self, inside: bool) -> str:
        return self.province.school_a if inside else self.province.school_b

    def county(self, inside: bool) -> str:
        return COUNTY_A if inside else COUNTY_B

    def admin(self) -> dict[str, str]:
        return self.intake.auth("province_admin")

    def county_sysadmin(self, inside: bool) -> dict[str, str]:
        county = self.county(inside)
        return self.intake.auth("county_sysadmin", county_code=county)


Call = tuple[RunningService, str, str, dict[str, Any]]
Make = Callable[[World, bool], Awaitable[Call]]


# ------------------------------------------------------------------------------ fixtures


async def fresh_teacher(w: World, school: str) -> dict[str, Any]:
    return await a_teacher(w.intake, school)


async def fresh_account(w: World, inside: bool, *, active: bool = True) -> str:
    r = await w.intake.client.post("/v1/accounts", headers=w.county_sysadmin(inside), json={
        "kind": "info", "level": "school", "code": w.school(inside),
        "username": f"m{uuid4().hex[:12]}", "password": "Pa55word-for-tests"})
    assert r.status_code == 201, r.text
    account_id = str(r.json()["account_id"])
    if not active:
        r = await w.intake.client.post(f"/v1/accounts/{account_id}/disable",
                                       headers=w.county_sysadmin(inside))
        assert r.status_code == 200, r.text
    return account_id


async def fresh_flag(w: World, inside: bool) -> str:
    token = w.province.tokens["teacher"] if inside else w.teacher_b_token
    r = await w.intake.client.post("/v1/me/flags", headers=bearer(token),
                                   json={"field": "professional_title", "comment": "应为一级教师"})
    assert r.status_code == 201, r.text
    return str(r.json()["flag_id"])


async def upload(w: World) -> str:
    content = b"%PDF-1.4\n% proof " + uuid4().bytes
    r = await w.intake.client.post("/v1/documents", files={"file": ("p.pdf", content)},
                                   headers=w.admin())
    assert r.status_code == 201, r.text
    return str(r.json()["sha256"])


def import_csv() -> bytes:
    person = a_person()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([c.title for c in IMPORT_COLUMNS])
    words = {**person, "gender": label(Gender(person["gender"])),
             "post_status": label(PostStatus(person["post_status"])),
             "is_fulltime_teacher": label(bool(person["is_fulltime_teacher"])),
             "stage_taught": "小学"}
    writer.writerow([str(words.get(c.field) or "") for c in IMPORT_COLUMNS])
    return out.getvalue().encode("utf-8-sig")


# ------------------------------------------------------------------------------ requests


async def post_school(w: World, inside: bool) -> Call:
    code = f"T{uuid4().hex[:10]}"
    return w.intake, "POST", "/v1/schools", {"json": {
        "code": code, "name": f"测试学校{code}", "stage": "primary",
        "county_code": w.county(inside)}}


async def patch_school(w: World, inside: bool) -> Call:
    r = await w.intake.client.get(f"/v1/schools/{w.school(inside)}", headers=w.admin())
    body = r.json()
    return w.intake, "PATCH", f"/v1/schools/{body['code']}", {"json": {
        "expected_version": body["version"], "name": body["name"]}}


async def patch_teacher(w: World, inside: bool) -> Call:
    t = await fresh_teacher(w, w.school(inside))
    r = await w.intake.client.get(f"/v1/teachers/{t['teacher_id']}", headers=w.admin())
    return w.intake, "PATCH", f"/v1/teachers/{t['teacher_id']}", {"json": {
        "expected_version": t["version"], "record": {"name": r.json()["record"]["name"]}}}


async def transfer(w: World, inside: bool) -> Call:
    source = await a_school(w.intake, w.county(inside))
    t = await fresh_teacher(w, source)
    return w.intake, "POST", f"/v1/teachers/{t['teacher_id']}/transfer", {"json": {
        "to_school_code": w.school(inside), "proof_sha256": w.proof,
        "expected_version": t["version"]}}


async def return_to_post(w: World, inside: bool) -> Call:
    t = await fresh_teacher(w, w.school(inside))
    r = await w.intake.client.post(f"/v1/teachers/{t['teacher_id']}/leave", headers=w.admin(),
                                   json={"reason": "resigned", "expected_version": t["version"]})
    assert r.status_code == 200, r.text
    return w.intake, "POST", f"/v1/teachers/{t['teacher_id']}/return-to-post", {"json": {
        "school_code": w.school(inside), "proof_sha256": w.proof,
        "expected_version": r.json()["version"]}}


async def leave(w: World, inside: bool) -> Call:
    t = await fresh_teacher(w, w.school(inside))
    return w.intake, "POST", f"/v1/teachers/{t['teacher_id']}/leave", {"json": {
        "reason": "retired", "expected_version": t["version"]}}


async def a_teacher_of(w: World, inside: bool) -> str:
    return str((await fresh_teacher(w, w.school(inside)))["teacher_id"])


def simple(service: str, method: str, path: Callable[[World, bool], str],
           body: Callable[[World, bool], dict[str, Any]] | None = None) -> Make:
    async def make(w: World, inside: bool) -> Call:
        svc = {"intake": w.intake, "review": w.review, "orgsync": w.orgsync,
               "reporting": w.reporting}[service]
        return svc, method, path(w, inside), ({"json": body(w, inside)} if body else {})
    return make


def reporting_page(path: Callable[[World, bool], str], via: str = "header") -> Make:
    """A browser's request to reporting: the token in the header, the session cookie or (to be
    refused) the URL."""
    async def make(w: World, inside: bool) -> Call:
        return w.reporting, "GET", path(w, inside), {"via": via}
    return make


def on_account(action: str, *, active: bool = True,
               body: Callable[[], dict[str, Any]] | None = None) -> Make:
    async def make(w: World, inside: bool) -> Call:
        account_id = await fresh_account(w, inside, active=active)
        return w.intake, "POST", f"/v1/accounts/{account_id}/{action}", (
            {"json": body()} if body is not None else {})
    return make


async def get_teacher(w: World, inside: bool) -> Call:
    return w.intake, "GET", f"/v1/teachers/{await a_teacher_of(w, inside)}", {}


async def get_document(w: World, inside: bool) -> Call:
    return w.intake, "GET", f"/v1/documents/{w.used_proof[inside]}", {}


async def post_document(w: World, inside: bool) -> Call:
    return w.intake, "POST", "/v1/documents", {
        "files": {"file": ("p.pdf", b"%PDF-1.4\n% " + uuid4().bytes)}}


async def post_import(w: World, inside: bool) -> Call:
    return w.intake, "POST", "/v1/imports", {
        "files": {"file": ("t.csv", import_csv())}, "data": {"school_code": w.school(inside)}}


async def get_account(w: World, inside: bool) -> Call:
    return w.intake, "GET", f"/v1/accounts/{await fresh_account(w, inside)}", {}


async def credential(w: World, inside: bool) -> Call:
    return w.intake, "POST", f"/v1/teachers/{await a_teacher_of(w, inside)}/credential", {}


async def confirm(w: World, inside: bool) -> Call:
    r = await w.intake.client.get("/v1/me/record", headers=bearer(w.province.tokens["teacher"]))
    return w.intake, "POST", "/v1/me/confirm", {"json": {"record_version": r.json()["version"]}}


async def resolve(w: World, inside: bool) -> Call:
    flag_id = await fresh_flag(w, inside)
    return w.intake, "POST", f"/v1/schools/{w.school(inside)}/flags/{flag_id}/resolve", {
        "json": {"note": "已更正"}}


async def plan(w: World, inside: bool) -> Call:
    return w.orgsync, "POST", "/v1/batches/plan", {"json": {
        "batch_id": f"b{uuid4().hex[:8]}", "effective_date": "2017-09-01",
        "operations": [{"op": "rename", "school_code": w.school(inside), "name": "新校名"}]}}


MAKERS: dict[str, Make] = {
    "intake POST /v1/schools": post_school,
    "intake PATCH /v1/schools/{code}": patch_school,
    "intake GET /v1/schools/{code}": simple("intake", "GET",
                                            lambda w, i: f"/v1/schools/{w.school(i)}"),
    "intake GET /v1/schools?county=": simple("intake", "GET",
                                             lambda w, i: f"/v1/schools?county={w.county(i)}"),
    "intake POST /v1/teachers": simple("intake", "POST", lambda w, i: "/v1/teachers",
                                       lambda w, i: {"school_code": w.school(i),
                                                     "record": a_person()}),
    "intake GET /v1/teachers?school_code=": simple(
        "intake", "GET", lambda w, i: f"/v1/teachers?school_code={w.school(i)}"),
    "intake GET /v1/teachers/{id}": get_teacher,
    "intake PATCH /v1/teachers/{id}": patch_teacher,
    "intake POST /v1/teachers/{id}/transfer": transfer,
    "intake POST /v1/teachers/{id}/return-to-post": return_to_post,
    "intake POST /v1/teachers/{id}/leave": leave,
    "intake POST /v1/documents": post_document,
    "intake GET /v1/documents/{sha256}": get_document,
    "intake POST /v1/imports": post_import,
    "intake GET /v1/imports/template": simple("intake", "GET",
                                              lambda w, i: "/v1/imports/template?format=csv"),
    "intake POST /v1/accounts": simple("intake", "POST", lambda w, i: "/v1/accounts",
                                       lambda w, i: {"kind": "query", "level": "school",
                                                     "code": w.school(i),
                                                     "username": f"q{uuid4().hex[:12]}"}),
    "intake GET /v1/accounts?level=school&code=": simple(
        "intake", "GET", lambda w, i: f"/v1/accounts?level=school&code={w.school(i)}"),
    "intake GET /v1/accounts/{id}": get_account,
    "intake GET /v1/accounts/audit?level=school&code=": simple(
        "intake", "GET", lambda w, i: f"/v1/accounts/audit?level=school&code={w.school(i)}"),
    "intake POST /v1/accounts/{id}/disable": on_account("disable"),
    "intake POST /v1/accounts/{id}/enable": on_account("enable", active=False),
    "intake POST /v1/accounts/{id}/reset-password": on_account("reset-password",
                                                               body=lambda: {}),
    "intake POST /v1/accounts/{id}/handover": on_account(
        "handover", body=lambda: {"username": f"h{uuid4().hex[:12]}"}),
    "intake GET /v1/me": simple("intake", "GET", lambda w, i: "/v1/me"),
    "intake GET /v1/me/pending": simple("intake", "GET", lambda w, i: "/v1/me/pending"),
    "intake POST /v1/teachers/{id}/credential": credential,
    "intake GET /v1/me/record": simple("intake", "GET", lambda w, i: "/v1/me/record"),
    "intake POST /v1/me/confirm": confirm,
    "intake POST /v1/me/flags": simple("intake", "POST", lambda w, i: "/v1/me/flags",
                                       lambda w, i: {"field": "highest_education",
                                                     "comment": "应为本科"}),
    "intake GET /v1/schools/{code}/flags": simple(
        "intake", "GET", lambda w, i: f"/v1/schools/{w.school(i)}/flags"),
    "intake POST /v1/schools/{code}/flags/{id}/resolve": resolve,
    "review GET /v1/queue?school_code=": simple(
        "review", "GET", lambda w, i: f"/v1/queue?school_code={w.school(i)}"),
    "orgsync GET /v1/batches": simple("orgsync", "GET", lambda w, i: "/v1/batches"),
    "orgsync POST /v1/batches/plan": plan,
    "reporting GET /v1/reports/schools?county=": simple(
        "reporting", "GET", lambda w, i: f"/v1/reports/schools?county={w.county(i)}"),
    "reporting GET /?county=": reporting_page(lambda w, i: f"/?county={w.county(i)}"),
    "reporting GET /?county= (session cookie)": reporting_page(
        lambda w, i: f"/?county={w.county(i)}", "cookie"),
    "reporting GET /download/schools.xlsx?county=": reporting_page(
        lambda w, i: f"/download/schools.xlsx?county={w.county(i)}"),
    "reporting GET /download/stages.csv (session cookie)": reporting_page(
        lambda w, i: "/download/stages.csv", "cookie"),
    "reporting GET / (session cookie)": reporting_page(lambda w, i: "/", "cookie"),
    "reporting GET /?token=": reporting_page(lambda w, i: "/", "url"),
}


# ------------------------------------------------------------------------------ the test


@pytest.fixture(scope="module")
async def world(stack_env: Any) -> Any:
    async with service(INTAKE, stack_env, "intake") as intake, \
            service(REVIEW, stack_env, "review") as review, \
            service(ORGSYNC, stack_env, "orgsync") as orgsync, \
            service(REPORTING, stack_env, "reporting") as reporting:
        intake.runtime.extras["peers"] = HttpPeers(intake.settings, review.client,
                                                   reporting.client)
        province = await build_province(intake)
        teacher_b_token, *_ = await teacher_token(intake, province.school_b)
        w = World(intake, review, orgsync, reporting, province, "", {}, teacher_b_token)
        w.proof = await upload(w)
        for inside in (True, False):  # a proof a transfer into the school used
            sha = await upload(w)
            call = await transfer(w, inside)
            call[3]["json"]["proof_sha256"] = sha
            r = await intake.client.post(call[2], json=call[3]["json"], headers=w.admin())
            assert r.status_code == 200, r.text
            w.used_proof[inside] = sha
        last = province.tokens["s.query"]  # the last account created: the others came before
        for svc in (review, orgsync, reporting):
            await eventually(lambda s=svc: s.client.get("/v1/batches" if s is orgsync else
                                                        "/v1/queue" if s is review else
                                                        "/v1/baselines/template",
                                                        headers=bearer(last)),
                             lambda r: r.status_code == 200, timeout=60)
        # review places school A in its county once it has followed the school topic
        county_token = bearer(province.tokens["y.info"])
        await eventually(lambda: review.client.get(
            f"/v1/queue?school_code={province.school_a}", headers=county_token),
            lambda r: r.status_code == 200, timeout=60)
        yield w


def session(token: str) -> dict[str, str]:
    """What a browser signed in on the web front sends: its session cookie."""
    return {"Cookie": f"{SESSION_COOKIE}={token}"}


def test_the_matrix_lists_every_endpoint_with_an_answer_for_every_column() -> None:
    assert set(MATRIX) == set(MAKERS)
    for name, rows in MATRIX.items():
        assert all(len(row.split()) == len(COLUMNS) for row in rows), name


@pytest.mark.parametrize("endpoint", list(MATRIX))
async def test_every_role_of_every_level_gets_the_designed_answer(world: World,
                                                                  endpoint: str) -> None:
    async def cell(column: str, inside: bool) -> tuple[str, bool, int, str]:
        svc, method, path, kwargs = await MAKERS[endpoint](world, inside)
        token = world.province.tokens[column]
        via = kwargs.pop("via", "header")
        if via == "url":
            path, headers = f"{path}{'&' if '?' in path else '?'}token={token}", {}
        else:
            headers = session(token) if via == "cookie" else bearer(token)
        r = await svc.client.request(method, path, headers=headers, **kwargs)
        return column, inside, r.status_code, r.text[:160]

    cells = [(c, inside) for inside in (True, False) for c in COLUMNS]
    results = await asyncio.gather(*(cell(c, inside) for c, inside in cells))
    wrong = []
    for column, inside, status, text in results:
        expected = int(MATRIX[endpoint][0 if inside else 1].split()[COLUMNS.index(column)])
        if status != expected:
            where = "inside" if inside else "outside"
            wrong.append(f"{column:8} {where:7} expected {expected} got {status}: {text}")
    assert not wrong, f"{endpoint}:\n" + "\n".join(wrong)


# ------------------------------------------------------------------------------ the dashboards


async def test_a_county_administrator_sees_only_their_county_on_the_dashboard(world: World
                                                                              ) -> None:
    county = session(world.province.tokens["y.info"])
    province = session(world.province.tokens["p.info"])
    # reporting places both schools once it has followed the school topic
    await eventually(lambda: world.reporting.client.get("/download/schools.csv",
                                                        headers=province),
                     lambda r: world.province.school_a in r.text
                     and world.province.school_b in r.text, timeout=60)
    page = await world.reporting.client.get("/", headers=county)
    schools = await world.reporting.client.get("/download/schools.csv", headers=county)
    assert page.status_code == 200 and "（城关区，截至" in page.text
    assert "秦州区" not in page.text
    assert world.province.school_a in schools.text
    assert world.province.school_b not in schools.text
    whole = await world.reporting.client.get("/", headers=province)
    assert "（全省，截至" in whole.text and "秦州区" in whole.text


async def test_a_teachers_session_gets_403_on_the_province_dashboard(world: World) -> None:
    r = await world.reporting.client.get("/", headers=session(world.province.tokens["teacher"]))
    assert r.status_code == 403 and "教师账号" in r.text


async def test_a_disabled_accounts_session_is_refused_on_the_dashboard_and_downloads(
        world: World) -> None:
    account = await create(world.intake, world.province.tokens["y.sys"], "info", "school",
                           world.province.school_a)
    cookie = session(await sign_in(world.intake, account["username"]))
    await eventually(lambda: world.reporting.client.get("/", headers=cookie),
                     lambda r: r.status_code == 200, timeout=60)
    r = await world.intake.client.post(f"/v1/accounts/{account['account_id']}/disable",
                                       headers=world.county_sysadmin(True))
    assert r.status_code == 200, r.text
    refused = await eventually(lambda: world.reporting.client.get("/", headers=cookie),
                               lambda r: r.status_code == 401, timeout=60)
    assert "账号已停用" in refused.text
    download = await world.reporting.client.get("/download/stages.csv", headers=cookie)
    assert download.status_code == 401


async def test_a_token_in_the_url_is_refused_with_a_page_that_says_to_sign_in(world: World
                                                                             ) -> None:
    r = await world.reporting.client.get(f"/?token={world.province.tokens['p.info']}")
    assert r.status_code == 400
    assert "请登录" in r.text and "网址中不能携带令牌" in r.text
