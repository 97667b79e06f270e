"""Exact integer splits: share a total out in proportion to weights, within floors and caps.

Every figure of the plan must add up exactly to the profile (a school's teachers to its stage's
staff, a stage's schools to its counties), so all splitting goes through `apportion`: the
largest-remainder method with water-filling for caps. Deterministic: ties go to the lower index.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


class InfeasibleSplit(ValueError):
    """The floors exceed the total, or the caps cannot hold it."""


def apportion(total: int, weights: Sequence[float], *, floors: Sequence[int] | None = None,
              caps: Sequence[int] | None = None) -> list[int]:
    """Integers summing to `total`, each in [floor, cap], the part above the floor as nearly
    proportional to `weights` as integers allow. Items with zero weight get only their floor
    unless nothing else can take the rest (then the rest is spread evenly over the room left)."""
    n = len(weights)
    low = list(floors) if floors is not None else [0] * n
    high: list[float] = [float(c) for c in caps] if caps is not None else [math.inf] * n
    if total < 0:
        raise InfeasibleSplit(f"cannot split a negative total {total}")
    if any(lo > hi for lo, hi in zip(low, high, strict=True)):
        raise InfeasibleSplit("a floor is above its cap")
    rest = total - sum(low)
    if rest < 0:
        raise InfeasibleSplit(f"floors sum to {sum(low)}, above the total {total}")
    room = [hi - lo for lo, hi in zip(low, high, strict=True)]
    if sum(room) < rest:
        raise InfeasibleSplit(f"caps hold at most {sum(low) + sum(room)}, below the total {total}")
    result = low[:]
    if rest == 0:
        return result
    w = [max(0.0, float(x)) for x in weights]
    if not any(w[i] > 0 and room[i] > 0 for i in range(n)):
        w = [1.0 if room[i] > 0 else 0.0 for i in range(n)]
    shares = _water_fill(rest, w, room)
    if sum(room[i] for i in range(n) if w[i] > 0) < rest:
        # Weighted items cannot hold it all: fill them, spread the rest over the others evenly.
        filled = [room[i] if w[i] > 0 else 0 for i in range(n)]
        left = rest - sum(int(f) for f in filled)
        others = _water_fill(left, [1.0 if w[i] == 0 and room[i] > 0 else 0.0 for i in range(n)],
                             room)
        shares = [float(filled[i]) + others[i] for i in range(n)]
    base = [math.floor(s + 1e-9) for s in shares]
    leftover = rest - sum(base)
    order = sorted(range(n), key=lambda i: (-(shares[i] - base[i]), i))
    for i in order:
        if leftover == 0:
            break
        if base[i] < room[i] and (w[i] > 0 or shares[i] > 0):
            base[i] += 1
            leftover -= 1
    for i in order:  # only reachable through rounding at the caps
        if leftover == 0:
            break
        if base[i] < room[i]:
            base[i] += 1
            leftover -= 1
    return [r + b for r, b in zip(result, base, strict=True)]


def _water_fill(amount: int, weights: list[float], room: Sequence[float]) -> list[float]:
    """Real shares of `amount` proportional to weights, none above its room."""
    n = len(weights)
    shares = [0.0] * n
    active = [i for i in range(n) if weights[i] > 0 and room[i] > 0]
    left = float(amount)
    while active and left > 1e-9:
        total_w = sum(weights[i] for i in active)
        capped = [i for i in active if left * weights[i] / total_w >= room[i] - shares[i]]
        if not capped:
            for i in active:
                shares[i] += left * weights[i] / total_w
            left = 0.0
            break
        for i in capped:
            left -= room[i] - shares[i]
            shares[i] = float(room[i])
        active = [i for i in active if i not in set(capped)]
    return shares
