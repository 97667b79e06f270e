"""Group commit of teacher registrations: many callers' submissions in one transaction.

Province-wide submissions arrive concurrently from thousands of school administrators. Each
one alone is about ten statements and a WAL flush; gathered, a batch of N costs the same
handful of statements as one (schools, identities, claim, append, save, idempotency keys), so
the database does the work of one transaction for N callers.

Every caller still gets its own answer, exactly as if it had been alone:
- 201 and its teacher, or its own error (422 invalid record or closed school, 403 outside its
  region, 409 a person already in post, or one who left), raised to that caller only;
- a refused submission writes nothing: every rule is decided before the first write, the one
  write that can lose (the identity claim) is an INSERT .. ON CONFLICT DO NOTHING, and the
  refused caller's idempotency key is removed again (a retry runs afresh, as on the single
  path);
- Idempotency-Key semantics are unchanged: a key already answered replays its answer; the
  same key twice in one batch runs once and the second gets the first's answer (replayed);
  a key reused for a different body is a 422.

Within a batch two submissions of the same person behave as if serialised: the first wins,
the second is told who holds the post. Rows are locked in one order (schools by code, keys
by (subject, key), identities by ID number), so two concurrent batches cannot deadlock on them;
if the database still reports a deadlock or serialisation failure, the batcher runs each
submission of that batch alone (services/intake/service_layer/group_commit.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from uuid import UUID, uuid4

from services.intake.domain import teacher as domain
from services.intake.domain.commands import RegisterTeacher
from services.intake.domain.school import School
from services.intake.service_layer.common import business_time, region_of, today
from services.intake.service_layer.ports import Identity, Lock, Registry, StoredResponse
from services.intake.service_layer.teachers import TeacherResult, duplicate, left_already
from shared.auth import Principal
from shared.contracts.events import TeacherRegistered
from shared.errors import Problem, TmisError, ValidationProblem
from shared.eventstore.store import Append, Metadata

Render = Callable[[TeacherResult], StoredResponse]


@dataclass
class Submission:
    """One caller's registration, as it waits in a batch; `answer` or `error` is its outcome."""

    who: Principal
    cmd: RegisterTeacher
    key: str | None = None
    fingerprint: str = ""  # the request's hash (Idempotency-Key: the same key, the same body)
    correlation_id: UUID | None = None
    fingerprint_body: Any = None  # what the entry point hashes into `fingerprint`
    answer: StoredResponse | None = None
    replayed: bool = False
    error: TmisError | None = None
    # worked out on the way
    teacher_id: str = field(default_factory=lambda: str(uuid4()))
    event: TeacherRegistered | None = None
    twin: Submission | None = None  # an earlier submission of the batch with the same key
    owns_key: bool = False  # its Idempotency-Key row was inserted by this batch

    def refuse(self, error: TmisError) -> None:
        self.error = error

    @property
    def open(self) -> bool:
        """Still in the running: neither answered nor refused, nor a twin."""
        return self.answer is None and self.error is None and self.twin is None


async def register_teachers(repo: Registry, batch: Sequence[Submission], render: Render) -> None:
    """Decide and write every submission of `batch` in the caller's one transaction; each
    submission ends with its `answer` (and `replayed`) or its `error`."""
    await _replay_known_keys(repo, batch)
    schools = await repo.schools(sorted({s.cmd.school_code for s in batch if s.open}),
                                 Lock.SHARE)
    day = today()
    for s in batch:
        if s.open:
            _decide(s, schools.get(s.cmd.school_code), day)
    await _claim_people(repo, [s for s in batch if s.open])
    winners = [s for s in batch if s.open]
    if winners:
        await _write(repo, winners, schools, render)
    owners = [s for s in batch if s.owns_key]
    await repo.finish_requests([(s.who.subject, s.key, s.answer) for s in owners
                                if s.key is not None and s.answer is not None])
    await repo.forget_requests([(s.who.subject, s.key) for s in owners
                                if s.key is not None and s.error is not None])
    settle_twins(batch)


async def _replay_known_keys(repo: Registry, batch: Sequence[Submission]) -> None:
    """Claim every Idempotency-Key of the batch (in key order); a key answered before replays
    its answer; a key seen earlier in this batch makes this submission that one's twin."""
    first: dict[tuple[str, str], Submission] = {}
    for s in batch:
        if s.key is not None:
            twin = first.setdefault((s.who.subject, s.key), s)
            if twin is not s:
                s.twin = twin
    stored = await repo.begin_requests(sorted((k[0], k[1], s.fingerprint)
                                              for k, s in first.items()))
    for k, s in first.items():
        s.owns_key = k not in stored
    for k, (first_hash, answer) in stored.items():
        s = first[k]
        if first_hash != s.fingerprint:
            s.refuse(key_reused())
        else:
            s.answer, s.replayed = answer, True


def settle_twins(batch: Sequence[Submission]) -> None:
    """Give a key's second submission in the batch the first one's outcome (a replay), or a
    422 when its body differs."""
    for s in batch:
        twin = s.twin
        if twin is None:
            continue
        if twin.fingerprint != s.fingerprint:
            s.refuse(key_reused())
        else:
            s.answer, s.error, s.replayed = twin.answer, twin.error, True


def key_reused() -> ValidationProblem:
    return ValidationProblem([Problem(
        "Idempotency-Key", "this key was already used for a different request; a retry must "
                           "repeat the request exactly, a new request needs a new key")])


def _decide(s: Submission, school: School | None, day: date) -> None:
    """The domain's decision for one submission (no I/O): its event, or its refusal."""
    try:
        if school is None:
            raise ValidationProblem([Problem("school_code", f"no school {s.cmd.school_code} in "
                                                            "the registry (学校不存在)")])
        s.who.require(region_of(school), write=True)
        business_time(s.who, s.cmd.occurred_at)
        s.event = domain.register_teacher(s.teacher_id, school, s.cmd.person, day)
    except TmisError as exc:
        s.refuse(exc)


async def _claim_people(repo: Registry, batch: list[Submission]) -> None:
    """One active post per person: refuse those already known, then claim the rest at once
    (in ID-number order); a claim lost to a concurrent writer is refused naming the holder."""
    if not batch:
        return
    known = await repo.identities([s.cmd.person.id_number for s in batch])
    claimants: dict[str, Submission] = {}
    for s in batch:
        number = s.cmd.person.id_number
        holder = known.get(number)
        if holder is not None:
            s.refuse(duplicate(holder) if holder.active else left_already(holder))
        elif number in claimants:  # the same person twice in this batch: the first wins
            first = claimants[number]
            s.refuse(duplicate(Identity(first.teacher_id, number, first.cmd.school_code, True)))
        else:
            claimants[number] = s
    ordered = [claimants[n] for n in sorted(claimants)]
    won = await repo.claim_identities([Identity(s.teacher_id, s.cmd.person.id_number,
                                                s.cmd.school_code, True) for s in ordered])
    lost = [s for s in ordered if s.teacher_id not in won]
    if lost:
        holders = await repo.identities([s.cmd.person.id_number for s in lost])
        for s in lost:
            s.refuse(duplicate(holders[s.cmd.person.id_number]))


async def _write(repo: Registry, winners: list[Submission], schools: dict[str, School],
                 render: Render) -> None:
    """One append for every winner (each with its own actor, correlation and business time),
    one save of their write-side rows; then each winner's answer."""
    appends = []
    for s in winners:
        assert s.event is not None
        appends.append(Append(domain.stream_id(s.teacher_id), 0, [s.event],
                              occurred_at=business_time(s.who, s.cmd.occurred_at),
                              actor=s.who.subject or str(s.who.role),
                              correlation_id=s.correlation_id or uuid4()))
    envelopes = await repo.append(appends, Metadata(actor="intake"))
    version = {env.stream_id: env.stream_version for env in envelopes}
    states = []
    for s in winners:
        assert s.event is not None
        states.append(domain.evolve(None, s.event, version[domain.stream_id(s.teacher_id)]))
    await repo.save_teachers(states)
    for s, state in zip(winners, states, strict=True):
        s.answer = render(TeacherResult(state))
