"""Group commit of registrations against the in-memory Registry: every caller of a batch gets
the answer it would have had alone, and a refused submission writes nothing."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from services.intake.domain.commands import RegisterTeacher
from services.intake.service_layer.group_commit import GroupCommit
from services.intake.service_layer.ports import StoredResponse
from services.intake.service_layer.registrations import Submission, register_teachers
from services.intake.service_layer.teachers import TeacherResult
from shared.errors import DuplicatePerson, Forbidden, ValidationProblem
from tests.unit.test_intake_service_layer import (
    OTHER_COUNTY,
    FakeRegistry,
    a_person,
    a_school,
    a_teacher,
    school_admin,
)


def render(result: TeacherResult) -> StoredResponse:
    return StoredResponse(201, {"teacher_id": result.teacher.teacher_id,
                                "version": result.teacher.version})


def submission(school_code: str, person=None, key: str | None = None,
               body: str = "same") -> Submission:
    return Submission(school_admin(school_code), RegisterTeacher(school_code,
                                                                 person or a_person()),
                      key=key, fingerprint=body)


async def test_every_submission_of_a_batch_is_registered_with_its_own_answer() -> None:
    repo = FakeRegistry()
    school = await a_school(repo)
    batch = [submission(school.code) for _ in range(5)]
    await register_teachers(repo, batch, render)
    assert all(s.error is None and s.answer and s.answer.status_code == 201 for s in batch)
    ids = {s.answer.body["teacher_id"] for s in batch if s.answer}
    assert len(ids) == 5 and set(repo.teacher_rows) >= ids
    assert all(repo.events[f"teacher-{i}"] for i in ids)


async def test_a_refused_submission_writes_nothing_and_the_others_go_on() -> None:
    repo = FakeRegistry()
    school = await a_school(repo)
    elsewhere = await a_school(repo, county=OTHER_COUNTY)
    person = a_person()
    held = await a_teacher(repo, school, person)
    good = submission(school.code)
    duplicate = submission(school.code, person)
    outside = Submission(school_admin(school.code), RegisterTeacher(elsewhere.code, a_person()))
    unknown = submission("S000000000")
    before = (len(repo.teacher_rows), len(repo.identity_rows), len(repo.events))
    await register_teachers(repo, [good, duplicate, outside, unknown], render)
    assert good.answer is not None and good.error is None
    assert isinstance(outside.error, Forbidden)
    assert isinstance(unknown.error, ValidationProblem)
    assert isinstance(duplicate.error, DuplicatePerson)
    assert duplicate.error.existing_teacher_id == held.teacher_id
    assert (len(repo.teacher_rows), len(repo.identity_rows), len(repo.events)) == (
        before[0] + 1, before[1] + 1, before[2] + 1)


async def test_the_same_person_twice_in_one_batch_is_registered_once() -> None:
    repo = FakeRegistry()
    school = await a_school(repo)
    person = a_person(random.Random(7))
    first, second = submission(school.code, person), submission(school.code, person)
    await register_teachers(repo, [first, second], render)
    assert first.answer is not None
    assert isinstance(second.error, DuplicatePerson)
    assert second.error.existing_teacher_id == first.answer.body["teacher_id"]
    assert len([i for i in repo.identity_rows.values()
                if i.id_number == person.id_number]) == 1


async def test_a_key_twice_in_one_batch_runs_once_and_the_second_is_a_replay() -> None:
    repo = FakeRegistry()
    school = await a_school(repo)
    person = a_person()
    first = submission(school.code, person, key="k1")
    retry = submission(school.code, person, key="k1")
    await register_teachers(repo, [first, retry], render)
    assert first.answer is not None and not first.replayed
    assert retry.replayed and retry.answer == first.answer
    assert len(repo.teacher_rows) == 1


async def test_a_key_answered_before_replays_its_answer_and_a_new_body_is_refused() -> None:
    repo = FakeRegistry()
    school = await a_school(repo)
    person = a_person()
    first = submission(school.code, person, key="k2")
    await register_teachers(repo, [first], render)
    again = submission(school.code, person, key="k2")
    other = submission(school.code, key="k2", body="different")
    await register_teachers(repo, [again, other], render)
    assert again.replayed and again.answer == first.answer
    assert isinstance(other.error, ValidationProblem)
    assert len(repo.teacher_rows) == 1
    assert repo.requests[(school_admin(school.code).subject, "k2")][1] == first.answer


async def test_a_refused_submissions_key_is_forgotten_so_a_retry_runs_again() -> None:
    repo = FakeRegistry()
    school = await a_school(repo)
    refused = submission("S000000000", key="k3")
    await register_teachers(repo, [refused], render)
    assert refused.error is not None
    assert (school_admin("S000000000").subject, "k3") not in repo.requests
    assert not repo.teacher_rows and not school.code.startswith("S000")


async def test_concurrent_callers_are_gathered_into_fewer_transactions() -> None:
    repo = FakeRegistry()
    school = await a_school(repo)
    transactions = 0

    @asynccontextmanager
    async def uow() -> AsyncIterator[FakeRegistry]:
        nonlocal transactions
        transactions += 1
        await asyncio.sleep(0.01)  # the database's time: arrivals meanwhile form a batch
        yield repo

    batcher = GroupCommit(uow, render, max_batch=100, in_flight=1)
    done = await asyncio.gather(*(batcher.submit(submission(school.code)) for _ in range(50)))
    assert all(s.answer is not None for s in done)
    assert len(repo.teacher_rows) == 50
    assert transactions < 10


async def test_a_batch_that_fails_as_a_whole_is_run_again_one_by_one() -> None:
    repo = FakeRegistry()
    school = await a_school(repo)
    attempts: list[int] = []

    @asynccontextmanager
    async def uow() -> AsyncIterator[FakeRegistry]:
        attempts.append(1)
        if len(attempts) == 1:
            await asyncio.sleep(0.01)  # the others arrive meanwhile and form one batch
        if len(attempts) == 2:
            raise RuntimeError("the batch's transaction cannot start")
        yield repo

    batcher = GroupCommit(uow, render, max_batch=10, in_flight=1)
    subs = [submission(school.code) for _ in range(4)]
    done = await asyncio.gather(*(batcher.submit(s) for s in subs))
    assert all(s.answer is not None and s.error is None for s in done)
    assert len(repo.teacher_rows) == 4
    assert len(attempts) == 1 + 1 + 3  # the first alone, the failed batch, then one by one
