"""Counting rules on a teacher's and a school's history, and order independence of the fold."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

from services.reporting.domain.asof import CST, parse_as_of
from services.reporting.domain.history import (
    SchoolState,
    TeacherState,
    fact_of,
    fold,
    fold_teacher,
    initial,
    versions_of,
)
from shared.contracts.events import (
    ProofDocument,
    ReviewCompleted,
    SchoolClosed,
    SchoolProfile,
    SchoolRegistered,
    TeacherLeft,
    TeacherReassigned,
    TeacherRecord,
    TeacherRegistered,
    TeacherReturnedToPost,
    TeacherTransferred,
    TeacherUpdated,
)
from shared.contracts.vocabulary import Gender, LeaveReason, PostStatus, Stage

PROOF = ProofDocument(sha256="a" * 64, media_type="application/pdf", size_bytes=10)


def record(post: PostStatus = PostStatus.IN_POST, fulltime: bool = True) -> TeacherRecord:
    return TeacherRecord(name="测试", id_number_masked="620102********001X", gender=Gender.MALE,
                         birth_date=date(1980, 1, 1), ethnicity="汉族", post_status=post,
                         is_fulltime_teacher=fulltime)


def teacher_fact(event, version=1):
    f = fact_of(event, version)
    assert f is not None and f.kind == "teacher"
    return f.fact


def state_after(*events) -> TeacherState:
    state = TeacherState()
    for v, e in enumerate(events, start=1):
        state = fold_teacher(state, teacher_fact(e, v))
    return state


def test_a_teacher_in_post_counts_as_staff_at_their_school():
    s = state_after(TeacherRegistered(teacher_id="t", school_code="A", record=record(),
                                      completeness=0.8))
    assert s.counted_school == "A" and s.is_fulltime


def test_a_teacher_not_in_post_at_this_unit_is_not_counted():
    s = state_after(TeacherRegistered(teacher_id="t", school_code="A",
                                      record=record(PostStatus.NOT_IN_POST), completeness=1))
    assert s.counted_school is None


def test_a_teacher_who_left_is_not_counted_until_back_in_post():
    reg = TeacherRegistered(teacher_id="t", school_code="A", record=record(), completeness=1)
    left = TeacherLeft(teacher_id="t", school_code="A", reason=LeaveReason.RETIRED)
    back = TeacherReturnedToPost(teacher_id="t", school_code="B", proof=PROOF)
    assert state_after(reg, left).counted_school is None
    assert state_after(reg, left, back).counted_school == "B"


def test_a_transfer_and_a_reassignment_move_the_count_to_the_new_school():
    reg = TeacherRegistered(teacher_id="t", school_code="A", record=record(), completeness=1)
    moved = TeacherTransferred(teacher_id="t", from_school_code="A", to_school_code="B",
                               proof=PROOF)
    merged = TeacherReassigned(teacher_id="t", from_school_code="B", to_school_code="C",
                               batch_id="b")
    assert state_after(reg, moved).counted_school == "B"
    assert state_after(reg, moved, merged).counted_school == "C"


def test_review_is_complete_only_for_the_current_record_version():
    reg = TeacherRegistered(teacher_id="t", school_code="A", record=record(), completeness=1)
    done = ReviewCompleted(teacher_id="t", record_version=1, school_code="A",
                           county_code="620102")
    changed = TeacherUpdated(teacher_id="t", school_code="A", record=record(fulltime=False),
                             changed_fields=("is_fulltime_teacher",), completeness=1)
    s = TeacherState()
    s = fold_teacher(s, teacher_fact(reg, 1))
    s = fold_teacher(s, teacher_fact(done))
    assert s.review_complete
    s = fold_teacher(s, teacher_fact(changed, 2))
    assert not s.review_complete  # the new version awaits review
    # a reassignment by a restructuring is not a new record to review
    s2 = fold_teacher(fold_teacher(fold_teacher(TeacherState(), teacher_fact(reg, 1)),
                                   teacher_fact(done)),
                      teacher_fact(TeacherReassigned(teacher_id="t", from_school_code="A",
                                                     to_school_code="C", batch_id="b"), 2))
    assert s2.review_complete


def test_a_closed_school_is_not_open():
    reg = SchoolRegistered(school_code="A", profile=SchoolProfile(
        name="甲", stage=Stage.PRIMARY, county_code="620102", city_code="620100"))
    state = fold("school", initial("school"), fact_of(reg, 1).fact)
    closed = fold("school", state, fact_of(SchoolClosed(school_code="A", merged_into="B"),
                                           2).fact)
    assert isinstance(closed, SchoolState)
    assert state.open and not closed.open and closed.merged_into == "B"


def test_facts_at_one_instant_make_one_version():
    t0 = datetime(2017, 3, 1, tzinfo=UTC)
    reg = teacher_fact(TeacherRegistered(teacher_id="t", school_code="A", record=record(),
                                         completeness=1))
    left = teacher_fact(TeacherLeft(teacher_id="t", school_code="A",
                                    reason=LeaveReason.RESIGNED))
    versions = versions_of("teacher", [((t0, "k1"), reg), ((t0, "k2"), left)])
    assert len(versions) == 1 and versions[0].state.counted_school is None


def test_folding_in_any_arrival_order_gives_the_same_versions_once_sorted():
    t0 = datetime(2017, 1, 1, tzinfo=UTC)
    events = [
        TeacherRegistered(teacher_id="t", school_code="A", record=record(), completeness=0.5),
        TeacherTransferred(teacher_id="t", from_school_code="A", to_school_code="B",
                           proof=PROOF),
        ReviewCompleted(teacher_id="t", record_version=2, school_code="B", county_code="1"),
        TeacherLeft(teacher_id="t", school_code="B", reason=LeaveReason.RETIRED),
    ]
    timeline = [((t0 + timedelta(days=i), f"k{i}"), teacher_fact(e, i + 1))
                for i, e in enumerate(events)]
    expected = versions_of("teacher", timeline)
    for perm in itertools.permutations(timeline):
        assert versions_of("teacher", sorted(perm, key=lambda x: x[0])) == expected
    assert [v.state.counted_school for v in expected] == ["A", "B", "B", None]
    assert expected[2].state.review_complete


def test_as_of_a_date_means_the_end_of_that_day_in_china():
    a = parse_as_of("2017-04-07")
    assert a.cutoff == datetime(2017, 4, 8, tzinfo=CST)
    assert a.cutoff.astimezone(UTC) == datetime(2017, 4, 7, 16, tzinfo=UTC)
    assert parse_as_of(None).is_now
