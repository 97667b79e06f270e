"""Arithmetic with imported figures, where a blank is unknown and never zero.

- `known_sum` adds the known values; all blank -> None (unknown), and says when some were blank.
- `rate` is the exact ratio entered / annual (None when annual is unknown or zero).
- `notice_percent` formats a rate as the notice does: truncated to a whole percent
  (16037 / 20166 = 79.5% is written "79%").
- `gap` is annual - entered (None when annual is unknown); entered may exceed annual, and the
  gap is then negative, never clamped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Sum:
    value: int | None
    partial: bool  # some addends were blank (unknown)

    @property
    def known(self) -> bool:
        return self.value is not None


def known_sum(values: Iterable[int | None]) -> Sum:
    total = 0
    seen = blank = False
    for v in values:
        if v is None:
            blank = True
        else:
            seen = True
            total += v
    return Sum(total if seen else None, blank and seen)


def rate(entered: int, annual: int | None) -> float | None:
    if annual is None or annual == 0:
        return None
    return entered / annual


def notice_percent(entered: int, annual: int | None) -> str | None:
    """Whole percent, truncated (integer arithmetic: no float rounding surprises)."""
    if annual is None or annual == 0:
        return None
    return f"{entered * 100 // annual}%"


def gap(annual: int | None, entered: int) -> int | None:
    return None if annual is None else annual - entered
