"""Counting rules on the real stack: each rule with events that must be excluded; transfers and
merges as of before and after; duplicated and out-of-order deliveries."""

from __future__ import annotations

from uuid import uuid4

import pytest
from aiokafka import AIOKafkaProducer

from shared.contracts.events import (
    RestructuringBatchAnnounced,
    RestructuringBatchApplied,
    RestructuringOperation,
    ReviewCompleted,
    SchoolClosed,
    TeacherLeft,
    TeacherReassigned,
    TeacherTransferred,
)
from shared.contracts.topics import topic_for_category
from shared.contracts.vocabulary import LeaveReason, PostStatus, Stage
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

pytestmark = pytest.mark.integration

PROOF = {"sha256": "b" * 64, "media_type": "application/pdf", "size_bytes": 100}


@pytest.fixture(scope="module")
async def world(stack_env):
    async with reporting_world(stack_env) as world:
        yield world


async def test_each_counting_rule_excludes_what_it_must(world):
    src, svc = world
    t0, k = epoch(), tag()
    a, b, ghost = f"A{k}", f"B{k}", f"G{k}"
    await src.intake.emit(f"school-{a}", [school(a)], day(t0, 0))
    await src.intake.emit(f"school-{b}", [school(b, Stage.PRIMARY)], day(t0, 0))  # no teachers
    counted = teacher(a)
    parttime = teacher(a, fulltime=False)
    away = teacher(a, post=PostStatus.NOT_IN_POST)  # 不在本单位任职: not staff
    gone = teacher(a)
    elsewhere = teacher(ghost)  # at a school the registry does not know
    for t in (counted, parttime, away, gone, elsewhere):
        await src.intake.emit(f"teacher-{t.teacher_id}", [t], day(t0, 1))
    await src.intake.emit(f"teacher-{gone.teacher_id}", [TeacherLeft(
        teacher_id=gone.teacher_id, school_code=a, reason=LeaveReason.RETIRED)], day(t0, 2))

    # the five teachers are five streams (partitions): staff 2 is also reached on the way, by
    # `counted` and `gone` before `parttime` and the leave arrive; wait for the whole view
    rows = await eventually(lambda: svc.schools({a, b}, as_of=as_of(t0, 3)),
                            lambda r: r.get(a, {}).get("staff_entered") == 2
                            and r[a].get("fulltime_entered") == 1 and b in r)
    assert (rows[a]["staff_entered"], rows[a]["fulltime_entered"]) == (2, 1)
    assert rows[b]["staff_entered"] == 0 and rows[b]["entered"] is False
    stages = await svc.report("stages", as_of=as_of(t0, 3))
    by_stage = {r["stage"]: r for r in stages["tables"][0]["rows"]}
    assert by_stage["junior"]["schools_entered"] == 1  # A only; B has no teacher
    assert by_stage["primary"]["schools_entered"] == 0
    assert by_stage["total"]["staff_entered"] == 2

    async def unknown_schools() -> list[str]:
        findings = await svc.report("findings", as_of=as_of(t0, 3))
        return [s for f in findings["flags"] if f["code"] == "teachers_at_unregistered_schools"
                for s in f["where"]["schools"]]

    # (another partition than A's teachers: reporting's consumers apply them in parallel)
    assert ghost in await eventually(unknown_schools, lambda schools: ghost in schools)
    # before the teacher left, they counted
    earlier = await svc.schools({a}, as_of=as_of(t0, 1))
    assert earlier[a]["staff_entered"] == 3


async def test_a_transfer_counts_once_at_the_right_school_before_and_after(world):
    src, svc = world
    t0, k = epoch(), tag()
    a, c = f"A{k}", f"C{k}"
    for code in (a, c):
        await src.intake.emit(f"school-{code}", [school(code)], day(t0, 0))
    t = teacher(a)
    await src.intake.emit(f"teacher-{t.teacher_id}", [t], day(t0, 1))
    await src.intake.emit(f"teacher-{t.teacher_id}", [TeacherTransferred.model_validate(
        {"teacher_id": t.teacher_id, "from_school_code": a, "to_school_code": c,
         "proof": PROOF})], day(t0, 10))
    # schools and teachers are separate topics (and may be separate consumers of reporting's
    # group): wait for both schools' rows too, not only for the transfer
    after = await eventually(lambda: svc.schools({a, c}, as_of=as_of(t0, 11)),
                             lambda r: a in r and r.get(c, {}).get("staff_entered") == 1)
    before = await svc.schools({a, c}, as_of=as_of(t0, 5))
    assert (before[a]["staff_entered"], before[c]["staff_entered"]) == (1, 0)
    assert (after[a]["staff_entered"], after[c]["staff_entered"]) == (0, 1)
    for d in (5, 11):
        total = (await svc.report("stages", as_of=as_of(t0, d)))["tables"][0]["rows"][-1]
        assert total["staff_entered"] == 1


async def test_a_merge_moves_teachers_and_closes_the_school_as_of_its_date(world):
    src, svc = world
    t0, k = epoch(), tag()
    m, n, batch = f"M{k}", f"N{k}", f"batch{k}"
    await src.intake.emit(f"school-{m}", [school(m, Stage.KINDERGARTEN)], day(t0, 0))
    await src.intake.emit(f"school-{n}", [school(n, Stage.KINDERGARTEN)], day(t0, 0))
    ts = [teacher(m) for _ in range(3)]
    for t in ts:
        await src.intake.emit(f"teacher-{t.teacher_id}", [t], day(t0, 1))
    op = RestructuringOperation(line=1, op="merge", school_code=m, target_code=n)
    await src.orgsync.emit(f"batch-{batch}", [RestructuringBatchAnnounced(
        batch_id=batch, effective_date=day(t0, 20).date(), operations=(op,))], day(t0, 15))
    await src.orgsync.emit(f"batch-{batch}", [RestructuringBatchApplied(
        batch_id=batch, effective_date=day(t0, 20).date(), operations=(op,),
        teachers_to_move=3)], day(t0, 20))
    await src.orgsync.emit(f"school-{m}", [SchoolClosed(school_code=m, merged_into=n,
                                                        batch_id=batch)], day(t0, 20))
    for t in ts:
        await src.orgsync.emit(f"teacher-{t.teacher_id}", [TeacherReassigned(
            teacher_id=t.teacher_id, from_school_code=m, to_school_code=n, batch_id=batch)],
            day(t0, 20))
    after = await eventually(lambda: svc.schools({m, n}, as_of=as_of(t0, 21)),
                             lambda r: r.get(n, {}).get("staff_entered") == 3
                             and r.get(m, {}).get("open") is False)
    assert after[m]["open"] is False and after[m]["entered"] is False
    before = await svc.schools({m, n}, as_of=as_of(t0, 19))
    assert (before[m]["staff_entered"], before[n]["staff_entered"]) == (3, 0)
    assert before[m]["entered"] and not before[n]["entered"]
    kg = [(await svc.report("stages", as_of=as_of(t0, d)))["tables"][0]["rows"][0]
          for d in (19, 21)]
    assert [(r["schools_entered"], r["staff_entered"]) for r in kg] == [(1, 3), (1, 3)]

    async def pending_on_day_17() -> int:
        rows = (await svc.report("findings", as_of=as_of(t0, 17)))["tables"][4]["rows"]
        return int(rows[0]["schools"])

    await eventually(pending_on_day_17, lambda n: n == 1)  # the batch topic's own partition
    pending = {d: (await svc.report("findings", as_of=as_of(t0, d)))["tables"][4]["rows"][0]
               for d in (14, 17, 21)}
    assert [pending[d]["schools"] for d in (14, 17, 21)] == [0, 1, 0]


async def test_a_duplicated_delivery_is_counted_once(world):
    src, svc = world
    t0, k = epoch(), tag()
    a = f"D{k}"
    await src.intake.emit(f"school-{a}", [school(a)], day(t0, 0))
    t = teacher(a)
    [env] = await src.intake.emit(f"teacher-{t.teacher_id}", [t], day(t0, 1))
    producer = AIOKafkaProducer(bootstrap_servers=svc.settings.kafka_bootstrap)
    await producer.start()
    try:
        topic = topic_for_category("teacher")
        # the same message again (a relay retry), and the same stream position under a new
        # event id (a re-published copy): neither may count twice
        await producer.send_and_wait(topic, env.to_bytes(), key=env.stream_id.encode())
        copy = env.model_copy(update={"event_id": uuid4()})
        await producer.send_and_wait(topic, copy.to_bytes(), key=env.stream_id.encode())
    finally:
        await producer.stop()
    # a marker after the copies on the teacher's own stream (same partition, so applied after
    # them): once it counts, the copies have been through the projection
    await src.intake.emit(f"teacher-{t.teacher_id}", [TeacherLeft(
        teacher_id=t.teacher_id, school_code=a, reason=LeaveReason.RETIRED)], day(t0, 5))

    async def staff_before_and_after_leaving() -> tuple[int, int]:
        before = await svc.schools({a}, as_of=as_of(t0, 3))
        after = await svc.schools({a}, as_of=as_of(t0, 6))
        return (before.get(a, {}).get("staff_entered", 0),
                after.get(a, {}).get("staff_entered", -1))

    counted, _ = await eventually(staff_before_and_after_leaving,
                                  lambda s: s[0] >= 1 and s[1] == 0)
    assert counted == 1


async def test_review_completion_arriving_before_the_record_still_counts(world):
    src, svc = world
    t0, k = epoch(), tag()
    a = f"R{k}"
    t = teacher(a)
    # review's decision (another stream, another topic) is delivered before the teacher and
    # the school themselves: order of arrival must not matter, business time does
    await src.review.emit(f"review-{t.teacher_id}", [ReviewCompleted(
        teacher_id=t.teacher_id, record_version=1, school_code=a, county_code="620102")],
        day(t0, 5))
    await src.intake.emit(f"teacher-{t.teacher_id}", [t], day(t0, 1))
    await src.intake.emit(f"school-{a}", [school(a)], day(t0, 0))
    rows = await eventually(lambda: svc.schools({a}, as_of=as_of(t0, 6)),
                            lambda r: r.get(a, {}).get("review_complete") == 1
                            and r[a].get("staff_entered") == 1)
    assert (rows[a]["staff_entered"], rows[a]["review_complete"]) == (1, 1)
    earlier = await svc.schools({a}, as_of=as_of(t0, 3))
    assert (earlier[a]["staff_entered"], earlier[a]["review_complete"]) == (1, 0)
