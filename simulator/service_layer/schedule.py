"""When things happen in business time: the run is backdated so that the report as of the
plan's reference date (the notice's cut-off, 2017-04-07) is the province the plan describes.

For the default reference date:

    2016-12-31          schools registered (the registry synchronised with the annual report)
    2017-01-03..03-20   teachers entered, one import per school (retried submissions the same day)
    2017-03-21..03-28   updates, returns to post (返岗), transfers (省内调动)
    2017-03-31          the applied restructuring batch takes effect (merges)
    2017-04-01..04-05   reviews: school, county, fixes after rejections, school, county again
    2017-04-06          departures (retired, resigned, moved away)

Everything is a pure function of the reference date, the seed and a key, so a run is
deterministic.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, time, timedelta, timezone

CST = timezone(timedelta(hours=8), "CST")  # business days are the province's days


def _at(day: date, hour: int = 9, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=CST)


def _fraction(*parts: object) -> float:
    """A stable number in [0, 1) from the parts (not Python's salted hash)."""
    digest = hashlib.sha256("/".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


class Schedule:
    def __init__(self, reference: date, seed: int) -> None:
        self.reference = reference
        self.seed = seed

    def day(self, offset: int) -> date:
        return self.reference + timedelta(days=offset)

    @property
    def schools_registered(self) -> datetime:
        return _at(self.day(-97))  # 2016-12-31

    def teachers_entered(self, school_code: str) -> datetime:
        """The day a school imports its teachers: spread over early 2017, office hours."""
        first, last = self.day(-94), self.day(-18)  # 2017-01-03 .. 2017-03-20
        span = (last - first).days
        f = _fraction(self.seed, "import", school_code)
        day = first + timedelta(days=int(f * (span + 1)))
        return _at(day, 8 + int(_fraction(self.seed, "hour", school_code) * 9),
                   int(_fraction(self.seed, "minute", school_code) * 60))

    def noise(self, key: str) -> datetime:
        """An update, a return to post or a transfer: 2017-03-21 .. 03-28."""
        f = _fraction(self.seed, "noise", key)
        return _at(self.day(-17) + timedelta(days=int(f * 8)), 9 + int(f * 80) % 8)

    @property
    def merge_effective(self) -> date:
        return self.day(-7)  # 2017-03-31

    def decisions(self, round_no: int) -> datetime:
        """Round 0..4 of reviews: 2017-04-01 .. 04-05."""
        return _at(self.day(-6 + round_no), 10)

    @property
    def departures(self) -> datetime:
        return _at(self.day(-1), 15)  # 2017-04-06

    @property
    def baseline_year(self) -> int:
        return self.reference.year - 1  # the annual report describes the previous year
