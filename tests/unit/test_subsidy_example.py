"""The worked subscriber (examples/subsidy): the rural teacher living subsidy list built only
from public events, as of a date. Internal events are made here and translated exactly as the
relay does, so the book sees what an agency would see."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

from examples.subsidy.book import Eligible, SubsidyBook, end_of_day, per_county
from examples.subsidy.compare import disagreements, rural_open
from shared.contracts import events as ev
from shared.contracts.base import EventPayload
from shared.contracts.envelope import Envelope
from shared.contracts.public import PublicEnvelope, TeacherInPostV1, translate
from shared.contracts.vocabulary import Gender, LeaveReason, PostStatus, Stage

D = date(2017, 4, 7)
CUTOFF = end_of_day(D)
PROOF = ev.ProofDocument(sha256="b" * 64, media_type="application/pdf", size_bytes=99)


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


class World:
    """Internal streams with their versions; every event becomes public messages (bytes)."""

    def __init__(self) -> None:
        self.versions: dict[str, int] = defaultdict(int)
        self.messages: list[bytes] = []
        self.internal: list[Envelope] = []

    def emit(self, stream: str, payload: EventPayload, when: datetime) -> int:
        self.versions[stream] += 1
        v = self.versions[stream]
        env = Envelope(event_id=uuid4(), event_type=payload.event_type,
                       schema_version=payload.schema_version, source="intake", stream_id=stream,
                       stream_version=v, position=len(self.messages) + 1, occurred_at=when,
                       recorded_at=when, actor="t", correlation_id=uuid4(),
                       payload=payload.model_dump(mode="json"))
        self.messages += [m.value for m in translate(env)]
        self.internal.append(env)
        return v

    def school(self, county: str = "620123", rural: bool = True,
               when: datetime = at(date(2016, 9, 1))) -> str:
        code = f"{county}{uuid4().int % 10**4:04d}"
        self.emit(f"school-{code}", ev.SchoolRegistered(school_code=code, profile=profile(
            county, rural)), when)
        return code

    def change_school(self, code: str, when: datetime, county: str = "620123",
                      rural: bool = True) -> None:
        self.emit(f"school-{code}", ev.SchoolChanged(school_code=code, profile=profile(
            county, rural), changed_fields=("is_rural", "county_code")), when)

    def teacher(self, school: str, when: datetime = at(date(2017, 1, 5)),
                post: PostStatus = PostStatus.IN_POST) -> tuple[str, int]:
        tid = str(uuid4())
        v = self.emit(f"teacher-{tid}", ev.TeacherRegistered(
            teacher_id=tid, school_code=school, record=record(post), completeness=0.8), when)
        return tid, v

    def update(self, tid: str, school: str, when: datetime,
               post: PostStatus = PostStatus.IN_POST) -> int:
        return self.emit(f"teacher-{tid}", ev.TeacherUpdated(
            teacher_id=tid, school_code=school, record=record(post),
            changed_fields=("post_status",), completeness=0.9), when)

    def review(self, tid: str, version: int, school: str, when: datetime) -> None:
        self.emit(f"review-{tid}", ev.ReviewCompleted(teacher_id=tid, record_version=version,
                                                      school_code=school, county_code="620123"),
                  when)

    def reviewed_teacher(self, school: str, registered: date = date(2017, 1, 5),
                         reviewed: date = date(2017, 2, 1)) -> str:
        tid, v = self.teacher(school, at(registered))
        self.review(tid, v, school, at(reviewed))
        return tid

    def book(self, messages: list[bytes] | None = None) -> SubsidyBook:
        book = SubsidyBook()
        for raw in self.messages if messages is None else messages:
            book.add_raw(raw)
        return book


def profile(county: str, rural: bool) -> ev.SchoolProfile:
    return ev.SchoolProfile(name="测试学校", stage=Stage.PRIMARY, county_code=county,
                            city_code=county[:4] + "00", is_rural=rural)


def record(post: PostStatus) -> ev.TeacherRecord:
    return ev.TeacherRecord(name="测试", id_number_masked="620123********0012",
                            gender=Gender.FEMALE, birth_date=date(1990, 5, 5), ethnicity="汉族",
                            post_status=post, is_fulltime_teacher=True)


def ids(rows: list[Eligible]) -> set[str]:
    return {r.teacher_id for r in rows}


def test_a_reviewed_teacher_in_post_at_a_rural_school_is_listed_with_the_schools_county():
    w = World()
    school = w.school(county="620123")
    tid = w.reviewed_teacher(school)
    assert w.book().eligible(CUTOFF) == [Eligible("620123", school, tid)]


def test_a_teacher_whose_review_is_not_complete_is_not_listed():
    w = World()
    school = w.school()
    w.teacher(school)
    assert w.book().eligible(CUTOFF) == []


def test_a_record_change_after_the_review_needs_a_new_review_before_the_teacher_is_listed():
    w = World()
    school = w.school()
    tid = w.reviewed_teacher(school)
    v = w.update(tid, school, at(date(2017, 3, 1)))
    assert ids(w.book().eligible(end_of_day(date(2017, 2, 20)))) == {tid}
    assert w.book().eligible(CUTOFF) == []
    w.review(tid, v, school, at(date(2017, 4, 7), 20))  # 04:00 CST on the 8th: too late
    assert w.book().eligible(CUTOFF) == []
    w.review(tid, v, school, at(date(2017, 4, 6)))
    assert ids(w.book().eligible(CUTOFF)) == {tid}


def test_teachers_at_schools_not_marked_rural_are_not_listed():
    w = World()
    w.reviewed_teacher(w.school(rural=False))
    assert w.book().eligible(CUTOFF) == []


def test_a_school_marked_rural_later_counts_only_from_that_date():
    w = World()
    school = w.school(rural=False)
    tid = w.reviewed_teacher(school)
    w.change_school(school, at(date(2017, 3, 15)), rural=True)
    book = w.book()
    assert book.eligible(end_of_day(date(2017, 3, 14))) == []
    assert ids(book.eligible(CUTOFF)) == {tid}


def test_a_school_moved_to_another_county_lists_its_teachers_there_from_that_date():
    w = World()
    school = w.school(county="620123")
    w.reviewed_teacher(school)
    w.change_school(school, at(date(2017, 3, 15)), county="620124")
    book = w.book()
    assert per_county(book.eligible(end_of_day(date(2017, 3, 1)))) == {"620123": 1}
    assert per_county(book.eligible(CUTOFF)) == {"620124": 1}


def test_a_teacher_who_retired_is_listed_before_and_not_after():
    w = World()
    school = w.school()
    tid = w.reviewed_teacher(school)
    w.emit(f"teacher-{tid}", ev.TeacherLeft(teacher_id=tid, school_code=school,
                                            reason=LeaveReason.RETIRED), at(date(2017, 3, 31)))
    book = w.book()
    assert ids(book.eligible(end_of_day(date(2017, 3, 30)))) == {tid}
    assert book.eligible(CUTOFF) == []


def test_a_teacher_not_in_post_is_not_listed_and_a_return_to_post_needs_a_new_review():
    w = World()
    school = w.school()
    tid = w.reviewed_teacher(school)
    w.update(tid, school, at(date(2017, 2, 10)), post=PostStatus.NOT_IN_POST)
    assert w.book().eligible(end_of_day(date(2017, 3, 1))) == []
    v = w.emit(f"teacher-{tid}", ev.TeacherReturnedToPost(teacher_id=tid, school_code=school,
                                                          proof=PROOF), at(date(2017, 3, 2)))
    assert w.book().eligible(CUTOFF) == []
    w.review(tid, v, school, at(date(2017, 3, 20)))
    assert ids(w.book().eligible(CUTOFF)) == {tid}


def test_a_transfer_to_a_town_school_ends_eligibility_and_to_a_rural_one_needs_a_new_review():
    w = World()
    rural, town, other_rural = w.school(), w.school(rural=False), w.school(county="620124")
    tid = w.reviewed_teacher(rural)
    w.emit(f"teacher-{tid}", ev.TeacherTransferred(
        teacher_id=tid, from_school_code=rural, to_school_code=town, proof=PROOF),
        at(date(2017, 3, 1)))
    assert w.book().eligible(CUTOFF) == []
    v = w.emit(f"teacher-{tid}", ev.TeacherTransferred(
        teacher_id=tid, from_school_code=town, to_school_code=other_rural, proof=PROOF),
        at(date(2017, 3, 10)))
    assert w.book().eligible(CUTOFF) == []
    w.review(tid, v, other_rural, at(date(2017, 3, 20)))
    assert w.book().eligible(CUTOFF) == [Eligible("620124", other_rural, tid)]


def test_a_merge_moves_the_teachers_with_their_school_and_keeps_their_review():
    w = World()
    merged, target = w.school(county="620123"), w.school(county="620124")
    tid = w.reviewed_teacher(merged)
    when = at(date(2017, 4, 1))
    w.emit(f"teacher-{tid}", ev.TeacherReassigned(
        teacher_id=tid, from_school_code=merged, to_school_code=target, batch_id="b"), when)
    w.emit(f"school-{merged}", ev.SchoolClosed(school_code=merged, merged_into=target), when)
    book = w.book()
    assert book.eligible(end_of_day(date(2017, 3, 31))) == [Eligible("620123", merged, tid)]
    assert book.eligible(CUTOFF) == [Eligible("620124", target, tid)]
    assert merged not in rural_open(book, D)


def test_teachers_left_at_a_closed_school_are_not_listed():
    w = World()
    school = w.school()
    w.reviewed_teacher(school)
    w.emit(f"school-{school}", ev.SchoolClosed(school_code=school), at(date(2017, 3, 1)))
    assert w.book().eligible(CUTOFF) == []


def test_the_list_does_not_depend_on_arrival_order_or_redelivery():
    rng = random.Random(4)
    w = World()
    schools = [w.school(county=rng.choice(["620123", "620124"]), rural=rng.random() < 0.7)
               for _ in range(8)]
    for _ in range(60):
        school = rng.choice(schools)
        tid, v = w.teacher(school, at(date(2017, 1, rng.randint(1, 28))))
        if rng.random() < 0.7:
            w.review(tid, v, school, at(date(2017, 3, rng.randint(1, 28))))
        if rng.random() < 0.2:
            w.update(tid, school, at(date(2017, 2, rng.randint(1, 28))),
                     post=rng.choice(list(PostStatus)))
    expected = w.book().eligible(CUTOFF)
    assert expected, "the scenario should list someone"
    for _ in range(5):
        shuffled = w.messages + rng.sample(w.messages, 30)  # some delivered twice
        rng.shuffle(shuffled)
        assert w.book(shuffled).eligible(CUTOFF) == expected


def test_old_v1_in_post_messages_still_on_the_topic_are_read_through_the_upcaster():
    w = World()
    school = w.school()
    tid = w.reviewed_teacher(school)
    v1_messages = []
    for raw in w.messages:
        env = PublicEnvelope.from_bytes(raw)
        if env.event_type == "TeacherInPost":
            payload = TeacherInPostV1.model_validate(env.payload).model_dump(mode="json")
            env = env.model_copy(update={"schema_version": 1, "payload": payload})
        v1_messages.append(env.to_bytes())
    assert ids(w.book(v1_messages).eligible(CUTOFF)) == {tid}


def test_the_comparison_with_reporting_agrees_when_counts_and_counties_match():
    w = World()
    a, b = w.school(county="620123"), w.school(county="620124")
    w.reviewed_teacher(a), w.reviewed_teacher(a), w.reviewed_teacher(b)
    book = w.book()
    rows = [{"school_code": a, "county_code": "620123", "open": True, "review_complete": 2},
            {"school_code": b, "county_code": "620124", "open": True, "review_complete": 1}]
    assert disagreements(book.eligible(CUTOFF), rural_open(book, D), rows) == []


def test_the_comparison_with_reporting_names_every_difference():
    w = World()
    a, b = w.school(county="620123"), w.school(county="620124")
    w.reviewed_teacher(a)
    book = w.book()
    rows = [{"school_code": a, "county_code": "620199", "open": True, "review_complete": 3},
            {"school_code": b, "county_code": "620124", "open": False, "review_complete": 0}]
    found = disagreements(book.eligible(CUTOFF), rural_open(book, D), rows)
    assert found == [f"{a}: county 620123 here, 620199 in reporting",
                     f"{a}: 1 listed, reporting counts 3 reviewed staff in post",
                     f"{b}: open here, closed in reporting"]


def test_as_of_a_date_includes_that_whole_day_in_china_standard_time():
    w = World()
    late, too_late = w.school(), w.school()
    tid, v = w.teacher(late)
    w.review(tid, v, late, datetime(2017, 4, 7, 15, 59, 59, tzinfo=UTC))  # 23:59:59 CST
    other, v2 = w.teacher(too_late)
    w.review(other, v2, too_late, datetime(2017, 4, 7, 16, 0, tzinfo=UTC))  # 00:00 CST, 8th
    assert ids(w.book().eligible(end_of_day(D))) == {tid}


# ------------------------------------------------------- agreement with reporting's counting


def reporting_rows(internal: list[Envelope], cutoff: datetime) -> list[dict]:
    """What reporting's school table says as of `cutoff`, computed with reporting's own pure
    fold (services/reporting/domain/history.py) over the internal events."""
    from services.reporting.domain.history import fact_of, versions_of
    from shared.contracts.base import parse_payload

    timelines: dict[tuple[str, str], list] = defaultdict(list)
    for env in internal:
        fact = fact_of(parse_payload(env), env.stream_version)
        if fact is not None:
            key = (env.occurred_at, env.recorded_at.isoformat(), env.source, env.stream_id,
                   env.stream_version)
            timelines[(fact.kind, fact.entity_id)].append((key, fact.fact))
    state: dict[tuple[str, str], object] = {}
    for (kind, entity), timeline in timelines.items():
        versions = [v for v in versions_of(kind, sorted(timeline, key=lambda kv: kv[0]))
                    if v.valid_from < cutoff]
        if versions:
            state[(kind, entity)] = versions[-1].state
    reviewed: dict[str, int] = defaultdict(int)
    for (kind, _), t in state.items():
        if kind == "teacher" and t.counted_school and t.review_complete:
            reviewed[t.counted_school] += 1
    return [{"school_code": code, "county_code": s.county_code, "open": s.open,
             "review_complete": reviewed[code]}
            for (kind, code), s in state.items() if kind == "school" and s.registered]


def random_history(rng: random.Random) -> World:
    """Schools and teachers living through Jan-May 2017 under intake's rules: no change to a
    departed teacher, returns only when out of post, transfers need proof and a new review."""
    w = World()
    counties = ["620123", "620124", "620521"]
    schools = [w.school(county=rng.choice(counties), rural=rng.random() < 0.6,
                        when=at(date(2016, 12, rng.randint(1, 31)))) for _ in range(10)]
    open_schools = list(schools)
    whereabouts: dict[str, list[tuple[datetime, str]]] = defaultdict(list)  # teacher -> schools

    def when() -> datetime:
        return datetime(2017, 1, 1, tzinfo=UTC) + timedelta(minutes=rng.randrange(150 * 24 * 60))

    for _ in range(80):
        school = rng.choice(open_schools)
        registered = when()
        in_post = rng.random() < 0.85
        tid, version = w.teacher(school, registered,
                                 post=PostStatus.IN_POST if in_post else PostStatus.NOT_IN_POST)
        whereabouts[tid].append((registered, school))
        left = False
        later = sorted(t for t in (when() for _ in range(rng.randint(0, 8))) if t > registered)
        for step in later:
            action = rng.choice(["review", "review", "update", "transfer", "return", "leave"])
            if left and action != "return":
                continue
            if action == "review":
                w.review(tid, rng.choice([version, version, max(1, version - 1)]), school, step)
            elif action == "update":
                in_post = rng.random() < 0.7
                version = w.update(tid, school, step,
                                   PostStatus.IN_POST if in_post else PostStatus.NOT_IN_POST)
            elif action == "transfer" and len(open_schools) > 1:
                to = rng.choice([s for s in open_schools if s != school])
                version = w.emit(f"teacher-{tid}", ev.TeacherTransferred(
                    teacher_id=tid, from_school_code=school, to_school_code=to, proof=PROOF),
                    step)
                school = to
                whereabouts[tid].append((step, to))
            elif action == "return" and (left or not in_post):
                version = w.emit(f"teacher-{tid}", ev.TeacherReturnedToPost(
                    teacher_id=tid, school_code=school, proof=PROOF), step)
                in_post, left = True, False
            elif action == "leave":
                w.emit(f"teacher-{tid}", ev.TeacherLeft(
                    teacher_id=tid, school_code=school,
                    reason=rng.choice(list(LeaveReason))), step)
                left = True
    for code in rng.sample(schools, 3):  # profile changes: rural flag, county
        w.change_school(code, when(), county=rng.choice(counties), rural=rng.random() < 0.5)
    closed, merged, target = rng.sample(schools, 3)
    w.emit(f"school-{closed}", ev.SchoolClosed(school_code=closed), when())
    merge_at = when()
    for tid, moves in whereabouts.items():  # a merge moves who is there at that moment
        before = [school for t, school in moves if t < merge_at]
        if before and before[-1] == merged:
            w.emit(f"teacher-{tid}", ev.TeacherReassigned(
                teacher_id=tid, from_school_code=merged, to_school_code=target, batch_id="b"),
                merge_at)
    w.emit(f"school-{merged}", ev.SchoolClosed(school_code=merged, merged_into=target),
           merge_at)
    return w


def test_the_list_agrees_with_reportings_counting_rules_on_random_histories():
    rng = random.Random(2017)
    compared = 0
    for _ in range(25):
        w = random_history(rng)
        book = w.book()
        for day in (date(2017, 2, 1), date(2017, 3, 15), D, date(2017, 6, 1)):
            cutoff = end_of_day(day)
            found = disagreements(book.eligible(cutoff), rural_open(book, day),
                                  reporting_rows(w.internal, cutoff))
            assert found == [], (day, found)
            compared += len(book.eligible(cutoff))
    assert compared > 100  # the scenarios list people, so agreement means something


def test_the_agreement_check_would_notice_a_subscriber_that_ignored_reviews_going_stale():
    w = World()
    school = w.school()
    tid = w.reviewed_teacher(school)
    w.update(tid, school, at(date(2017, 3, 1)))
    stale = [Eligible("620123", school, tid)]  # what a naive subscriber would list
    found = disagreements(stale, rural_open(w.book(), D), reporting_rows(w.internal, CUTOFF))
    assert found == [f"{school}: 1 listed, reporting counts 0 reviewed staff in post"]
