"""Reporting's HTTP API on the real stack: baselines (CSV/XLSX, refused whole when bad),
city sign-offs, confirmation tables (XLSX/PDF, exported and returned as events), access."""

from __future__ import annotations

import csv
import io
import random

import pytest
from openpyxl import load_workbook

from services.reporting.adapters.baseline_files import write_xlsx
from shared.contracts.vocabulary import PostStatus, Stage
from tests.integration.test_reporting_world import (
    as_of,
    day,
    epoch,
    reporting_world,
    school,
    tag,
    teacher,
)
from tests.support import eventually
from tests.unit.test_reporting_fixtures import STAGE_CSV

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def world(stack_env):
    async with reporting_world(stack_env) as world:
        yield world


def unique_year() -> int:
    return random.randrange(3000, 9000)


async def upload(svc, data: bytes, filename: str, **form):
    return await svc.client.post("/v1/baselines", files={"file": (filename, data)},
                                 data={k: str(v) for k, v in form.items()},
                                 headers=svc.auth("province_admin"))


async def test_the_notices_table_imports_and_the_stage_csv_carries_its_annual_columns(world):
    _, svc = world
    year = unique_year()
    r = await upload(svc, STAGE_CSV.read_bytes(), "notice.csv", kind="annual", year=year,
                     level="stage")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["rows"] == 8 and body["level"] == "stage"
    assert [(c["column"], c["rows_sum"], c["total"]) for c in body["checks"]] == \
        [("schools", 20196, 20166)]

    async def stage_csv():
        resp = await svc.client.get("/v1/reports/stages", params={
            "format": "csv", "year": year, "as_of": "1970-01-02"},
            headers=svc.auth("query"))
        return resp.text

    text = await eventually(stage_csv, lambda t: "20166" in t)
    with STAGE_CSV.open(encoding="utf-8") as f:
        expected = list(csv.DictReader(f))
    assert text.startswith("\ufeff")  # the BOM Excel needs
    got = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert list(got[0]) == list(expected[0])
    annual = [k for k in expected[0] if k.endswith("_annual")]
    assert [[r[k] for k in annual] for r in got] == [[r[k] for k in annual] for r in expected]
    flags = (await svc.report("stages", year=year, as_of="1970-01-02"))["tables"][0]["flags"]
    assert any(f["code"] == "sum_mismatch" and f["where"]["total"] == 20166 for f in flags)


async def test_a_bad_baseline_is_refused_whole_and_nothing_is_appended(world):
    _, svc = world
    before = await _baseline_streams(svc)
    data = write_xlsx(["county_code", "county_name", "staff"],
                      [["620102", "城关区", 10], ["123456", "", 5], ["620103", "七里河区", -1]],
                      "annual")
    r = await upload(svc, data, "bad.xlsx", kind="annual", year=unique_year())
    assert r.status_code == 422
    problems = {(p["row"], p["loc"]) for p in r.json()["problems"]}
    assert problems == {(3, "county_code"), (4, "staff")}
    assert await _baseline_streams(svc) == before


async def _baseline_streams(svc) -> int:
    schema = svc.runtime.store.schema
    return await svc.runtime.pool.fetchval(
        f"SELECT count(*) FROM {schema}.events WHERE stream_id LIKE 'baseline-%'")


async def test_only_the_province_imports_baselines_and_templates_are_served(world):
    _, svc = world
    r = await svc.client.post("/v1/baselines", files={"file": ("x.csv", STAGE_CSV.read_bytes())},
                              data={"kind": "annual"},
                              headers=svc.auth("city_admin", city_code="620100"))
    assert r.status_code == 403
    t = await svc.client.get("/v1/baselines/template", params={"kind": "base",
                                                                "level": "county",
                                                                "format": "xlsx"},
                             headers=svc.auth("query"))
    assert t.status_code == 200
    ws = load_workbook(io.BytesIO(t.content)).worksheets[0]
    assert ws.max_row == 88  # header + every county


async def test_a_city_signs_off_its_county_and_the_county_table_shows_it(world):
    _, svc = world
    city = svc.auth("city_admin", city_code="620100")
    refused = await svc.client.post("/v1/signoffs", json={"county_code": "620102",
                                                          "agrees": True}, headers=city)
    assert refused.status_code == 422  # no base figures known: cannot confirm agreement
    other_city = await svc.client.post("/v1/signoffs", json={
        "county_code": "620102", "agrees": False, "explanation": "x"},
        headers=svc.auth("city_admin", city_code="620500"))
    assert other_city.status_code == 403
    county_admin = await svc.client.post("/v1/signoffs", json={
        "county_code": "620102", "agrees": False, "explanation": "x"},
        headers=svc.auth("county_admin", county_code="620102"))
    assert county_admin.status_code == 403
    why = f"三所幼儿园尚未录入 {tag()}"
    ok = await svc.client.post("/v1/signoffs", json={"county_code": "620102", "agrees": False,
                                                     "explanation": why}, headers=city)
    assert ok.status_code == 201, ok.text

    async def county_row():
        body = await svc.report("counties", city="620100")
        return next(r for r in body["tables"][0]["rows"] if r["county_code"] == "620102")

    row = await eventually(county_row, lambda r: r["signoff_explanation"] == why)
    assert row["signoff"] == "不一致"


async def test_a_school_exports_its_confirmation_table_and_records_it_signed(world):
    src, svc = world
    t0, k = epoch(), tag()
    code = f"F{k}"
    await src.intake.emit(f"school-{code}", [school(code, Stage.PRIMARY)], day(t0, 0))
    ts = [teacher(code) for _ in range(3)] + [teacher(code, post=PostStatus.NOT_IN_POST)]
    for t in ts:
        await src.intake.emit(f"teacher-{t.teacher_id}", [t], day(t0, 1))
    await eventually(lambda: svc.schools({code}), lambda r: r.get(code, {})
                     .get("staff_entered") == 3)
    admin = svc.auth("school_admin", school_code=code, county_code="620102",
                     city_code="620100")
    assert (await svc.client.get(f"/v1/confirmation/{code}.xlsx", headers=svc.auth(
        "school_admin", school_code=f"X{k}"))).status_code == 403

    async def exported() -> list[object]:
        xlsx = await svc.client.get(f"/v1/confirmation/{code}.xlsx", headers=admin)
        assert xlsx.status_code == 200
        ws = load_workbook(io.BytesIO(xlsx.content)).worksheets[0]
        return [c for row in ws.iter_rows(values_only=True) for c in row if c]

    # the teacher not in post counts nowhere, so only the table itself shows they arrived
    # (reporting's consumers apply partitions in parallel: they may come a moment later)
    cells = await eventually(exported, lambda cells: cells.count("测试教师") == 4)
    assert {"教师本人签字", "学校管理员签字", "学校负责人签字"} <= set(cells)
    pdf = await svc.client.get(f"/v1/confirmation/{code}.pdf", headers=admin)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")

    returned = await svc.client.post(f"/v1/confirmation/{code}/returned",
                                     json={"signed": True}, headers=admin)
    assert returned.status_code == 201, returned.text

    async def confirmation():
        body = await svc.report("confirmation", school=code)
        return next((r for r in body["tables"][2]["rows"] if r["school_code"] == code), None)

    row = await eventually(confirmation, lambda r: r is not None and r["status"] == "signed")
    assert (row["confirmed_teachers"], row["unconfirmed_teachers"]) == (3, 0)
    past = await svc.report("confirmation", school=code, as_of=as_of(t0, 2))
    assert past["tables"][2]["rows"][0]["status"] == "none"


async def test_reports_are_scoped_to_the_readers_region(world):
    _, svc = world
    r = await svc.client.get("/v1/reports/cities", headers=svc.auth("city_admin",
                                                                     city_code="620100"))
    assert r.status_code == 200
    assert [row["city_code"] for row in r.json()["tables"][0]["rows"]] == ["620100"]
    outside = await svc.client.get("/v1/reports/counties", params={"city": "620500"},
                                   headers=svc.auth("city_admin", city_code="620100"))
    assert outside.status_code == 403
    assert (await svc.client.get("/v1/reports/stages")).status_code == 401
    xlsx = await svc.client.get("/v1/reports/findings", params={"format": "xlsx"},
                                headers=svc.auth("query"))
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
