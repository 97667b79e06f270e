"""Accounts end to end on the real stack: a disabled account refused at once by intake and
within seconds by review; a handover with no gap, no overlap and nothing in flight lost; what
the successor finds pending; a teacher who can read only their own record; sign-in locks (per
name and client address: a lock at one address leaves another free); and
no password, hash or ID number in the logs or on the public topics."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import uuid4

import httpx
import pypdf
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from services.intake.adapters.peers import HttpPeers
from services.intake.bootstrap import SPEC as INTAKE
from services.intake.domain.signin import SignInPolicy
from services.intake.service_layer.account_ports import AccountDeps
from services.review.bootstrap import SPEC as REVIEW
from shared.contracts.topics import PUBLIC_TOPICS
from tests.integration.test_accounts_support import (
    COUNTY_A,
    PASSWORD,
    Province,
    a_school,
    a_teacher,
    bearer,
    build_province,
    captured_logs,
    create,
    log_lines,
    service,
    sign_in,
    teacher_token,
)
from tests.integration.test_intake_support import a_person
from tests.support import RunningService, eventually

pytestmark = pytest.mark.integration
ACCOUNT_TOPIC = "tmis.intake.account.v1"


class Stack:
    def __init__(self, intake: RunningService, review: RunningService,
                 province: Province) -> None:
        self.intake = intake
        self.review = review
        self.province = province

    def token(self, column: str) -> dict[str, str]:
        return bearer(self.province.tokens[column])


@pytest.fixture(scope="module")
async def stack(stack_env: Any) -> Any:
    async with service(INTAKE, stack_env, "intake") as intake, \
            service(REVIEW, stack_env, "review") as review:
        # reporting is not running here: /v1/me/pending must say so, not fail
        intake.runtime.extras["peers"] = HttpPeers(intake.settings, review.client, None)
        yield Stack(intake, review, await build_province(intake))


async def a_school_admin(s: Stack, school: str) -> tuple[dict[str, Any], str]:
    account = await create(s.intake, s.province.tokens["y.sys"], "info", "school", school)
    return account, await sign_in(s.intake, account["username"])


async def test_a_disabled_account_is_refused_by_intake_at_once_and_by_review_within_seconds(
        stack: Stack) -> None:
    account, token = await a_school_admin(stack, stack.province.school_a)
    queue = f"/v1/queue?school_code={stack.province.school_a}"
    await eventually(lambda: stack.review.client.get(queue, headers=bearer(token)),
                     lambda r: r.status_code == 200, timeout=30)
    r = await stack.intake.client.post(f"/v1/accounts/{account['account_id']}/disable",
                                       headers=stack.token("y.sys"))
    assert r.status_code == 200 and r.json()["active"] is False
    started = time.monotonic()
    refused = await stack.intake.client.get("/v1/me", headers=bearer(token))
    assert refused.status_code == 401 and refused.json()["error"] == "account_disabled"
    await eventually(lambda: stack.review.client.get(queue, headers=bearer(token)),
                     lambda r: r.status_code == 401, timeout=30, interval=0.05)
    assert time.monotonic() - started < 10
    r = await stack.intake.client.post("/v1/auth/login", json={
        "username": account["username"], "password": PASSWORD})
    assert r.status_code == 401


async def test_a_handover_leaves_no_gap_no_overlap_and_loses_nothing_in_flight(
        stack: Stack) -> None:
    school = await a_school(stack.intake, COUNTY_A)
    old, old_token = await a_school_admin(stack, school)
    r = await stack.intake.client.post("/v1/teachers", headers=bearer(old_token),
                                       json={"school_code": school, "record": a_person()})
    assert r.status_code == 201, r.text
    teacher = r.json()
    schema = stack.intake.runtime.store.schema
    seen: list[list[str]] = []
    done = asyncio.Event()

    async def watch() -> None:  # who holds the school's information administrator role
        while not done.is_set():
            rows = await stack.intake.runtime.pool.fetch(
                f"SELECT account_id::text FROM {schema}.accounts WHERE school_code = $1 "
                "AND kind = 'info' AND active", school)
            seen.append(sorted(r["account_id"] for r in rows))
            await asyncio.sleep(0.002)

    watcher = asyncio.create_task(watch())
    await asyncio.sleep(0.05)
    r = await stack.intake.client.post(f"/v1/accounts/{old['account_id']}/handover",
                                       headers=stack.token("y.sys"),
                                       json={"username": f"new{uuid4().hex[:8]}",
                                             "password": "Successor-Pa55"})
    await asyncio.sleep(0.05)
    done.set()
    await watcher
    assert r.status_code == 200, r.text
    new = r.json()["successor"]
    assert new["role"] == "school_admin" and new["school_code"] == school
    # no gap, no overlap: at every moment exactly one holder, first the old one, then the new
    assert all(len(holders) == 1 for holders in seen)
    assert seen[0] == [old["account_id"]] and seen[-1] == [new["account_id"]]
    assert (await stack.intake.client.get("/v1/me", headers=bearer(old_token))).status_code \
        == 401
    new_token = await sign_in(stack.intake, new["username"], "Successor-Pa55")
    # nothing in flight lost: the record entered before is the successor's to carry on
    got = await stack.intake.client.get(f"/v1/teachers/{teacher['teacher_id']}",
                                        headers=bearer(new_token))
    assert got.status_code == 200
    r = await stack.intake.client.patch(
        f"/v1/teachers/{teacher['teacher_id']}", headers=bearer(new_token),
        json={"expected_version": teacher["version"],
              "record": {"professional_title": "一级教师"}})
    assert r.status_code == 200, r.text
    actors = [row["actor"] for row in await stack.intake.runtime.pool.fetch(
        f"SELECT actor FROM {schema}.events WHERE stream_id = $1 ORDER BY stream_version",
        f"teacher-{teacher['teacher_id']}")]
    assert actors == [old["username"], new["username"]]
    audit = await stack.intake.client.get(
        f"/v1/accounts/audit?level=school&code={school}", headers=stack.token("y.sys"))
    kinds = [(row["event_type"], row["username"]) for row in audit.json()]
    assert ("AdministratorHandedOver", old["username"]) in kinds
    assert ("AccountCreated", new["username"]) in kinds


async def test_the_successor_sees_records_to_review_and_fix_and_an_absent_peer_as_unavailable(
        stack: Stack) -> None:
    school = await a_school(stack.intake, COUNTY_A)
    old, _ = await a_school_admin(stack, school)
    entered = [await a_teacher(stack.intake, school) for _ in range(2)]
    dev = stack.review.auth("school_admin", school_code=school)
    decision = f"/v1/teachers/{entered[0]['teacher_id']}/decisions"
    await eventually(lambda: stack.review.client.post(decision, headers=dev, json={
        "record_version": entered[0]["version"], "decision": "reject",
        "reason": "出生日期与身份证号不符"}), lambda r: r.status_code == 200, timeout=30)
    r = await stack.intake.client.post(f"/v1/accounts/{old['account_id']}/handover",
                                       headers=stack.token("y.sys"),
                                       json={"username": f"succ{uuid4().hex[:8]}"})
    assert r.status_code == 200, r.text
    password = r.json()["password"]
    token = await sign_in(stack.intake, r.json()["successor"]["username"], password)
    pending = (await stack.intake.client.get("/v1/me/pending", headers=bearer(token))).json()
    items = pending["items"]
    assert items["rejected_records"]["count"] == 1
    assert items["rejected_records"]["oldest"]["teacher_id"] == entered[0]["teacher_id"]
    assert items["awaiting_school_review"]["count"] == 1
    assert items["unsigned_confirmation_tables"]["status"] == "unavailable"


async def test_a_teacher_reads_only_their_own_record(stack: Stack) -> None:
    token, mine, _, _ = await teacher_token(stack.intake, stack.province.school_a)
    other = await a_teacher(stack.intake, stack.province.school_a)
    own = await stack.intake.client.get("/v1/me/record", headers=bearer(token),
                                        params={"teacher_id": other["teacher_id"]})
    assert own.status_code == 200 and own.json()["teacher_id"] == mine["teacher_id"]
    for path in (f"/v1/teachers/{other['teacher_id']}", f"/v1/teachers/{mine['teacher_id']}",
                 f"/v1/teachers?school_code={stack.province.school_a}",
                 f"/v1/schools/{stack.province.school_a}/flags"):
        r = await stack.intake.client.get(path, headers=bearer(token))
        assert r.status_code == 403, path
    r = await stack.review.client.get(f"/v1/teachers/{other['teacher_id']}",
                                      headers=bearer(token))
    assert r.status_code in (401, 403)


async def test_a_teacher_prints_their_own_confirmation_table_with_their_full_id_number(
        stack: Stack) -> None:
    token, _, id_number, _ = await teacher_token(stack.intake, stack.province.school_a)
    r = await stack.intake.client.get("/v1/me/confirmation.pdf", headers=bearer(token))
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.headers["cache-control"] == "no-store"
    text = pypdf.PdfReader(io.BytesIO(r.content)).pages[0].extract_text()
    assert id_number in text and "教师本人签字" in text and "学校负责人签字" in text
    staff = await stack.intake.client.get("/v1/me/confirmation.pdf", headers=stack.intake.auth(
        "school_admin", school_code=stack.province.school_a))
    assert staff.status_code == 403  # the full number is the teacher's own: only they print it


async def test_a_teacher_confirms_and_flags_and_the_school_sees_the_flag(stack: Stack) -> None:
    token, mine, _, _ = await teacher_token(stack.intake, stack.province.school_a)
    record = (await stack.intake.client.get("/v1/me/record", headers=bearer(token))).json()
    assert record["teacher_id"] == mine["teacher_id"] and record["confirmed"] is False
    r = await stack.intake.client.post("/v1/me/confirm", headers=bearer(token),
                                       json={"record_version": record["version"]})
    assert r.status_code == 200 and r.json()["recorded_now"] is True
    r = await stack.intake.client.post("/v1/me/flags", headers=bearer(token),
                                       json={"field": "hire_date", "comment": "应为2003年9月"})
    assert r.status_code == 201
    flags = await stack.intake.client.get(f"/v1/schools/{stack.province.school_a}/flags",
                                          headers=stack.token("s.info"))
    assert r.json()["flag_id"] in [f["flag_id"] for f in flags.json()]
    again = (await stack.intake.client.get("/v1/me/record", headers=bearer(token))).json()
    assert again["confirmed"] is True and again["open_flags"][0]["field"] == "hire_date"


@contextmanager
def quick_locks(stack: Stack, lock_seconds: float) -> Iterator[None]:
    """Intake locks after 3 failures for `lock_seconds`, with short waits between (0.05 s,
    then 0.1 s), while the block runs."""
    saved: AccountDeps = stack.intake.runtime.extras["account_deps"]
    stack.intake.runtime.extras["account_deps"] = AccountDeps(
        saved.hasher, SignInPolicy(max_failures=3, lock_seconds=lock_seconds,
                                   delay_base_seconds=0.05, delay_cap_seconds=0.1), saved.clock)
    try:
        yield
    finally:
        stack.intake.runtime.extras["account_deps"] = saved


async def three_failures(client: httpx.AsyncClient, login: dict[str, str]) -> list[int]:
    answers = []
    for _ in range(3):
        answers.append((await client.post("/v1/auth/login", json=login)).status_code)
        await asyncio.sleep(0.15)  # the wait after a failure (0.05 s, then 0.1 s)
    return answers


async def test_repeated_failed_sign_ins_lock_for_a_while_and_lock_and_release_are_logged(
        stack: Stack) -> None:
    account, _ = await a_school_admin(stack, stack.province.school_a)
    login = {"username": account["username"], "password": "wrong-password-0"}
    with quick_locks(stack, 3), captured_logs() as logs:
        answers = await three_failures(stack.intake.client, login)
        right = {**login, "password": PASSWORD}
        during = await stack.intake.client.post("/v1/auth/login", json=right)
        await asyncio.sleep(3.1)
        after = await stack.intake.client.post("/v1/auth/login", json=right)
    assert answers == [401, 401, 429] and during.status_code == 429
    assert after.status_code == 200
    events = [e["event"] for e in log_lines(logs) if e.get("name") == account["username"]]
    assert "signin_locked" in events and "signin_unlocked" in events
    rows = await stack.intake.runtime.pool.fetch(
        f"SELECT event_type FROM {stack.intake.runtime.store.schema}.events "
        "WHERE stream_id = $1 ORDER BY stream_version", f"account-{account['account_id']}")
    assert [r["event_type"] for r in rows][-2:] == ["SignInLocked", "SignInUnlocked"]


async def test_an_administrator_locked_out_at_one_address_still_signs_in_from_another(
        stack: Stack) -> None:
    account, _ = await a_school_admin(stack, stack.province.school_a)
    wrong = {"username": account["username"], "password": "wrong-password-0"}
    right = {**wrong, "password": PASSWORD}
    with quick_locks(stack, 600):
        async with stack.intake.from_address("203.0.113.10") as a, \
                stack.intake.from_address("198.51.100.20") as b:
            answers = await three_failures(a, wrong)
            at_a = await a.post("/v1/auth/login", json=right)
            at_b = await b.post("/v1/auth/login", json=right)
    assert answers == [401, 401, 429]
    assert at_a.status_code == 429 and at_a.json()["error"] == "signin_locked"
    assert at_b.status_code == 200 and at_b.json()["token"]


async def test_changing_ones_password_needs_the_current_one_and_ends_earlier_tokens(
        stack: Stack) -> None:
    account, token = await a_school_admin(stack, stack.province.school_a)
    wrong = await stack.intake.client.post("/v1/me/password", headers=bearer(token), json={
        "current_password": "not-it-at-all1", "new_password": "Another-Pa55word"})
    assert wrong.status_code == 403
    r = await stack.intake.client.post("/v1/me/password", headers=bearer(token), json={
        "current_password": PASSWORD, "new_password": "Another-Pa55word"})
    assert r.status_code == 200
    assert (await stack.intake.client.get("/v1/me", headers=bearer(token))).status_code == 401
    await sign_in(stack.intake, account["username"], "Another-Pa55word")


async def read_raw(bootstrap: str, topics: list[str]) -> bytes:
    """Every message of `topics` so far, keys and values, concatenated."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                group_id=None, auto_offset_reset="earliest")
    await consumer.start()
    try:
        tps = []
        for topic in topics:
            parts = consumer.partitions_for_topic(topic)
            while parts is None:
                await consumer._client.force_metadata_update()
                parts = consumer.partitions_for_topic(topic)
            tps += [TopicPartition(topic, p) for p in parts]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        chunks: list[bytes] = []
        while True:
            positions = {tp: await consumer.position(tp) for tp in tps}
            if all(positions[tp] >= ends[tp] for tp in tps):
                break
            batch = await consumer.getmany(*tps, timeout_ms=500)
            for records in batch.values():
                chunks += [(r.key or b"") + b"\n" + (r.value or b"") for r in records]
        return b"\n".join(chunks)
    finally:
        await consumer.stop()


async def test_passwords_hashes_credentials_and_id_numbers_never_reach_logs_or_the_bus(
        stack: Stack, stack_env: Any) -> None:
    intake = stack.intake
    secrets: list[str] = []
    with captured_logs() as logs:
        account = await create(intake, stack.province.tokens["y.sys"], "info", "school",
                               stack.province.school_a, password="Logged-Never-111")
        secrets.append("Logged-Never-111")
        await sign_in(intake, account["username"], "Logged-Never-111")
        await intake.client.post("/v1/auth/login", json={"username": account["username"],
                                                         "password": "Wrong-Guess-222"})
        secrets.append("Wrong-Guess-222")
        too_long = "Too-Long-333" * 30
        r = await intake.client.post("/v1/auth/login", json={"username": account["username"],
                                                             "password": too_long})
        assert r.status_code == 422 and "Too-Long-333" not in r.text
        secrets.append("Too-Long-333")
        r = await intake.client.post(f"/v1/accounts/{account['account_id']}/reset-password",
                                     headers=stack.token("y.sys"), json={})
        secrets.append(r.json()["password"])
        r = await intake.client.post(f"/v1/accounts/{account['account_id']}/handover",
                                     headers=stack.token("y.sys"),
                                     json={"username": f"h{uuid4().hex[:8]}",
                                           "password": "Handed-Over-444"})
        secrets.append("Handed-Over-444")
        token, _, number, credential = await teacher_token(intake, stack.province.school_a)
        secrets += [number, credential]
        await intake.client.post("/v1/auth/teacher", json={"id_number": number,
                                                           "credential": "zzzz-zzzz"})
        await intake.client.post("/v1/me/flags", headers=bearer(token), json={
            "field": "id_number", "comment": f"我的身份证号是{number}"})
        schema = intake.runtime.store.schema
        await eventually(lambda: intake.runtime.pool.fetchval(
            f"SELECT count(*) FROM {schema}.outbox"), lambda n: n == 0, timeout=30)
    hashes = [r["password_hash"] for r in await intake.runtime.pool.fetch(
        f"SELECT password_hash FROM {schema}.accounts")]
    assert hashes and all(h.startswith("$argon2id$") for h in hashes)
    text = logs.getvalue()
    assert "account_action" in text and "signin_failed" in text  # the capture did capture
    bus = (await read_raw(stack_env.kafka_bootstrap,
                          [t.name for t in PUBLIC_TOPICS] + [ACCOUNT_TOPIC])).decode()
    assert "TeacherFieldFlagged" in bus  # the scenario's events did reach the bus
    for secret in [*secrets, *hashes, "$argon2"]:
        assert secret not in text, f"{secret[:12]}... in the logs"
        assert secret not in bus, f"{secret[:12]}... on the bus"
