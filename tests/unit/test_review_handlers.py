"""The decision and spot-check handlers against an in-memory unit of work: authorisation by
level and region, optimistic concurrency on the review stream, batches, spot checks."""

from __future__ import annotations

from collections.abc import Sequence
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
from shared.eventstore.store import Metadata
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

    def item(self, teacher_id: str) -> ReviewItem | None:
        h = self.histories.get(teacher_id)
        return derive(teacher_id, h.facts, self.decisions.get(teacher_id, [])) if h else None


class FakeUnitOfWork:
    def __init__(self, store: FakeStore) -> None:
        self.store = store
        self.pending: list[tuple[str, Envelope]] = []

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

    async def region_of(self, school_code: str) -> Region | None:
        return self.store.regions.get(school_code)

    async def county_region(self, county_code: str) -> Region:
        return Region(county_code=county_code, city_code=CITY)

    async def school_approved(self, county_code: str) -> list[str]:
        return sorted(t for t in self.store.histories
                      if (item := self.store.item(t)) is not None
                      and item.status is Status.SCHOOL_APPROVED
                      and self.store.regions[item.school_code].county_code == county_code)

    async def stream_version(self, stream_id: str) -> int:
        return len(self.store.streams.get(stream_id, [])) + sum(
            1 for s, _ in self.pending if s == stream_id)

    async def record(self, stream_id: str, expected_version: int,
                     events: Sequence[EventPayload], meta: Metadata) -> list[Envelope]:
        actual = await self.stream_version(stream_id)
        if actual != expected_version:
            raise ConcurrencyConflict(stream_id, expected_version, actual)
        out = []
        for i, ev in enumerate(events, start=1):
            self.store.position += 1
            now = datetime.now(UTC)
            env = Envelope(event_id=uuid4(), event_type=ev.event_type,
                           schema_version=ev.schema_version, source="review",
                           stream_id=stream_id, stream_version=actual + i,
                           position=self.store.position, occurred_at=now, recorded_at=now,
                           actor=meta.actor, correlation_id=meta.correlation_id,
                           causation_id=meta.causation_id, payload=ev.model_dump(mode="json"))
            self.pending.append((stream_id, env))
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
