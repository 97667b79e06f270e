""""As of D": turn a requested date (or instant) into the cut-off instant queries use.

A date means the end of that day in China Standard Time (the notice's "截止 2017 年 4 月 7 日"
includes the 7th): the state after every event whose business time (occurred_at) is before
00:00 CST of the next day. A version is valid at the cut-off T when valid_from < T <= valid_to.
China has had no daylight saving time since 1991, so a fixed UTC+8 offset is exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone

from shared.errors import Problem, ValidationProblem

CST = timezone(timedelta(hours=8), "CST")


@dataclass(frozen=True)
class AsOf:
    label: str  # what the reader asked for: "2017-04-07", an ISO instant, or "now"
    cutoff: datetime  # exclusive: events with occurred_at < cutoff are included
    day: date  # the calendar day (CST) the report speaks for

    @property
    def is_now(self) -> bool:
        return self.label == "now"


def end_of_day(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=CST)


def parse_as_of(raw: str | None, now: datetime | None = None) -> AsOf:
    """`None`/"" -> now; "YYYY-MM-DD" -> end of that day (CST); an ISO instant -> itself."""
    now = now or datetime.now(UTC)
    if raw is None or not raw.strip() or raw.strip() == "now":
        # A hair after now so an event recorded in this very instant is included.
        return AsOf("now", now + timedelta(microseconds=1), now.astimezone(CST).date())
    text = raw.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return AsOf(day.isoformat(), end_of_day(day), day)
        instant = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationProblem([Problem("as_of", f"not a date (YYYY-MM-DD) or ISO instant: "
                                                  f"{text!r}")]) from None
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=CST)
    # An instant is inclusive: an event that occurred exactly then is part of the state.
    return AsOf(instant.isoformat(), instant + timedelta(microseconds=1),
                instant.astimezone(CST).date())
