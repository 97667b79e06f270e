"""Handlers for teachers: register, update, transfer, return to post, leave, read.

Each runs inside one transaction (the caller's unit of work): it locks what it changes, checks
the caller's region, asks the domain for one event, claims or changes the person's identity
(the partial unique index on active ID numbers is what keeps one active post per person under
concurrency), appends, and saves the write-side row.

Who acts: the teacher's school (or a bureau above it) registers, updates and records a
departure; a transfer is entered by the receiving side (an administrator covering the target
school), as in the national system; a return to post by the school the teacher returns to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import uuid4

from services.intake.domain import teacher as domain
from services.intake.domain.commands import (
    RecordDeparture,
    RegisterTeacher,
    ReturnTeacherToPost,
    TransferTeacher,
    UpdateTeacher,
)
from services.intake.domain.record import PersonRecord
from services.intake.domain.school import School
from services.intake.domain.teacher import Teacher
from services.intake.service_layer.common import business_time, metadata, region_of, today
from services.intake.service_layer.ports import Identity, Lock, Registry
from shared.auth import Principal, Role
from shared.contracts.base import EventPayload
from shared.contracts.events import ProofDocument
from shared.domain.idnumber import mask, normalise
from shared.errors import (
    ConcurrencyConflict,
    Conflict,
    DuplicatePerson,
    NotFound,
    Problem,
    ValidationProblem,
)
from shared.eventstore.store import Append


@dataclass(frozen=True)
class TeacherResult:
    teacher: Teacher
    changed_fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class TeacherView:
    teacher: Teacher
    id_number: str | None  # only for the administrator of the teacher's own school


def duplicate(holder: Identity) -> DuplicatePerson:
    return DuplicatePerson(
        f"the person with ID number {mask(holder.id_number)} already holds an active post at "
        f"school {holder.school_code} (teacher {holder.teacher_id}); one person holds one post "
        "in the province: record a transfer (省内调动) to move them (此人已在其他学校任职)",
        existing_teacher_id=holder.teacher_id, existing_school_code=holder.school_code)


def left_already(holder: Identity) -> Conflict:
    return Conflict(
        f"the person with ID number {mask(holder.id_number)} is teacher {holder.teacher_id}, "
        "who has left; record a return to post (返岗) for that teacher instead of registering "
        "them again")


async def claim_person(repo: Registry, teacher_id: str, id_number: str, school_code: str) -> None:
    """Make `teacher_id` the one active post of the person, or raise naming who holds it."""
    known = (await repo.identities([id_number])).get(id_number)
    if known is not None:
        raise duplicate(known) if known.active else left_already(known)
    claimed = await repo.claim_identities([Identity(teacher_id, id_number, school_code, True)])
    if teacher_id not in claimed:  # lost a race with a concurrent registration
        holder = (await repo.identities([id_number]))[id_number]
        raise duplicate(holder)


async def _school(repo: Registry, code: str, loc: str, lock: Lock = Lock.SHARE) -> School:
    school = await repo.school(code, lock)
    if school is None:
        raise ValidationProblem([Problem(loc, f"no school {code} in the registry "
                                              "(学校不存在)")])
    return school


async def _teacher(repo: Registry, teacher_id: str, expected: int | None) -> Teacher:
    t = await repo.teacher(teacher_id, lock=True)
    if t is None:
        raise NotFound(f"no teacher {teacher_id}")
    if expected is not None and expected != t.version:
        raise ConcurrencyConflict(t.stream_id, expected, t.version)
    return t


async def _proof(repo: Registry, sha256: str) -> ProofDocument:
    doc = await repo.document(sha256)
    if doc is None:
        raise ValidationProblem([Problem(
            "proof_sha256", f"no uploaded document {sha256}; upload the education authority's "
                            "proof first (POST /v1/documents) (请先上传证明材料)")])
    return ProofDocument(sha256=doc.sha256, media_type=doc.media_type, size_bytes=doc.size_bytes,
                         filename=doc.filename)


async def _append(repo: Registry, who: Principal, t: Teacher | None, stream: str,
                  event: EventPayload, occurred_at: datetime | None) -> Teacher:
    """Append one event to the teacher's stream and save the new state."""
    occurred = business_time(who, occurred_at)
    version = t.version if t else 0
    envs = await repo.append([Append(stream, version, [event])],
                             metadata(who, occurred_at=occurred))
    new = domain.evolve(t, event, envs[-1].stream_version)
    await repo.save_teachers([new])
    return new


async def register_teacher(repo: Registry, who: Principal, cmd: RegisterTeacher) -> TeacherResult:
    school = await _school(repo, cmd.school_code, "school_code")
    who.require(region_of(school), write=True)
    business_time(who, cmd.occurred_at)
    teacher_id = str(uuid4())
    event = domain.register_teacher(teacher_id, school, cmd.person, today())
    await claim_person(repo, teacher_id, cmd.person.id_number, school.code)
    new = await _append(repo, who, None, domain.stream_id(teacher_id), event, cmd.occurred_at)
    return TeacherResult(new)


async def update_teacher(repo: Registry, who: Principal, cmd: UpdateTeacher) -> TeacherResult:
    t = await _teacher(repo, cmd.teacher_id, None)
    school = await _school(repo, t.school_code, "school_code")
    who.require(region_of(school), write=True)
    if cmd.expected_version != t.version:
        raise ConcurrencyConflict(t.stream_id, cmd.expected_version, t.version)
    identity = await repo.identity_of(t.teacher_id)
    assert identity is not None, f"teacher {t.teacher_id} has no identity row"
    current = PersonRecord.from_public(t.record, identity.id_number)
    event = domain.update_teacher(t, current, cmd.changes, school, today())
    if event is None:
        return TeacherResult(t)
    if "id_number" in event.changed_fields:
        new_number = normalise(cmd.changes["id_number"])
        if not await repo.change_id_number(t.teacher_id, new_number):
            raise duplicate((await repo.identities([new_number]))[new_number])
    new = await _append(repo, who, t, t.stream_id, event, cmd.occurred_at)
    return TeacherResult(new, event.changed_fields)


async def transfer_teacher(repo: Registry, who: Principal, cmd: TransferTeacher) -> TeacherResult:
    t = await _teacher(repo, cmd.teacher_id, cmd.expected_version)
    target = await _school(repo, cmd.to_school_code, "to_school_code")
    who.require(region_of(target), write=True)
    proof = await _proof(repo, cmd.proof_sha256)
    event = domain.transfer_teacher(t, target, proof)
    await repo.move_identities([t.teacher_id], target.code)
    await repo.note_document_use(proof.sha256, t.teacher_id, {t.school_code, target.code})
    new = await _append(repo, who, t, t.stream_id, event, cmd.occurred_at)
    return TeacherResult(new)


async def return_to_post(repo: Registry, who: Principal,
                         cmd: ReturnTeacherToPost) -> TeacherResult:
    t = await _teacher(repo, cmd.teacher_id, cmd.expected_version)
    school = await _school(repo, cmd.school_code, "school_code")
    who.require(region_of(school), write=True)
    proof = await _proof(repo, cmd.proof_sha256)
    event = domain.return_to_post(t, school, proof)
    if not await repo.set_identity(t.teacher_id, active=True, school_code=school.code):
        identity = await repo.identity_of(t.teacher_id)
        assert identity is not None
        raise duplicate((await repo.identities([identity.id_number]))[identity.id_number])
    await repo.note_document_use(proof.sha256, t.teacher_id, {t.school_code, school.code})
    new = await _append(repo, who, t, t.stream_id, event, cmd.occurred_at)
    return TeacherResult(new)


async def record_departure(repo: Registry, who: Principal, cmd: RecordDeparture) -> TeacherResult:
    t = await _teacher(repo, cmd.teacher_id, cmd.expected_version)
    school = await _school(repo, t.school_code, "school_code", Lock.NONE)
    who.require(region_of(school), write=True)
    proof = await _proof(repo, cmd.proof_sha256) if cmd.proof_sha256 else None
    event = domain.leave(t, cmd.reason, cmd.note, proof)
    if proof is not None:
        await repo.note_document_use(proof.sha256, t.teacher_id, {t.school_code})
    await repo.set_identity(t.teacher_id, active=False, school_code=t.school_code)
    new = await _append(repo, who, t, t.stream_id, event, cmd.occurred_at)
    return TeacherResult(new)


async def get_teacher(repo: Registry, who: Principal, teacher_id: str) -> TeacherView:
    t = await repo.teacher(teacher_id)
    if t is None:
        raise NotFound(f"no teacher {teacher_id}")
    school = await _school(repo, t.school_code, "school_code", Lock.NONE)
    who.require(region_of(school))
    id_number = None
    if who.role is Role.SCHOOL_ADMIN and who.school_code == t.school_code:
        identity = await repo.identity_of(t.teacher_id)
        id_number = identity.id_number if identity else None
    return TeacherView(t, id_number)


async def list_teachers(repo: Registry, who: Principal, school_code: str, *, limit: int,
                        offset: int) -> list[Teacher]:
    school = await repo.school(school_code)
    if school is None:
        raise NotFound(f"no school {school_code} in the registry")
    who.require(region_of(school))
    return await repo.teachers_at([school_code], limit=limit, offset=offset)
