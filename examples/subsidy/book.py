"""The subsidy book: every public school, teacher and review event, kept as per-key histories,
folded "as of" a cut-off. Pure: no Kafka, no clock.

Why histories, not a current state: the list is asked for a date ("as of 2017-04-07"), possibly
in the past, and events of different topics arrive in any order across topics (Kafka orders
only per key). Keeping every event and folding those with `occurred_at < cutoff`, sorted by
(occurred_at, sequence), gives the same answer whatever the arrival order, and a redelivered
message (same `event_id`) is ignored.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from shared.contracts.public import (
    PublicEnvelope,
    PublicPayload,
    ReviewCompleted,
    SchoolChanged,
    SchoolClosed,
    SchoolMerged,
    SchoolOpened,
    TeacherInPost,
    TeacherLeft,
    TeacherMoved,
    read_public,
)

CST = timezone(timedelta(hours=8), "CST")


def end_of_day(day: date) -> datetime:
    """"As of D" includes all of D in China Standard Time (as TMIS's reports count it)."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=CST)


@dataclass(frozen=True)
class School:
    known: bool = False
    open: bool = False
    county_code: str | None = None
    is_rural: bool = False


@dataclass(frozen=True)
class Teacher:
    school_code: str | None = None
    in_post: bool = False
    has_left: bool = False
    record_version: int = 0
    reviewed_version: int = 0

    @property
    def review_complete(self) -> bool:
        return self.record_version > 0 and self.reviewed_version >= self.record_version


@dataclass(frozen=True, order=True)
class Eligible:
    """One line of the list."""

    county_code: str
    school_code: str
    teacher_id: str


def fold_school(s: School, p: PublicPayload) -> School:
    match p:
        case SchoolOpened():
            return School(True, True, p.county_code, p.is_rural)
        case SchoolChanged():
            return replace(s, known=True, county_code=p.county_code, is_rural=p.is_rural)
        case SchoolMerged() | SchoolClosed():
            return replace(s, open=False)
    return s


def fold_teacher(t: Teacher, p: PublicPayload) -> Teacher:
    match p:
        case TeacherInPost():
            # An update while in post keeps a departure as it was (TMIS refuses to update a
            # departed teacher anyway); registration and return to post clear it.
            left = t.has_left if p.because == "updated" else False
            return replace(t, school_code=p.school_code, in_post=True, has_left=left,
                           record_version=max(t.record_version, p.record_version))
        case TeacherLeft() if p.reason == "not_in_post":
            return replace(t, school_code=p.school_code, in_post=False,
                           record_version=max(t.record_version, p.record_version or 0))
        case TeacherLeft():
            return replace(t, has_left=True)
        case TeacherMoved():
            return replace(t, school_code=p.to_school_code,
                           record_version=max(t.record_version, p.record_version or 0))
        case ReviewCompleted():
            return replace(t, reviewed_version=max(t.reviewed_version, p.record_version))
    return t


_Entry = tuple[datetime, int, str, PublicPayload]


class SubsidyBook:
    """Feed it public messages (any order, duplicates allowed); ask for the list as of a date."""

    def __init__(self) -> None:
        self._seen: set[str] = set()
        self._schools: dict[str, list[_Entry]] = defaultdict(list)
        self._teachers: dict[str, list[_Entry]] = defaultdict(list)
        self.ignored = 0  # event types this program does not use (or does not know yet)

    def add_raw(self, raw: bytes) -> None:
        env, payload = read_public(raw)
        self.add(env, payload)

    def add(self, env: PublicEnvelope, payload: PublicPayload | None) -> None:
        event_id = str(env.event_id)
        if event_id in self._seen:
            return  # redelivered or re-published: already counted
        self._seen.add(event_id)
        entry = (env.occurred_at, env.sequence, event_id, payload) if payload else None
        match payload:
            case SchoolOpened() | SchoolChanged() | SchoolMerged() | SchoolClosed():
                assert entry is not None
                self._schools[payload.school_code].append(entry)
            case TeacherInPost() | TeacherLeft() | TeacherMoved() | ReviewCompleted():
                assert entry is not None
                self._teachers[payload.teacher_id].append(entry)
            case _:
                self.ignored += 1

    @property
    def events(self) -> int:
        return len(self._seen)

    def schools(self, cutoff: datetime) -> dict[str, School]:
        return {code: _fold(School(), history, cutoff, fold_school)
                for code, history in self._schools.items()}

    def teachers(self, cutoff: datetime) -> dict[str, Teacher]:
        return {tid: _fold(Teacher(), history, cutoff, fold_teacher)
                for tid, history in self._teachers.items()}

    def eligible(self, cutoff: datetime) -> list[Eligible]:
        """The subsidy list as of `cutoff` (exclusive), sorted by county, school, teacher."""
        schools = self.schools(cutoff)
        out = []
        for tid, t in self.teachers(cutoff).items():
            if not (t.school_code and t.in_post and not t.has_left and t.review_complete):
                continue
            s = schools.get(t.school_code)
            if s and s.known and s.open and s.is_rural and s.county_code:
                out.append(Eligible(s.county_code, t.school_code, tid))
        return sorted(out)


def _fold(state: Any, history: list[_Entry], cutoff: datetime, step: Any) -> Any:
    for occurred_at, _seq, _id, payload in sorted(history, key=lambda e: e[:3]):
        if occurred_at >= cutoff:
            break
        state = step(state, payload)
    return state


def per_county(rows: list[Eligible]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for r in rows:
        counts[r.county_code] += 1
    return dict(sorted(counts.items()))
