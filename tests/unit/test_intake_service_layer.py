"""Intake's handlers against an in-memory Registry: region checks, one active post per person,
idempotency, stale versions, bulk import and the restructuring follower, without any I/O."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any
from uuid import uuid4

import pytest

from services.intake.domain.commands import (
    ChangeSchool,
    RecordDeparture,
    RegisterSchool,
    RegisterTeacher,
    ReturnTeacherToPost,
    TransferTeacher,
    UpdateTeacher,
)
from services.intake.domain.documents import Document
from services.intake.domain.importing import COLUMNS
from services.intake.domain.record import PersonRecord
from services.intake.domain.school import School, profile_from
from services.intake.domain.search import TeacherQuery
from services.intake.domain.teacher import Teacher
from services.intake.service_layer import documents, imports, restructuring, schools, teachers
from services.intake.service_layer.common import today
from services.intake.service_layer.idempotency import once
from services.intake.service_layer.ports import Identity, Lock, StoredResponse, TeacherHit
from shared.auth import Principal, Region, Role
from shared.contracts.base import EventPayload
from shared.contracts.envelope import Envelope
from shared.contracts.events import (
    RestructuringBatchApplied,
    RestructuringOperation,
    SchoolClosed,
    TeacherReassigned,
)
from shared.contracts.vocabulary import Gender, LeaveReason, PostStatus, Stage
from shared.domain.idnumber import synthetic_id_number
from shared.errors import (
    ConcurrencyConflict,
    Conflict,
    DuplicatePerson,
    Forbidden,
    ValidationProblem,
)
from shared.eventstore.store import Append, Metadata

COUNTY, CITY = "620102", "620100"  # 城关区, 兰州市
OTHER_COUNTY, OTHER_CITY = "620502", "620500"  # 秦州区, 天水市
PDF = b"%PDF-1.4 proof of transfer"


class FakeRegistry:
    """The Registry port in dictionaries, with the same rules as the SQL adapter (one active
    identity per ID number; expected versions checked on append)."""

    def __init__(self) -> None:
        self.school_rows: dict[str, School] = {}
        self.teacher_rows: dict[str, Teacher] = {}
        self.identity_rows: dict[str, Identity] = {}
        self.events: dict[str, list[EventPayload]] = {}
        self.docs: dict[str, tuple[Document, bytes]] = {}
        self.uses: set[tuple[str, str]] = set()
        self.requests: dict[tuple[str, str], tuple[str, StoredResponse | None]] = {}
        self.metas: list[Metadata] = []

    # schools
    async def school(self, code: str, lock: Lock = Lock.NONE) -> School | None:
        return self.school_rows.get(code)

    async def schools(self, codes: Collection[str], lock: Lock = Lock.NONE) -> dict[str, School]:
        return {c: self.school_rows[c] for c in codes if c in self.school_rows}

    async def list_schools(self, *, county_code: str | None, city_code: str | None,
                           limit: int, offset: int) -> list[School]:
        found = [s for s in sorted(self.school_rows.values(), key=lambda s: s.code)
                 if county_code in (None, s.profile.county_code)
                 and city_code in (None, s.profile.city_code)]
        return found[offset:offset + limit]

    async def save_schools(self, schools: Sequence[School]) -> None:
        self.school_rows.update({s.code: s for s in schools})

    # teachers
    async def teacher(self, teacher_id: str, lock: bool = False) -> Teacher | None:
        return self.teacher_rows.get(teacher_id)

    async def teachers(self, teacher_ids: Collection[str], lock: bool = False
                       ) -> dict[str, Teacher]:
        return {t: self.teacher_rows[t] for t in teacher_ids if t in self.teacher_rows}

    async def teachers_at(self, school_codes: Collection[str], *, lock: bool = False,
                          limit: int | None = None, offset: int = 0) -> list[Teacher]:
        found = [t for t in self.teacher_rows.values()
                 if t.school_code in school_codes and not t.has_left]
        return found[offset:None if limit is None else offset + limit]

    async def count_active_at(self, school_code: str) -> int:
        return len(await self.teachers_at([school_code]))

    async def search_teachers(self, query: TeacherQuery, *, within: Region | None,
                              teacher_ids: Collection[str] | None, limit: int, offset: int
                              ) -> list[TeacherHit]:
        def inside(school: School) -> bool:
            return within is None or (
                within.school_code in (None, school.code)
                and within.county_code in (None, school.profile.county_code)
                and within.city_code in (None, school.profile.city_code))

        def matches(t: Teacher) -> bool:
            return ((teacher_ids is None or t.teacher_id in teacher_ids)
                    and t.record.name.startswith(query.name_prefix or "")
                    and query.school_code in (None, t.school_code)
                    and (query.include_left or not t.has_left)
                    and inside(self.school_rows[t.school_code]))
        found = sorted((t for t in self.teacher_rows.values() if matches(t)),
                       key=lambda t: (t.record.name, t.teacher_id))
        return [TeacherHit(t, self.school_rows[t.school_code])
                for t in found[offset:offset + limit]]

    async def save_teachers(self, teachers: Sequence[Teacher]) -> None:
        self.teacher_rows.update({t.teacher_id: t for t in teachers})

    # identities
    def _active(self, id_number: str) -> Identity | None:
        return next((i for i in self.identity_rows.values()
                     if i.id_number == id_number and i.active), None)

    async def identities(self, id_numbers: Collection[str]) -> dict[str, Identity]:
        out: dict[str, Identity] = {}
        for i in self.identity_rows.values():
            if i.id_number in id_numbers and (i.id_number not in out or i.active):
                out[i.id_number] = i
        return out

    async def identity_of(self, teacher_id: str) -> Identity | None:
        return self.identity_rows.get(teacher_id)

    async def teacher_ids_of(self, id_number: str) -> list[str]:
        return [i.teacher_id for i in self.identity_rows.values() if i.id_number == id_number]

    async def claim_identities(self, claims: Sequence[Identity]) -> set[str]:
        won = set()
        for c in claims:
            if self._active(c.id_number) is None:
                self.identity_rows[c.teacher_id] = c
                won.add(c.teacher_id)
        return won

    async def set_identity(self, teacher_id: str, *, active: bool, school_code: str) -> bool:
        me = self.identity_rows[teacher_id]
        holder = self._active(me.id_number)
        if active and holder is not None and holder.teacher_id != teacher_id:
            return False
        self.identity_rows[teacher_id] = replace(me, active=active, school_code=school_code)
        return True

    async def change_id_number(self, teacher_id: str, id_number: str) -> bool:
        holder = self._active(id_number)
        if holder is not None and holder.teacher_id != teacher_id:
            return False
        self.identity_rows[teacher_id] = replace(self.identity_rows[teacher_id],
                                                 id_number=id_number)
        return True

    async def move_identities(self, teacher_ids: Collection[str], school_code: str) -> None:
        for t in teacher_ids:
            self.identity_rows[t] = replace(self.identity_rows[t], school_code=school_code)

    # events
    async def append(self, appends: Sequence[Append], meta: Metadata) -> list[Envelope]:
        out = []
        for a in appends:
            stream = self.events.setdefault(a.stream_id, [])
            if a.expected_version is not None and a.expected_version != len(stream):
                raise ConcurrencyConflict(a.stream_id, a.expected_version, len(stream))
            for ev in a.events:
                stream.append(ev)
                now = datetime.now(UTC)
                out.append(Envelope(
                    event_id=uuid4(), event_type=ev.event_type, schema_version=1,
                    source="intake", stream_id=a.stream_id, stream_version=len(stream),
                    position=sum(len(s) for s in self.events.values()),
                    occurred_at=meta.occurred_at or now, recorded_at=now, actor=meta.actor,
                    correlation_id=meta.correlation_id, payload=ev.model_dump(mode="json")))
        self.metas.append(meta)
        return out

    def all_events(self) -> list[EventPayload]:
        return [e for stream in self.events.values() for e in stream]

    # documents
    async def document(self, sha256: str) -> Document | None:
        return self.docs[sha256][0] if sha256 in self.docs else None

    async def document_content(self, sha256: str) -> bytes | None:
        return self.docs[sha256][1] if sha256 in self.docs else None

    async def save_document(self, doc: Document, content: bytes, uploaded_by: str) -> None:
        self.docs[doc.sha256] = (doc, content)

    async def note_document_use(self, sha256: str, teacher_id: str,
                                school_codes: Collection[str]) -> None:
        self.uses |= {(sha256, c) for c in school_codes}

    async def document_schools(self, sha256: str) -> set[str]:
        return {c for s, c in self.uses if s == sha256}

    # idempotency
    async def begin_request(self, subject: str, key: str,
                            request_hash: str) -> tuple[str, StoredResponse] | None:
        stored = self.requests.get((subject, key))
        if stored is None:
            self.requests[(subject, key)] = (request_hash, None)
            return None
        assert stored[1] is not None
        return stored[0], stored[1]

    async def finish_request(self, subject: str, key: str, response: StoredResponse) -> None:
        self.requests[(subject, key)] = (self.requests[(subject, key)][0], response)

    async def begin_requests(self, claims: Sequence[tuple[str, str, str]]
                             ) -> dict[tuple[str, str], tuple[str, StoredResponse]]:
        known = {}
        for subject, key, request_hash in claims:
            stored = await self.begin_request(subject, key, request_hash)
            if stored is not None:
                known[(subject, key)] = stored
        return known

    async def finish_requests(self, answers: Sequence[tuple[str, str, StoredResponse]]) -> None:
        for subject, key, response in answers:
            await self.finish_request(subject, key, response)

    async def forget_requests(self, keys: Sequence[tuple[str, str]]) -> None:
        for k in keys:
            del self.requests[k]


# ------------------------------------------------------------------------------ helpers

PROVINCE = Principal("province", Role.PROVINCE_ADMIN)
SERVICE = Principal("svc", Role.SERVICE)


def school_admin(code: str) -> Principal:
    return Principal(f"school:{code}", Role.SCHOOL_ADMIN, school_code=code)


def county_admin(code: str) -> Principal:
    return Principal(f"county:{code}", Role.COUNTY_ADMIN, county_code=code)


def a_code() -> str:
    return f"S{uuid4().hex[:9]}"


def a_person(rng: random.Random | None = None, **changes: Any) -> PersonRecord:
    rng = rng or random.Random()
    born = date(rng.randint(1965, 1995), rng.randint(1, 12), rng.randint(1, 28))
    gender = rng.choice([Gender.MALE, Gender.FEMALE])
    values: dict[str, Any] = dict(
        name=f"教师{rng.randint(1, 10**6)}", gender=gender, birth_date=born,
        id_number=synthetic_id_number(rng, COUNTY, born, gender), ethnicity="汉族",
        post_status=PostStatus.IN_POST, is_fulltime_teacher=True,
        hire_date=date(born.year + 22, 9, 1))
    values.update(changes)
    return PersonRecord(**values)


async def a_school(repo: FakeRegistry, county: str = COUNTY, **profile: Any) -> School:
    code = a_code()
    values = {"name": f"学校{code}", "stage": Stage.PRIMARY, "county_code": county, **profile}
    result = await schools.register_school(repo, PROVINCE,
                                           RegisterSchool(code, profile_from(values)))
    return result.school


async def a_teacher(repo: FakeRegistry, school: School, person: PersonRecord | None = None
                    ) -> Teacher:
    result = await teachers.register_teacher(repo, school_admin(school.code),
                                             RegisterTeacher(school.code, person or a_person()))
    return result.teacher


async def a_proof(repo: FakeRegistry, who: Principal) -> str:
    doc = await documents.upload_document(repo, who, PDF + uuid4().bytes, "proof.pdf")
    return doc.sha256


# ------------------------------------------------------------------------------ schools


async def test_a_school_is_registered_open_with_its_county_city() -> None:
    repo = FakeRegistry()
    school = await a_school(repo)
    assert school.is_open and school.version == 1
    assert school.profile.city_code == CITY


async def test_a_school_administrator_cannot_register_or_change_schools() -> None:
    repo = FakeRegistry()
    school = await a_school(repo)
    with pytest.raises(Forbidden):
        await schools.change_school(repo, school_admin(school.code),
                                    ChangeSchool(school.code, 1, {"name": "新名"}))
    with pytest.raises(Forbidden):
        await schools.register_school(repo, school_admin(school.code), RegisterSchool(
            a_code(), profile_from({"name": "x", "stage": "primary", "county_code": COUNTY})))


async def test_a_county_cannot_register_a_school_of_another_county() -> None:
    repo = FakeRegistry()
    profile = profile_from({"name": "x", "stage": "junior", "county_code": OTHER_COUNTY})
    with pytest.raises(Forbidden):
        await schools.register_school(repo, county_admin(COUNTY), RegisterSchool(a_code(),
                                                                                 profile))
    assert repo.all_events() == []


async def test_a_stale_school_change_is_a_concurrency_conflict() -> None:
    repo = FakeRegistry()
    school = await a_school(repo)
    await schools.change_school(repo, PROVINCE, ChangeSchool(school.code, 1, {"name": "一"}))
    with pytest.raises(ConcurrencyConflict):
        await schools.change_school(repo, PROVINCE, ChangeSchool(school.code, 1, {"name": "二"}))


async def test_a_school_with_teachers_cannot_be_closed_by_hand() -> None:
    repo = FakeRegistry()
    school = await a_school(repo)
    await a_teacher(repo, school)
    with pytest.raises(Conflict, match="still has 1 teachers"):
        await schools.change_school(repo, PROVINCE, ChangeSchool(school.code, 1, close=True))


async def test_listing_schools_stays_inside_the_callers_region() -> None:
    repo = FakeRegistry()
    mine = await a_school(repo)
    await a_school(repo, county=OTHER_COUNTY)
    found = await schools.list_schools(repo, county_admin(COUNTY), county_code=None,
                                       city_code=None, limit=100, offset=0)
    assert [s.code for s in found] == [mine.code]
    with pytest.raises(Forbidden):
        await schools.list_schools(repo, county_admin(COUNTY), county_code=OTHER_COUNTY,
                                   city_code=None, limit=100, offset=0)


# ------------------------------------------------------------------------------ teachers


async def test_a_registered_teachers_event_carries_the_masked_id_number_only() -> None:
    repo = FakeRegistry()
    school = await a_school(repo)
    person = a_person()
    t = await a_teacher(repo, school, person)
    event = repo.events[t.stream_id][0]
    assert person.id_number not in event.model_dump_json()
    assert t.record.id_number_masked.endswith(person.id_number[-4:])
    assert repo.identity_rows[t.teacher_id].id_number == person.id_number


async def test_a_second_school_claiming_an_active_person_gets_a_duplicate_naming_the_first(
) -> None:
    repo = FakeRegistry()
    first, second = await a_school(repo), await a_school(repo)
    person = a_person()
    held = await a_teacher(repo, first, person)
    with pytest.raises(DuplicatePerson) as caught:
        await a_teacher(repo, second, person)
    assert caught.value.existing_school_code == first.code
    assert caught.value.existing_teacher_id == held.teacher_id
    assert len(repo.teacher_rows) == 1


async def test_a_person_who_left_is_told_to_return_to_post_not_to_register_again() -> None:
    repo = FakeRegistry()
    school = await a_school(repo)
    person = a_person()
    t = await a_teacher(repo, school, person)
    await teachers.record_departure(repo, school_admin(school.code),
                                    RecordDeparture(t.teacher_id, LeaveReason.RETIRED))
    with pytest.raises(Conflict, match="return to post"):
        await a_teacher(repo, school, person)


async def test_a_school_administrator_cannot_register_into_another_school() -> None:
    repo = FakeRegistry()
    mine, other = await a_school(repo), await a_school(repo)
    before = len(repo.all_events())
    with pytest.raises(Forbidden):
        await teachers.register_teacher(repo, school_admin(mine.code),
                                        RegisterTeacher(other.code, a_person()))
    assert len(repo.all_events()) == before and repo.teacher_rows == {}


async def test_a_submission_to_a_closed_school_is_refused_at_school_code() -> None:
    repo = FakeRegistry()
    school = await a_school(repo)
    await schools.change_school(repo, PROVINCE, ChangeSchool(school.code, 1, close=True))
    with pytest.raises(ValidationProblem) as caught:
        await teachers.register_teacher(repo, PROVINCE, RegisterTeacher(school.code, a_person()))
    assert [p.loc for p in caught.value.problems] == ["school_code"]


async def test_only_province_and_service_accounts_may_set_business_time() -> None:
    repo = FakeRegistry()
    school = await a_school(repo)
    past = datetime(2016, 12, 1, tzinfo=UTC)
    with pytest.raises(ValidationProblem, match="occurred_at"):
        await teachers.register_teacher(repo, school_admin(school.code),
                                        RegisterTeacher(school.code, a_person(), past))
    await teachers.register_teacher(repo, SERVICE, RegisterTeacher(school.code, a_person(), past))
    assert repo.metas[-1].occurred_at == past


async def test_an_update_with_a_stale_version_is_refused() -> None:
    repo = FakeRegistry()
    school = await a_school(repo)
    t = await a_teacher(repo, school)
    who = school_admin(school.code)
    await teachers.update_teacher(repo, who, UpdateTeacher(t.teacher_id, 1,
                                                           {"professional_title": "一级教师"}))
    with pytest.raises(ConcurrencyConflict):
        await teachers.update_teacher(repo, who, UpdateTeacher(t.teacher_id, 1,
                                                               {"professional_title": "二级教师"}))


async def test_an_update_names_the_changed_fields_and_raises_completeness() -> None:
    repo = FakeRegistry()
    school = await a_school(repo)
    t = await a_teacher(repo, school)
    result = await teachers.update_teacher(
        repo, school_admin(school.code),
        UpdateTeacher(t.teacher_id, 1, {"professional_title": "一级教师",
                                        "highest_education": "本科"}))
    assert set(result.changed_fields) == {"professional_title", "highest_education"}
    assert result.teacher.completeness > t.completeness
    assert result.teacher.version == 2


async def test_an_update_that_changes_nothing_appends_nothing() -> None:
    repo = FakeRegistry()
    school = await a_school(repo)
    t = await a_teacher(repo, school)
    result = await teachers.update_teacher(repo, school_admin(school.code),
                                           UpdateTeacher(t.teacher_id, 1, {"ethnicity": "汉"}))
    assert result.teacher.version == 1 and len(repo.events[t.stream_id]) == 1


async def test_a_birth_date_change_must_still_agree_with_the_id_number() -> None:
    repo = FakeRegistry()
    school = await a_school(repo)
    t = await a_teacher(repo, school)
    with pytest.raises(ValidationProblem) as caught:
        await teachers.update_teacher(repo, school_admin(school.code),
                                      UpdateTeacher(t.teacher_id, 1,
                                                    {"birth_date": date(1970, 1, 1)}))
    assert "record.birth_date" in [p.loc for p in caught.value.problems]


async def test_a_transfer_is_entered_by_the_receiving_school_with_a_proof() -> None:
    repo = FakeRegistry()
    source, target = await a_school(repo), await a_school(repo, county=OTHER_COUNTY)
    t = await a_teacher(repo, source)
    receiving = school_admin(target.code)
    proof = await a_proof(repo, receiving)
    result = await teachers.transfer_teacher(repo, receiving,
                                             TransferTeacher(t.teacher_id, target.code, proof, 1))
    assert result.teacher.school_code == target.code
    assert repo.identity_rows[t.teacher_id].school_code == target.code
    third = await a_school(repo)
    with pytest.raises(Forbidden):  # a school cannot send a teacher on to a third school
        await teachers.transfer_teacher(repo, school_admin(source.code),
                                        TransferTeacher(t.teacher_id, third.code, proof))


async def test_a_transfer_without_an_uploaded_proof_is_refused_at_proof_sha256() -> None:
    repo = FakeRegistry()
    source, target = await a_school(repo), await a_school(repo)
    t = await a_teacher(repo, source)
    with pytest.raises(ValidationProblem) as caught:
        await teachers.transfer_teacher(repo, PROVINCE,
                                        TransferTeacher(t.teacher_id, target.code, "0" * 64))
    assert [p.loc for p in caught.value.problems] == ["proof_sha256"]


async def test_leaving_frees_the_person_and_a_return_to_post_takes_them_back() -> None:
    repo = FakeRegistry()
    school, other = await a_school(repo), await a_school(repo)
    person = a_person()
    t = await a_teacher(repo, school, person)
    left = await teachers.record_departure(repo, school_admin(school.code),
                                           RecordDeparture(t.teacher_id, LeaveReason.RESIGNED))
    assert left.teacher.has_left and not repo.identity_rows[t.teacher_id].active
    who = school_admin(other.code)
    back = await teachers.return_to_post(
        repo, who, ReturnTeacherToPost(t.teacher_id, other.code, await a_proof(repo, who)))
    assert back.teacher.in_post and back.teacher.school_code == other.code
    assert repo.identity_rows[t.teacher_id].active


async def test_the_id_number_is_shown_only_to_the_teachers_own_school() -> None:
    repo = FakeRegistry()
    school = await a_school(repo)
    person = a_person()
    t = await a_teacher(repo, school, person)
    own = await teachers.get_teacher(repo, school_admin(school.code), t.teacher_id)
    county = await teachers.get_teacher(repo, county_admin(COUNTY), t.teacher_id)
    assert own.id_number == person.id_number and county.id_number is None
    with pytest.raises(Forbidden):
        await teachers.get_teacher(repo, county_admin(OTHER_COUNTY), t.teacher_id)


# ------------------------------------------------------------------------------ documents


async def test_a_document_is_read_by_reviewers_of_a_school_that_used_it_only() -> None:
    repo = FakeRegistry()
    source, target = await a_school(repo), await a_school(repo)
    t = await a_teacher(repo, source)
    proof = await a_proof(repo, school_admin(target.code))
    await teachers.transfer_teacher(repo, school_admin(target.code),
                                    TransferTeacher(t.teacher_id, target.code, proof))
    doc, content = await documents.read_document(repo, county_admin(COUNTY), proof)
    assert content.startswith(b"%PDF-") and doc.media_type == "application/pdf"
    for outsider in (county_admin(OTHER_COUNTY), school_admin(target.code)):
        with pytest.raises(Forbidden):
            await documents.read_document(repo, outsider, proof)


# ------------------------------------------------------------------------------ idempotency


async def test_a_retry_with_the_same_key_replays_the_first_answer_without_running() -> None:
    repo = FakeRegistry()
    runs = 0

    async def run() -> StoredResponse:
        nonlocal runs
        runs += 1
        return StoredResponse(201, {"n": runs})

    first = await once(repo, PROVINCE, "k1", "hash-a", run)
    again = await once(repo, PROVINCE, "k1", "hash-a", run)
    assert first == (StoredResponse(201, {"n": 1}), False)
    assert again == (StoredResponse(201, {"n": 1}), True) and runs == 1
    with pytest.raises(ValidationProblem, match="different request"):
        await once(repo, PROVINCE, "k1", "hash-b", run)


# ------------------------------------------------------------------------------ bulk import


def rows_of(people: list[PersonRecord], start: int = 2) -> imports.Rows:
    for i, p in enumerate(people, start=start):
        yield i, {c.field: getattr(p, c.field) for c in COLUMNS}


def uow_of(repo: FakeRegistry) -> Any:
    @asynccontextmanager
    async def uow() -> AsyncIterator[FakeRegistry]:
        yield repo

    return uow


async def test_importing_the_same_rows_twice_changes_nothing() -> None:
    repo = FakeRegistry()
    school = await a_school(repo)
    people = [a_person() for _ in range(25)]
    who = school_admin(school.code)
    first = await imports.import_teachers(uow_of(repo), who, school.code, rows_of(people),
                                          batch_size=10)
    events = len(repo.all_events())
    second = await imports.import_teachers(uow_of(repo), who, school.code, rows_of(people),
                                           batch_size=10)
    assert (first.registered, first.failed, first.batches) == (25, 0, 3)
    assert (second.registered, second.unchanged, second.failed) == (0, 25, 0)
    assert len(repo.all_events()) == events


async def test_an_import_reports_bad_rows_and_keeps_the_good_ones() -> None:
    repo = FakeRegistry()
    school, other = await a_school(repo), await a_school(repo)
    elsewhere = a_person()
    await a_teacher(repo, other, elsewhere)
    good = [a_person() for _ in range(3)]
    person = a_person()
    broken = replace(person, gender=Gender.FEMALE if person.gender is Gender.MALE
                     else Gender.MALE)
    people = [good[0], broken, good[1], good[1], elsewhere, good[2]]
    report = await imports.import_teachers(uow_of(repo), school_admin(school.code), school.code,
                                           rows_of(people), batch_size=2)
    assert report.registered == 3 and report.failed == 3
    by_row = {p.row: p for p in report.problems}
    assert by_row[3].field in ("gender", "birth_date", "id_number")
    assert "row 4" in by_row[5].msg
    assert other.code in by_row[6].msg


async def test_a_changed_row_of_a_reimported_file_updates_that_teacher() -> None:
    repo = FakeRegistry()
    school = await a_school(repo)
    people = [a_person(), a_person()]
    who = school_admin(school.code)
    await imports.import_teachers(uow_of(repo), who, school.code, rows_of(people))
    people[1] = replace(people[1], professional_title="高级教师")
    report = await imports.import_teachers(uow_of(repo), who, school.code, rows_of(people))
    assert (report.updated, report.unchanged) == (1, 1)


# ------------------------------------------------------------------------------ restructuring


def a_batch(*ops: RestructuringOperation) -> tuple[RestructuringBatchApplied, Envelope]:
    batch = RestructuringBatchApplied(batch_id=f"b-{uuid4().hex[:6]}",
                                      effective_date=date(2017, 3, 31), operations=ops,
                                      teachers_to_move=0)
    now = datetime.now(UTC)
    env = Envelope(event_id=uuid4(), event_type=batch.event_type, schema_version=1,
                   source="orgsync", stream_id=f"batch-{batch.batch_id}", stream_version=1,
                   position=1, occurred_at=now, recorded_at=now, actor="orgsync",
                   correlation_id=uuid4(), payload=batch.model_dump(mode="json"))
    return batch, env


async def test_a_merge_moves_every_teacher_then_closes_the_school_once() -> None:
    repo = FakeRegistry()
    a, b = await a_school(repo), await a_school(repo)
    staff = [await a_teacher(repo, a) for _ in range(3)]
    batch, env = a_batch(RestructuringOperation(line=1, op="merge", school_code=a.code,
                                                target_code=b.code))
    await restructuring.apply_batch(repo, batch, env)
    applied_at = repo.metas[-1].occurred_at
    replay = await restructuring.apply_batch(repo, batch, env)
    moved = [e for e in repo.all_events() if isinstance(e, TeacherReassigned)]
    closed = [e for e in repo.all_events() if isinstance(e, SchoolClosed)]
    assert len(moved) == 3 and len(closed) == 1 and closed[0].merged_into == b.code
    assert {repo.teacher_rows[t.teacher_id].school_code for t in staff} == {b.code}
    assert replay.steps == [] and replay.skipped
    assert applied_at is not None and applied_at.isoformat() == "2017-03-31T00:00:00+08:00"


async def test_a_batch_opens_renames_and_skips_what_is_already_so() -> None:
    repo = FakeRegistry()
    existing = await a_school(repo)
    new_code = a_code()
    batch, env = a_batch(
        RestructuringOperation(line=1, op="open", school_code=new_code, name="新学校",
                               stage=Stage.KINDERGARTEN, county_code=COUNTY),
        RestructuringOperation(line=2, op="rename", school_code=existing.code, name="改名"),
        RestructuringOperation(line=3, op="open", school_code=existing.code, name="x",
                               stage=Stage.PRIMARY, county_code=COUNTY))
    plan = await restructuring.apply_batch(repo, batch, env)
    assert repo.school_rows[new_code].profile.stage is Stage.KINDERGARTEN
    assert repo.school_rows[existing.code].profile.name == "改名"
    assert [line for line, _ in plan.skipped] == [3]


def test_today_is_the_provinces_date() -> None:
    assert abs((today() - date.today()).days) <= 1
