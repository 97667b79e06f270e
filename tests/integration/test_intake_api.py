"""Intake's HTTP API against the real PostgreSQL and Kafka: what is accepted, what is refused
(with a clear error, and no event), idempotency, stale versions, files and imports."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import random
from typing import Any
from uuid import uuid4

import openpyxl
import pytest

from services.intake.domain.importing import COLUMNS
from services.intake.domain.labels import label
from shared.contracts.vocabulary import Gender, PostStatus
from tests.integration.kafka_tools import read_topic
from tests.integration.test_intake_support import (
    COUNTY,
    OTHER_COUNTY,
    TEACHER_TOPIC,
    a_person,
    a_proof,
    a_school,
    a_teacher,
    distinct_people,
    event_count,
    intake_service,
)
from tests.support import RunningService

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def svc(stack_env):
    async for running in intake_service(stack_env):
        yield running


def as_row(person: dict) -> list[str]:
    """A person as a row of the template, in the Chinese words school staff type."""
    words = dict(person)
    words["gender"] = label(Gender(person["gender"]))
    words["post_status"] = label(PostStatus(person["post_status"]))
    words["is_fulltime_teacher"] = label(bool(person["is_fulltime_teacher"]))
    words["stage_taught"] = "小学"
    return [str(words.get(c.field) or "") for c in COLUMNS]


def csv_file(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([c.title for c in COLUMNS])
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")


async def test_a_registered_teacher_reads_back_with_the_id_number_only_for_its_school(
        svc: RunningService) -> None:
    school = await a_school(svc)
    person = a_person(professional_title="一级教师")
    accepted = await a_teacher(svc, school, person)
    assert accepted["version"] == 1 and 0 < accepted["completeness"] < 1
    own = await svc.client.get(f"/v1/teachers/{accepted['teacher_id']}",
                               headers=svc.auth("school_admin", school_code=school))
    county = await svc.client.get(f"/v1/teachers/{accepted['teacher_id']}",
                                  headers=svc.auth("county_admin", county_code=COUNTY))
    assert own.json()["id_number"] == person["id_number"]
    assert county.json()["id_number"] is None
    assert county.json()["record"]["id_number_masked"].endswith(person["id_number"][-4:])


async def test_without_a_token_every_route_is_401(svc: RunningService) -> None:
    school = await a_school(svc)
    before = await event_count(svc)
    r = await svc.client.post("/v1/teachers", json={"school_code": school,
                                                    "record": a_person()})
    bad = await svc.client.get(f"/v1/schools/{school}",
                               headers={"Authorization": "Bearer not-a-jwt"})
    assert (r.status_code, bad.status_code) == (401, 401)
    assert await event_count(svc) == before


async def test_a_malformed_body_is_a_422_saying_where_and_appends_nothing(
        svc: RunningService) -> None:
    school = await a_school(svc)
    before = await event_count(svc)
    record = a_person(gender="unknown", birth_date="1985-02-30")
    del record["name"]
    r = await svc.client.post("/v1/teachers", json={"school_code": school, "record": record},
                              headers=svc.auth("school_admin", school_code=school))
    assert r.status_code == 422
    locs = {p["loc"] for p in r.json()["problems"]}
    assert {"body.record.name", "body.record.gender", "body.record.birth_date"} <= locs
    not_json = await svc.client.post("/v1/teachers", content=b"{not json",
                                     headers={**svc.auth("province_admin"),
                                              "Content-Type": "application/json"})
    assert not_json.status_code == 422
    assert await event_count(svc) == before


async def test_a_bad_id_number_is_a_422_at_record_id_number_and_appends_nothing(
        svc: RunningService) -> None:
    school = await a_school(svc)
    before = await event_count(svc)
    person = a_person()
    digits = person["id_number"]
    person["id_number"] = digits[:17] + ("0" if digits[17] != "0" else "1")
    r = await svc.client.post("/v1/teachers", json={"school_code": school, "record": person},
                              headers=svc.auth("school_admin", school_code=school))
    assert r.status_code == 422
    assert [p["loc"] for p in r.json()["problems"]] == ["record.id_number"]
    assert "GB 11643" in r.json()["problems"][0]["msg"]
    disagreeing = a_person()
    disagreeing["gender"] = "female" if disagreeing["gender"] == "male" else "male"
    r = await svc.client.post("/v1/teachers", json={"school_code": school,
                                                    "record": disagreeing},
                              headers=svc.auth("school_admin", school_code=school))
    assert [p["loc"] for p in r.json()["problems"]] == ["record.gender"]
    assert await event_count(svc) == before


async def test_a_duplicate_person_is_a_409_naming_the_school_that_holds_them(
        svc: RunningService) -> None:
    first, second = await a_school(svc), await a_school(svc)
    person = a_person()
    held = await a_teacher(svc, first, person)
    before = await event_count(svc)
    r = await svc.client.post("/v1/teachers", json={"school_code": second, "record": person},
                              headers=svc.auth("school_admin", school_code=second))
    assert r.status_code == 409
    body = r.json()
    assert body["error"] == "duplicate_person" and body["existing_school_code"] == first
    assert body["existing_teacher_id"] == held["teacher_id"] and first in body["message"]
    assert person["id_number"] not in r.text
    assert await event_count(svc) == before


async def test_a_wrong_region_is_a_403_and_appends_nothing(svc: RunningService) -> None:
    mine, theirs = await a_school(svc), await a_school(svc, county=OTHER_COUNTY)
    before = await event_count(svc)
    as_school = await svc.client.post(
        "/v1/teachers", json={"school_code": theirs, "record": a_person()},
        headers=svc.auth("school_admin", school_code=mine))
    as_county = await svc.client.post(
        "/v1/teachers", json={"school_code": theirs, "record": a_person()},
        headers=svc.auth("county_admin", county_code=COUNTY))
    as_query = await svc.client.post(
        "/v1/teachers", json={"school_code": mine, "record": a_person()},
        headers=svc.auth("query"))
    assert [r.status_code for r in (as_school, as_county, as_query)] == [403, 403, 403]
    assert await event_count(svc) == before


async def test_a_retry_with_the_same_idempotency_key_returns_the_first_answer(
        svc: RunningService) -> None:
    school = await a_school(svc)
    body = {"school_code": school, "record": a_person()}
    headers = {**svc.auth("school_admin", school_code=school), "Idempotency-Key": str(uuid4())}
    first = await svc.client.post("/v1/teachers", json=body, headers=headers)
    before = await event_count(svc)
    retry = await svc.client.post("/v1/teachers", json=body, headers=headers)
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json() and retry.headers["Idempotent-Replayed"] == "true"
    assert await event_count(svc) == before
    other = await svc.client.post("/v1/teachers", json={**body, "record": a_person()},
                                  headers=headers)
    assert other.status_code == 422 and "Idempotency-Key" in other.text


async def test_a_stale_update_is_a_409_and_a_fresh_one_names_its_fields(
        svc: RunningService) -> None:
    school = await a_school(svc)
    t = await a_teacher(svc, school)
    who = svc.auth("school_admin", school_code=school)
    url = f"/v1/teachers/{t['teacher_id']}"
    ok = await svc.client.patch(url, json={"expected_version": 1,
                                           "record": {"highest_education": "本科"}}, headers=who)
    assert ok.status_code == 200 and ok.json()["changed_fields"] == ["highest_education"]
    before = await event_count(svc)
    stale = await svc.client.patch(url, json={"expected_version": 1,
                                              "record": {"professional_title": "二级教师"}},
                                   headers=who)
    assert stale.status_code == 409 and stale.json()["error"] == "stale_version"
    assert stale.json()["actual_version"] == 2
    assert await event_count(svc) == before


async def test_a_transfer_carries_its_proof_which_the_county_reviewer_can_read(
        svc: RunningService) -> None:
    source, target = await a_school(svc), await a_school(svc, county=OTHER_COUNTY)
    t = await a_teacher(svc, source)
    proof = await a_proof(svc, target)
    r = await svc.client.post(f"/v1/teachers/{t['teacher_id']}/transfer",
                              json={"to_school_code": target, "proof_sha256": proof,
                                    "expected_version": 1},
                              headers=svc.auth("school_admin", school_code=target))
    assert r.status_code == 200, r.text
    assert r.json()["school_code"] == target and r.json()["version"] == 2
    doc = await svc.client.get(f"/v1/documents/{proof}",
                               headers=svc.auth("county_admin", county_code=OTHER_COUNTY))
    assert doc.status_code == 200 and doc.content.startswith(b"%PDF-")
    assert doc.headers["content-type"] == "application/pdf"
    outsider = await svc.client.get(f"/v1/documents/{proof}",
                                    headers=svc.auth("county_admin", county_code="620902"))
    assert outsider.status_code == 403


async def test_leave_then_return_to_post(svc: RunningService) -> None:
    school = await a_school(svc)
    person = a_person()
    t = await a_teacher(svc, school, person)
    who = svc.auth("school_admin", school_code=school)
    left = await svc.client.post(f"/v1/teachers/{t['teacher_id']}/leave",
                                 json={"reason": "resigned"}, headers=who)
    assert left.status_code == 200
    again = await svc.client.post("/v1/teachers", json={"school_code": school, "record": person},
                                  headers=who)
    assert again.status_code == 409 and "return to post" in again.json()["message"]
    back = await svc.client.post(f"/v1/teachers/{t['teacher_id']}/return-to-post",
                                 json={"school_code": school,
                                       "proof_sha256": await a_proof(svc, school)}, headers=who)
    assert back.status_code == 200 and back.json()["version"] == 3


async def test_a_move_out_of_the_province_records_its_note_and_document(
        svc: RunningService) -> None:
    school = await a_school(svc)
    t = await a_teacher(svc, school, a_person())
    who = svc.auth("school_admin", school_code=school)
    path = f"/v1/teachers/{t['teacher_id']}/leave"
    unknown = await svc.client.post(path, headers=who, json={
        "reason": "left_province", "proof_sha256": "0" * 64})
    proof = await a_proof(svc, school)
    left = await svc.client.post(path, headers=who, json={
        "reason": "left_province", "note": "调往四川省", "proof_sha256": proof})

    assert unknown.status_code == 422 and "proof_sha256" in unknown.text
    assert left.status_code == 200, left.text
    event = await _last_event(svc, t["teacher_id"])
    assert event["reason"] == "left_province" and event["note"] == "调往四川省"
    assert event["proof"]["sha256"] == proof


async def _last_event(svc: RunningService, teacher_id: str) -> dict[str, Any]:
    payload = await svc.runtime.pool.fetchval(
        f"SELECT payload FROM {svc.runtime.store.schema}.events WHERE stream_id = $1 "
        "ORDER BY stream_version DESC LIMIT 1", f"teacher-{teacher_id}")
    return json.loads(payload) if isinstance(payload, str) else dict(payload)


async def test_an_oversized_or_mistyped_upload_is_refused_clearly(svc: RunningService) -> None:
    school = await a_school(svc)
    who = svc.auth("school_admin", school_code=school)
    big = b"%PDF-1.4" + b"0" * (5 * 1024 * 1024)
    too_big = await svc.client.post("/v1/documents", files={"file": ("p.pdf", big)},
                                    headers=who)
    exe = await svc.client.post("/v1/documents",
                                files={"file": ("proof.pdf", b"MZ\x90\x00\x03 not a pdf",
                                                "application/pdf")}, headers=who)
    assert too_big.status_code == 413 and "5 MiB" in too_big.json()["message"]
    assert exe.status_code == 415 and "PDF, JPEG or PNG" in exe.json()["message"]
    count = await svc.runtime.pool.fetchval(
        f"SELECT count(*) FROM {svc.runtime.store.schema}.documents WHERE size_bytes > 5242880")
    assert count == 0
    t = await a_teacher(svc, school)
    other = await a_school(svc)
    before = await event_count(svc)
    transfer = await svc.client.post(
        f"/v1/teachers/{t['teacher_id']}/transfer",
        json={"to_school_code": other, "proof_sha256": "a" * 64},
        headers=svc.auth("school_admin", school_code=other))
    assert transfer.status_code == 422 and transfer.json()["problems"][0]["loc"] == "proof_sha256"
    assert await event_count(svc) == before


async def test_a_half_bad_import_registers_the_good_rows_reports_the_bad_and_twice_is_a_noop(
        svc: RunningService) -> None:
    school, other = await a_school(svc), await a_school(svc)
    elsewhere = a_person()
    await a_teacher(svc, other, elsewhere)
    good = distinct_people(6)
    bad_id = dict(good[5])
    bad_id["id_number"] = bad_id["id_number"][:17] + ("0" if bad_id["id_number"][17] != "0"
                                                      else "1")
    rows = [as_row(p) for p in good[:5]] + [as_row(bad_id), as_row(good[0]),
                                            as_row(elsewhere)]
    rows[1][[c.field for c in COLUMNS].index("gender")] = "未知"
    content = csv_file(rows)
    who = svc.auth("school_admin", school_code=school)
    before = await event_count(svc)
    r = await svc.client.post("/v1/imports", files={"file": ("teachers.csv", content)},
                              data={"school_code": school}, headers=who)
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["registered"], report["failed"]) == (4, 4)
    problems = {(p["row"], p["field"]) for p in report["problems"]}
    assert problems == {(3, "gender"), (7, "id_number"), (8, "id_number"), (9, "id_number")}
    assert await event_count(svc) == before + 4
    again = await svc.client.post("/v1/imports", files={"file": ("teachers.csv", content)},
                                  data={"school_code": school}, headers=who)
    assert (again.json()["registered"], again.json()["unchanged"]) == (0, 4)
    assert await event_count(svc) == before + 4


async def test_a_file_of_many_batches_written_by_concurrent_transactions_counts_each_row_once(
        svc: RunningService) -> None:
    # 2,500 rows: three batches of the default 1,000, two of them in flight at once (each a
    # COPY append of its own transaction); a second school imports at the same time.
    school, neighbour = await a_school(svc), await a_school(svc)
    people = distinct_people(3000, seed=random.randint(0, 10**9))
    ours, theirs = people[:2500], people[2500:]
    who = svc.auth("school_admin", school_code=school)
    before = await event_count(svc)

    async def upload(code: str, rows: list[dict]) -> dict:
        r = await svc.client.post(
            "/v1/imports", files={"file": ("t.csv", csv_file([as_row(p) for p in rows]))},
            data={"school_code": code}, headers=svc.auth("school_admin", school_code=code))
        assert r.status_code == 200, r.text
        return r.json()

    first, side = await asyncio.gather(upload(school, ours), upload(neighbour, theirs))
    assert (first["registered"], first["failed"], first["batches"]) == (2500, 0, 3)
    assert side["registered"] == 500
    assert await event_count(svc) == before + 3000
    schema = svc.runtime.store.schema
    assert await svc.runtime.pool.fetchval(
        f"SELECT count(*) FROM {schema}.teachers WHERE school_code = $1", school) == 2500
    assert await svc.runtime.pool.fetchval(
        f"SELECT count(*) FROM {schema}.identities WHERE school_code = $1 AND active",
        school) == 2500
    again = await upload(school, ours)
    assert (again["registered"], again["unchanged"], again["failed"]) == (0, 2500, 0)
    assert await event_count(svc) == before + 3000
    listed = await svc.client.get(f"/v1/teachers?school_code={school}&limit=1", headers=who)
    assert listed.status_code == 200


async def test_an_xlsx_import_from_the_template_skips_the_example_row(
        svc: RunningService) -> None:
    school = await a_school(svc)
    who = svc.auth("school_admin", school_code=school)
    template = await svc.client.get("/v1/imports/template?format=xlsx", headers=who)
    assert template.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(template.content))
    sheet = book.worksheets[0]
    for person in distinct_people(3, seed=random.randint(0, 10**9)):
        sheet.append(as_row(person))
    out = io.BytesIO()
    book.save(out)
    r = await svc.client.post("/v1/imports", files={"file": ("teachers.xlsx", out.getvalue())},
                              data={"school_code": school}, headers=who)
    assert r.status_code == 200, r.text
    assert (r.json()["registered"], r.json()["skipped"], r.json()["failed"]) == (3, 1, 0)
    listed = await svc.client.get(f"/v1/teachers?school_code={school}", headers=who)
    assert len(listed.json()) == 3


async def test_an_import_into_another_region_or_without_columns_is_refused(
        svc: RunningService) -> None:
    mine, theirs = await a_school(svc), await a_school(svc, county=OTHER_COUNTY)
    content = csv_file([as_row(a_person())])
    before = await event_count(svc)
    forbidden = await svc.client.post("/v1/imports", files={"file": ("t.csv", content)},
                                      data={"school_code": theirs},
                                      headers=svc.auth("school_admin", school_code=mine))
    headless = await svc.client.post("/v1/imports",
                                     files={"file": ("t.csv", "姓名,性别\n王,男\n".encode())},
                                     data={"school_code": mine},
                                     headers=svc.auth("school_admin", school_code=mine))
    assert forbidden.status_code == 403
    assert headless.status_code == 422 and headless.json()["problems"][0]["loc"] == "file"
    assert await event_count(svc) == before


async def test_a_closed_school_refuses_submissions_at_school_code(svc: RunningService) -> None:
    school = await a_school(svc)
    closed = await svc.client.patch(f"/v1/schools/{school}",
                                    json={"expected_version": 1, "open": False},
                                    headers=svc.auth("county_admin", county_code=COUNTY))
    assert closed.status_code == 200 and closed.json()["open"] is False
    before = await event_count(svc)
    r = await svc.client.post("/v1/teachers", json={"school_code": school, "record": a_person()},
                              headers=svc.auth("school_admin", school_code=school))
    assert r.status_code == 422 and r.json()["problems"][0]["loc"] == "school_code"
    assert await event_count(svc) == before


async def test_published_teacher_events_never_carry_the_id_number(svc: RunningService) -> None:
    school = await a_school(svc)
    people = distinct_people(5)
    ids = {(await a_teacher(svc, school, p))["teacher_id"] for p in people}
    kept = await read_topic(svc.settings.kafka_bootstrap, TEACHER_TOPIC,
                            keep=lambda env: env.payload.get("teacher_id") in ids, expect=5)
    assert len(kept) == 5
    raw = " ".join(env.model_dump_json() for _, env in kept)
    assert not any(p["id_number"] in raw for p in people)


async def test_an_import_may_carry_business_time_for_service_accounts_only(
        svc: RunningService) -> None:
    school = await a_school(svc)
    people = distinct_people(2)
    content = csv_file([as_row(p) for p in people])
    when = "2016-11-15T09:00:00+08:00"
    refused = await svc.client.post(
        "/v1/imports", files={"file": ("t.csv", content)},
        data={"school_code": school, "occurred_at": when},
        headers=svc.auth("school_admin", school_code=school))
    assert refused.status_code == 422 and refused.json()["problems"][0]["loc"] == "occurred_at"
    loaded = await svc.client.post("/v1/imports", files={"file": ("t.csv", content)},
                                   data={"school_code": school, "occurred_at": when},
                                   headers=svc.auth("service"))
    assert loaded.json()["registered"] == 2
    times = await svc.runtime.pool.fetch(
        f"SELECT DISTINCT occurred_at FROM {svc.runtime.store.schema}.events e "
        f"JOIN {svc.runtime.store.schema}.teachers t ON e.stream_id = 'teacher-' || t.teacher_id "
        "WHERE t.school_code = $1", school)
    assert [r["occurred_at"].isoformat() for r in times] == ["2016-11-15T01:00:00+00:00"]
