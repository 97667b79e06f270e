"""The figures of each school: annual-report staff and full-time teachers, and the teachers in
post the system will hold at the end, summing exactly to the profile's figures per stage.

Entered staff are split in two steps: first per county (where the notice's findings are shaped:
see calibrate.py), then over the county's entered schools, each getting at least one teacher
(a school is entered only with a teacher in post). Full-time teachers are a subset of staff at
every school. Annual figures are imported data: a blank stays blank at every school, and
full-time may exceed staff, as in the notice's own table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from simulator.domain.apportion import InfeasibleSplit, apportion
from simulator.domain.layout import PlanError
from simulator.domain.model import SchoolPlan


def set_annual(schools: Sequence[SchoolPlan], staff: int | None, fulltime: int | None,
               fixed: Mapping[str, int], notes: list[str], label: str) -> None:
    """Annual staff and full-time teachers of the schools in the annual report (one stage).
    `fixed` pins some schools' staff (the units the notice's headline excludes)."""
    listed = [s for s in schools if s.in_annual]
    if staff is not None:
        if not listed:
            if staff:
                notes.append(f"{label}: {staff} annual staff but no school in the annual "
                             "report; the figure lives in the stage table only")
        else:
            pinned = [s for s in listed if s.code in fixed]
            free = [s for s in listed if s.code not in fixed]
            rest = staff - sum(fixed[s.code] for s in pinned)
            if rest < 0:
                raise PlanError(f"{label}: annual staff {staff} is below the "
                                f"{staff - rest} the findings pin on named units")
            floors = [1] * len(free) if rest >= len(free) else None
            for s in pinned:
                s.annual_staff = fixed[s.code]
            for s, n in zip(free, apportion(rest, [s.size for s in free], floors=floors),
                            strict=True):
                s.annual_staff = n
    if fulltime is not None and listed:
        weights = [float(s.annual_staff) if s.annual_staff is not None else s.size
                   for s in listed]
        for s, n in zip(listed, apportion(fulltime, weights), strict=True):
            s.annual_fulltime = n
    elif fulltime and not listed:
        notes.append(f"{label}: {fulltime} annual full-time teachers but no school in the "
                     "annual report; the figure lives in the stage table only")


def entry_weight(school: SchoolPlan, scale: float) -> float:
    """How much of a county's entered staff a school takes: its annual staff when known,
    else its size on the annual scale."""
    if school.in_annual and school.annual_staff:
        return float(school.annual_staff)
    return school.size * scale


def annual_scale(schools: Sequence[SchoolPlan]) -> float:
    """Annual staff per unit of size in this stage (1 when the stage has no annual staff)."""
    known = [s for s in schools if s.in_annual and s.annual_staff]
    size = sum(s.size for s in known)
    return sum(s.annual_staff or 0 for s in known) / size if size else 1.0


def county_shares(schools: Sequence[SchoolPlan], entered: set[str]
                  ) -> tuple[dict[str, int], dict[str, float]]:
    """Per county: entered schools (each needs a teacher) and the summed entry weight."""
    scale = annual_scale(schools)
    count: dict[str, int] = {}
    weight: dict[str, float] = {}
    for s in schools:
        if s.code in entered:
            count[s.county_code] = count.get(s.county_code, 0) + 1
            weight[s.county_code] = weight.get(s.county_code, 0.0) + entry_weight(s, scale)
    return count, weight


def county_targets(total: int, count: Mapping[str, int], weight: Mapping[str, float],
                   factor: Mapping[str, float]) -> dict[str, int]:
    """A stage's entered staff per county: one per entered school, the rest by weight x
    the county's factor."""
    codes = sorted(count)
    floors = [count[c] for c in codes]
    try:
        split = apportion(total, [weight[c] * factor.get(c, 1.0) for c in codes], floors=floors)
    except InfeasibleSplit as exc:
        raise PlanError(f"entered staff {total} cannot fill {sum(floors)} entered schools: "
                        f"{exc}") from None
    return dict(zip(codes, split, strict=True))


def set_entered(schools: Sequence[SchoolPlan], entered: set[str],
                targets: Mapping[str, int]) -> None:
    """Entered staff per school: the county target over its entered schools, one each first."""
    scale = annual_scale(schools)
    by_county: dict[str, list[SchoolPlan]] = {}
    for s in schools:
        if s.code in entered:
            by_county.setdefault(s.county_code, []).append(s)
        else:
            s.entered_staff = 0
    for code, group in by_county.items():
        split = apportion(targets[code], [entry_weight(s, scale) for s in group],
                          floors=[1] * len(group))
        for s, n in zip(group, split, strict=True):
            s.entered_staff = n


def set_fulltime(schools: Sequence[SchoolPlan], fulltime: int) -> None:
    """Entered full-time teachers: a subset of each school's entered staff."""
    holders = [s for s in schools if s.entered_staff > 0]
    caps = [s.entered_staff for s in holders]
    for s, n in zip(holders, apportion(fulltime, [float(c) for c in caps], caps=caps),
                    strict=True):
        s.entered_fulltime = n


def set_review(schools: Sequence[SchoolPlan], complete: int,
               county_pace: Mapping[str, float]) -> None:
    """Teachers in post whose review is complete, per school, counties at their own pace."""
    holders = [s for s in schools if s.entered_staff > 0]
    caps = [s.entered_staff for s in holders]
    weights = [s.entered_staff * county_pace.get(s.county_code, 1.0) for s in holders]
    try:
        split = apportion(complete, weights, caps=caps)
    except InfeasibleSplit:
        raise PlanError(f"{complete} reviews complete but only {sum(caps)} teachers in "
                        "post") from None
    for s, n in zip(holders, split, strict=True):
        s.review_complete = n
