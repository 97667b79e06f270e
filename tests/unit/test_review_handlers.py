"""The decision and spot-check handlers against an in-memory unit of work: authorisation by
level and region, optimistic concurrency on the review stream, batches, spot checks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from types import TracebackType
from uuid import uuid4

import pytest

from services.review.domain.decisions import DecideRecord
from services.review.domain.errors import ProofMissing, Rebuilding
from services.review.domain.facts import SpotCheckFact, read_fact
from services.review.domain.model import DecisionFact, ReviewItem, Status, derive
from services.review.domain.spotcheck import DrawSpotCheck, redraw
from services.review.service_layer import handlers
from shared.auth import Principal, Region, Role
from shared.contracts.base import EventPayload
from shared.contracts.envelope import Envelope
from shared.contracts.events import SpotCheckSampleDrawn
from shared.contracts.vocabulary import ReviewLevel
from shared.errors import ConcurrencyConflict, Conflict, Forbidden, NotFound
from shared.eventstore.store import Append, Metadata
from tests.unit.test_review_model import PROOF, History

COUNTY_A, COUNTY_B, CITY = "620102", "620103", "620100"


class FakeStore:
    """Review's event store, the school registry and the facts, in memory."""

    def __init__(self) -> None:
        self.streams: dict[str, list[Envelope]] = {}
        self.histories: dict[str, History] = {}
        self.regions: dict[str, Region] = {}
        self.decisions: dict[str, list[DecisionFact]] = {}
        self.rebuilding = False
        self.position = 0
        self.interloper: str | None = None  # a stream another writer appends to, once

    def item(self, teacher_id: str) -> ReviewItem | None:
        h = self.histories.get(teacher_id)
        return derive(teacher_id, h.facts, self.decisions.get(teacher_id, [])) if h else None


class FakeUnitOfWork:
    def __init__(self, store: FakeStore) -> None:
        self.store = store
        self.pending: list[tuple[str, Envelope]] = []
        self.lock_calls = 0
        self.record_calls = 0

    async def __aenter__(self) -> FakeUnitOfWork:
        return self

    async def __aexit__(self, et: type[BaseException] | None, e: BaseException | None,
                        tb: TracebackType | None) -> None:
        if et is None:
            for stream, env in self.pending:
                self._commit(stream, env)
        self.pending = []

    def _commit(self, stream: str, env: Envelope) -> None:
        self.store.streams.setdefault(stream, []).append(env)
        fact = read_fact(env)
        if isinstance(fact, DecisionFact):
            self.store.decisions.setdefault(fact.teacher_id, []).append(fact)

    async def rebuilding(self) -> bool:
        return self.store.rebuilding

    async def lock_item(self, teacher_id: str) -> ReviewItem | None:
        decisions = self.store.decisions.get(teacher_id, []) + [
            f for _, env in self.pending
            if isinstance(f := read_fact(env), DecisionFact) and f.teacher_id == teacher_id]
        h = self.store.histories.get(teacher_id)
        return derive(teacher_id, h.facts, decisions) if h else None

    async def lock_items(self, teacher_ids: Sequence[str]) -> dict[str, ReviewItem]:
        self.lock_calls += 1
        return {t: item for t in teacher_ids if (item := await self.lock_item(t)) is not None}

    async def region_of(self, school_code: str) -> Region | None:
        return self.store.regions.get(school_code)

    async def regions_of(self, school_codes: Sequence[str]) -> dict[str, Region]:
        return {c: r for c in school_codes if (r := self.store.regions.get(c)) is not None}

    async def county_region(self, county_code: str) -> Region:
        return Region(county_code=county_code, city_code=CITY)

    async def school_approved(self, county_code: str) -> list[str]:
        return sorted(t for t in self.store.histories
                      if (item := self.store.item(t)) is not None
                      and item.status is Status.SCHOOL_APPROVED
                      and self.store.regions[item.school_code].county_code == county_code)

    async def spot_check_sample(self, sample_id: str) -> SpotCheckSampleDrawn | None:
        for envs in self.store.streams.values():
            for env in envs:
                if (env.event_type == "SpotCheckSampleDrawn"
                        and env.payload["sample_id"] == sample_id):
                    return SpotCheckSampleDrawn.model_validate(env.payload)
        return None

    async def stream_version(self, stream_id: str) -> int:
        return len(self.store.streams.get(stream_id, [])) + sum(
            1 for s, _ in self.pending if s == stream_id)

    async def stream_versions(self, stream_ids: Sequence[str]) -> dict[str, int]:
        return {s: v for s in stream_ids if (v := await self.stream_version(s))}

    async def statuses(self, teacher_ids: Sequence[str]) -> dict[str, Status]:
        return {t: item.status for t, item in (await self.lock_items(teacher_ids)).items()}

    async def record(self, stream_id: str, expected_version: int,
                     events: Sequence[EventPayload], meta: Metadata) -> list[Envelope]:
        return await self.record_many([Append(stream_id, expected_version, events)], meta, {})

    async def record_many(self, appends: Sequence[Append], meta: Metadata,
                          decided: Mapping[str, ReviewItem]) -> list[Envelope]:
        for a in appends:  # all or nothing, like EventStore.append_many
            actual = await self.stream_version(a.stream_id)
            if a.expected_version is not None and actual != a.expected_version:
                raise ConcurrencyConflict(a.stream_id, a.expected_version, actual)
        if self.store.interloper is not None:
            stream, self.store.interloper = self.store.interloper, None
            raise ConcurrencyConflict(stream, 0, 1)
        self.record_calls += 1
        out = []
        for a in appends:
            actual = await self.stream_version(a.stream_id)
            for i, ev in enumerate(a.events, start=1):
                self.store.position += 1
                now = datetime.now(UTC)
                env = Envelope(event_id=uuid4(), event_type=ev.event_type,
                               schema_version=ev.schema_version, source="review",
                               stream_id=a.stream_id, stream_version=actual + i,
                               position=self.store.position,
                               occurred_at=a.occurred_at or meta.occurred_at or now,
                               recorded_at=now, actor=meta.actor,
                               correlation_id=meta.correlation_id,
                               causation_id=a.causation_id or meta.causation_id,
                               payload=ev.model_dump(mode="json"))
                self.pending.append((a.stream_id, env))
                out.append(env)
        return out


@pytest.fixture
def store() -> FakeStore:
    s = FakeStore()
    s.regions = {"S1": Region("S1", COUNTY_A, CITY), "S2": Region("S2", COUNTY_A, CITY),
                 "S3": Region("S3", COUNTY_B, CITY)}
    return s


def submitted(store: FakeStore, school: str = "S1", seed: int = 1) -> History:
    h = History(seed)
    h.register(school)
    store.histories[h.teacher_id] = h
    return h


def school_admin(school: str = "S1") -> Principal:
    return Principal("school:" + school, Role.SCHOOL_ADMIN, school_code=school,
                     county_code=COUNTY_A, city_code=CITY)


def county_admin(county: str = COUNTY_A) -> Principal:
    return Principal("county:" + county, Role.COUNTY_ADMIN, county_code=county)


def approve(teacher_id: str, version: int = 1) -> DecideRecord:
    return DecideRecord(teacher_id, version, approve=True)


async def test_the_school_and_then_its_county_complete_a_review(store):
    h = submitted(store)
    uow = lambda: FakeUnitOfWork(store)  # noqa: E731
    first = await handlers.decide_record(uow, school_admin(), approve(h.teacher_id))
    assert first.status is Status.SCHOOL_APPROVED
    second = await handlers.decide_record(uow, county_admin(), approve(h.teacher_id))
    assert second.status is Status.COUNTY_APPROVED
    stream = store.streams[f"review-{h.teacher_id}"]
    assert [e.event_type for e in stream] == ["RecordApproved", "RecordApproved",
                                              "ReviewCompleted"]
    assert [e.actor for e in stream] == ["school:S1", f"county:{COUNTY_A}", f"county:{COUNTY_A}"]
    assert all(str(e.causation_id) == h.facts[0].event_id for e in stream)


async def test_a_county_administrator_of_another_county_is_forbidden(store):
    h = submitted(store)
    uow = lambda: FakeUnitOfWork(store)  # noqa: E731
    await handlers.decide_record(uow, school_admin(), approve(h.teacher_id))
    with pytest.raises(Forbidden):
        await handlers.decide_record(uow, county_admin(COUNTY_B), approve(h.teacher_id))
    assert len(store.streams[f"review-{h.teacher_id}"]) == 1


async def test_another_schools_administrator_and_read_only_accounts_are_forbidden(store):
    h = submitted(store)
    uow = lambda: FakeUnitOfWork(store)  # noqa: E731
    for who in (school_admin("S2"), Principal("q", Role.QUERY),
                Principal("city", Role.CITY_ADMIN, city_code=CITY),
                Principal("prov", Role.PROVINCE_ADMIN)):
        with pytest.raises(Forbidden):
            await handlers.decide_record(uow, who, approve(h.teacher_id))
    assert f"review-{h.teacher_id}" not in store.streams


async def test_a_service_account_decides_at_the_level_the_record_waits_for(store):
    h = submitted(store)
    uow = lambda: FakeUnitOfWork(store)  # noqa: E731
    robot = Principal("sim", Role.SERVICE)
    assert (await handlers.decide_record(uow, robot, approve(h.teacher_id))).level == "school"
    assert (await handlers.decide_record(uow, robot, approve(h.teacher_id))).level == "county"


async def test_an_unknown_teacher_is_not_found_and_an_unregistered_school_is_a_conflict(store):
    uow = lambda: FakeUnitOfWork(store)  # noqa: E731
    with pytest.raises(NotFound):
        await handlers.decide_record(uow, school_admin(), approve(str(uuid4())))
    h = submitted(store, school="S-unknown")
    with pytest.raises(Conflict, match="registry"):
        await handlers.decide_record(uow, school_admin("S-unknown"), approve(h.teacher_id))


async def test_a_transfer_without_proof_is_refused_with_422(store):
    h = submitted(store)
    h.approve_fully(1)
    h.transfer("S1", "S2", None)
    uow = lambda: FakeUnitOfWork(store)  # noqa: E731
    with pytest.raises(ProofMissing) as info:
        await handlers.decide_record(uow, school_admin("S2"), approve(h.teacher_id, 2))
    assert info.value.status_code == 422


async def test_a_batch_reports_each_item_and_a_stale_one_is_409(store):
    good = [submitted(store, seed=i) for i in range(3)]
    changed = submitted(store, seed=9)
    changed.update("S1", highest_education="硕士")
    other_school = submitted(store, school="S2", seed=10)
    uow = lambda: FakeUnitOfWork(store)  # noqa: E731
    cmds = [approve(h.teacher_id) for h in good] + [
        approve(changed.teacher_id, 1), approve(other_school.teacher_id)]
    outcomes = await handlers.decide_batch(uow, school_admin(), cmds)
    assert [o.status_code for o in outcomes] == [200, 200, 200, 409, 403]
    assert outcomes[3].error is not None and outcomes[3].error["error"] == "stale_record"
    assert all(store.item(h.teacher_id).status is Status.SCHOOL_APPROVED for h in good)
    assert store.item(changed.teacher_id).status is Status.SUBMITTED


async def test_decisions_wait_while_the_projection_is_rebuilt(store):
    h = submitted(store)
    store.rebuilding = True
    with pytest.raises(Rebuilding):
        await handlers.decide_record(lambda: FakeUnitOfWork(store), school_admin(),
                                     approve(h.teacher_id))


async def test_a_county_draws_a_reproducible_spot_check_of_its_school_approved_records(store):
    uow = lambda: FakeUnitOfWork(store)  # noqa: E731
    approved = []
    for i in range(10):
        h = submitted(store, seed=100 + i)
        await handlers.decide_record(uow, school_admin(), approve(h.teacher_id))
        approved.append(h.teacher_id)
    submitted(store, seed=200)  # not school-approved: not in the population
    elsewhere = submitted(store, school="S3", seed=201)
    elsewhere.decide(1, ReviewLevel.SCHOOL, True)
    event, env = await handlers.draw_sample(uow, county_admin(),
                                            DrawSpotCheck(COUNTY_A, percent=25, seed=42))
    assert event.population == tuple(sorted(approved))
    assert len(event.sample) == 3 and set(event.sample) <= set(approved)
    assert redraw(event) == event.sample
    again, _ = await handlers.draw_sample(uow, county_admin(),
                                          DrawSpotCheck(COUNTY_A, percent=25, seed=42))
    assert again.sample == event.sample and again.sample_id != event.sample_id
    stored = store.streams[env.stream_id]
    assert env.stream_id.startswith(f"spotcheck-{COUNTY_A}-")
    fact = read_fact(stored[0])
    assert isinstance(fact, SpotCheckFact) and isinstance(fact.event, SpotCheckSampleDrawn)


async def test_only_the_county_or_above_draws_spot_checks(store):
    uow = lambda: FakeUnitOfWork(store)  # noqa: E731
    h = submitted(store)
    await handlers.decide_record(uow, school_admin(), approve(h.teacher_id))
    for who in (school_admin(), county_admin(COUNTY_B), Principal("q", Role.QUERY)):
        with pytest.raises(Forbidden):
            await handlers.draw_sample(uow, who, DrawSpotCheck(COUNTY_A, size=1))
    city = Principal("city", Role.CITY_ADMIN, city_code=CITY)
    event, _ = await handlers.draw_sample(uow, city, DrawSpotCheck(COUNTY_A, size=5))
    assert event.sample == (h.teacher_id,)


def test_proof_fixture_is_a_valid_contract_document():
    from shared.contracts.events import ProofDocument

    assert ProofDocument.model_validate(PROOF).sha256 == PROOF["sha256"]


class CountingFactory:
    """A unit-of-work factory that remembers the transactions it opened."""

    def __init__(self, store: FakeStore) -> None:
        self.store = store
        self.opened: list[FakeUnitOfWork] = []

    def __call__(self) -> FakeUnitOfWork:
        uow = FakeUnitOfWork(self.store)
        self.opened.append(uow)
        return uow


def blocked(store: FakeStore, seed: int) -> History:
    """A record that fails a hard check (hired before the 18th birthday)."""
    h = History(seed)
    h.record = {**h.record, "hire_date": "1970-01-01"}
    h.register("S1")
    store.histories[h.teacher_id] = h
    return h


async def test_a_mixed_batch_reports_each_item_and_appends_only_the_valid_ones_at_once(store):
    good = [submitted(store, seed=i) for i in range(3)]
    stale = submitted(store, seed=20)
    stale.update("S1", highest_education="硕士")
    foreign = submitted(store, school="S2", seed=21)
    bad = blocked(store, seed=22)
    unknown = str(uuid4())
    uow = CountingFactory(store)
    cmds = [approve(good[0].teacher_id), approve(stale.teacher_id, 1),
            approve(foreign.teacher_id), approve(good[1].teacher_id),
            approve(bad.teacher_id), approve(unknown),
            DecideRecord(good[2].teacher_id, 1, approve=False, reason="照片不清")]
    outcomes = await handlers.decide_batch(uow, school_admin(), cmds)
    assert [(o.teacher_id, o.status_code) for o in outcomes] == [
        (good[0].teacher_id, 200), (stale.teacher_id, 409), (foreign.teacher_id, 403),
        (good[1].teacher_id, 200), (bad.teacher_id, 422), (unknown, 404),
        (good[2].teacher_id, 200)]
    errors = [o.error["error"] for o in outcomes if o.error is not None]
    assert errors == ["stale_record", "forbidden", "checks_failed", "not_found"]
    assert [o.decided.status for o in outcomes if o.decided is not None] == [
        Status.SCHOOL_APPROVED, Status.SCHOOL_APPROVED, Status.REJECTED]
    assert set(store.streams) == {f"review-{h.teacher_id}" for h in good}
    assert [len(uow.opened), uow.opened[0].record_calls] == [1, 1]  # one transaction, one append
    for h in (stale, foreign, bad):
        assert store.item(h.teacher_id).status is Status.SUBMITTED


async def test_a_teacher_named_twice_in_a_batch_is_decided_as_one_by_one(store):
    h = submitted(store)
    other = submitted(store, seed=2)
    robot = Principal("sim", Role.SERVICE)
    uow = CountingFactory(store)
    cmds = [approve(h.teacher_id), approve(other.teacher_id), approve(h.teacher_id),
            approve(h.teacher_id)]
    outcomes = await handlers.decide_batch(uow, robot, cmds)
    assert [o.status_code for o in outcomes] == [200, 200, 200, 409]
    assert [o.decided.level for o in outcomes[:3] if o.decided] == ["school", "school", "county"]
    assert outcomes[3].error is not None and outcomes[3].error["error"] == "not_awaiting_decision"
    assert [e.event_type for e in store.streams[f"review-{h.teacher_id}"]] == [
        "RecordApproved", "RecordApproved", "ReviewCompleted"]
    assert len(uow.opened) == 1 and uow.opened[0].record_calls == 2  # two rounds, one commit


async def test_a_batch_equals_the_same_decisions_one_by_one(store):
    teachers = [submitted(store, seed=30 + i) for i in range(4)]
    twin = FakeStore()
    twin.regions = dict(store.regions)
    twin.histories = dict(store.histories)
    robot = Principal("sim", Role.SERVICE)
    cmds = [approve(h.teacher_id) for h in teachers] + [approve(teachers[0].teacher_id)] + [
        DecideRecord(teachers[1].teacher_id, 1, approve=False, reason="信息不全")]
    when = datetime(2017, 4, 1, tzinfo=UTC)  # the same business time: comparable items
    batch = await handlers.decide_batch(lambda: FakeUnitOfWork(store), robot, cmds, chunk=2,
                                        occurred_at=when)
    single = [await handlers._decide_one(lambda: FakeUnitOfWork(twin), robot, c, uuid4(), when)
              for c in cmds]

    def shape(s: FakeStore) -> dict[str, list[tuple[object, ...]]]:
        return {k: [(e.event_type, e.stream_version, e.payload, str(e.causation_id), e.actor)
                    for e in v] for k, v in s.streams.items()}

    assert shape(store) == shape(twin)
    assert [(o.status_code, o.decided.status if o.decided else None) for o in batch] == [
        (o.status_code, o.decided.status if o.decided else None) for o in single]
    assert {t: store.item(t) for t in store.histories} == {t: twin.item(t) for t in twin.histories}


async def test_a_batch_larger_than_a_chunk_takes_one_transaction_per_chunk(store):
    teachers = [submitted(store, seed=100 + i) for i in range(7)]
    uow = CountingFactory(store)
    outcomes = await handlers.decide_batch(uow, school_admin(),
                                           [approve(h.teacher_id) for h in teachers], chunk=3)
    assert [o.status_code for o in outcomes] == [200] * 7
    assert [len(u.pending) for u in uow.opened] == [0, 0, 0]  # committed
    assert len(uow.opened) == 3


async def test_a_chunk_that_meets_a_concurrent_writer_is_decided_one_by_one(store):
    teachers = [submitted(store, seed=200 + i) for i in range(3)]
    store.interloper = f"review-{teachers[1].teacher_id}"
    uow = CountingFactory(store)
    outcomes = await handlers.decide_batch(uow, school_admin(),
                                           [approve(h.teacher_id) for h in teachers])
    assert [o.status_code for o in outcomes] == [200, 200, 200]
    assert len(uow.opened) == 1 + 3  # the chunk (rolled back), then one per item
    assert all(len(store.streams[f"review-{h.teacher_id}"]) == 1 for h in teachers)


async def test_a_batch_waits_while_the_projection_is_rebuilt(store):
    h = submitted(store)
    store.rebuilding = True
    outcomes = await handlers.decide_batch(lambda: FakeUnitOfWork(store), school_admin(),
                                           [approve(h.teacher_id)])
    assert [o.status_code for o in outcomes] == [503]
    assert not store.streams


async def test_a_service_account_records_decisions_in_business_time(store):
    when = datetime(2017, 3, 15, 9, 30, tzinfo=UTC)
    teachers = [submitted(store, seed=300 + i) for i in range(2)]
    robot = Principal("sim", Role.SERVICE)
    uow = lambda: FakeUnitOfWork(store)  # noqa: E731
    outcomes = await handlers.decide_batch(uow, robot, [approve(h.teacher_id) for h in teachers],
                                           occurred_at=when)
    assert all(o.status_code == 200 for o in outcomes)
    single = await handlers.decide_record(uow, robot, approve(teachers[0].teacher_id),
                                          occurred_at=when.replace(day=20))
    assert single.status is Status.COUNTY_APPROVED
    stream = store.streams[f"review-{teachers[0].teacher_id}"]
    assert [e.occurred_at for e in stream] == [when, when.replace(day=20), when.replace(day=20)]
    item = store.item(teachers[0].teacher_id)
    assert (item.school_approved_at, item.county_approved_at) == (when, when.replace(day=20))


async def test_a_school_administrator_may_not_date_decisions(store):
    h = submitted(store)
    uow = lambda: FakeUnitOfWork(store)  # noqa: E731
    when = datetime(2017, 3, 15, tzinfo=UTC)
    with pytest.raises(Forbidden, match="occurred_at"):
        await handlers.decide_batch(uow, school_admin(), [approve(h.teacher_id)],
                                    occurred_at=when)
    with pytest.raises(Forbidden, match="occurred_at"):
        await handlers.decide_record(uow, school_admin(), approve(h.teacher_id),
                                     occurred_at=when)
    with pytest.raises(Forbidden, match="occurred_at"):
        await handlers.decide_record(uow, county_admin(), approve(h.teacher_id),
                                     occurred_at=when)
    assert not store.streams
    naive = await handlers.decide_record(uow, Principal("sim", Role.SERVICE),
                                         approve(h.teacher_id),
                                         occurred_at=datetime(2017, 3, 16, 8))
    assert naive.events[0].occurred_at == datetime(2017, 3, 16, 8, tzinfo=UTC)
