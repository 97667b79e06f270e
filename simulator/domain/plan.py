"""The planner: a profile and a seed in, a whole synthetic province out, the same every time.

`plan_province` lays out the schools over the 87 counties, gives each its annual-report figures
and its teachers in post at the end (summing exactly to the profile per stage), plans the noise
the counting rules must see through, the reviews, the restructurings and the baselines. When the
profile is the notice's own table (or when asked) it also shapes the figures so the notice's
named findings come out (findings.py, calibrate.py). `expected_outcome` (outcome.py) says what
the reports must then show.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from shared.contracts.vocabulary import Stage
from simulator.domain.apportion import InfeasibleSplit
from simulator.domain.baselines import build_baselines
from simulator.domain.calibrate import StageInput, calibrate_cities, kindergarten_targets
from simulator.domain.findings import NOTICE_2017, NamedSchool, NoticeFindings
from simulator.domain.layout import CodeBook, CountyInfo, Layout, PlanError, county_table
from simulator.domain.model import ProvincePlan, SchoolPlan
from simulator.domain.names import SchoolNamer
from simulator.domain.noise import NoisePlanner, NoiseRates
from simulator.domain.outcome import expected_outcome, plan_digest, tally_teachers
from simulator.domain.profile import Profile, StageFigures, check_plannable, is_notice_profile
from simulator.domain.staffing import (
    county_shares,
    county_targets,
    set_annual,
    set_entered,
    set_fulltime,
    set_review,
)
from simulator.domain.teachers import SLOTS, birth_window

__all__ = ["PlanError", "PlanOptions", "expected_outcome", "plan_digest", "plan_province",
           "tally_teachers"]

AUTO: Literal["auto"] = "auto"
KINDERGARTEN_GAP_BOOST = 2.0  # more kindergartens in the counties the notice names
KINDERGARTEN_GAP_ENTRY = 0.75  # and fewer of them entered


@dataclass(frozen=True)
class PlanOptions:
    review_complete_share: float = 0.94  # when the findings do not fix the number
    reference_date: date = date(2017, 4, 7)  # the notice's cut-off: ages, dates, batches
    noise: NoiseRates = field(default_factory=NoiseRates)


@dataclass(frozen=True)
class StageCounts:
    """How many schools a stage needs, in two categories (teaching points and the rest)."""

    points: int
    points_annual: int
    points_entered: int
    regular: int
    regular_annual: int
    regular_entered: int

    @classmethod
    def of(cls, fig: StageFigures) -> StageCounts:
        tpa, tpe = fig.teaching_points_annual or 0, fig.teaching_points_entered or 0
        # A blank school count with a teaching-point count: the report lists at least those.
        sa = fig.schools_annual if fig.schools_annual is not None else tpa
        se = fig.schools_entered or 0
        ra, re = max(0, sa - tpa), se - tpe
        return cls(max(tpa, tpe), tpa, tpe, max(ra, re), ra, re)


def plan_province(profile: Profile, seed: int, *,
                  notice: NoticeFindings | Literal["auto"] | None = AUTO,
                  options: PlanOptions | None = None) -> ProvincePlan:
    """Plan a province for `profile`. `notice`: the findings to reproduce; by default the
    notice's when the profile is the notice's table, none otherwise."""
    check_plannable(profile)
    findings = (NOTICE_2017 if is_notice_profile(profile) else None) if notice == AUTO \
        else notice
    if findings is not None:
        _check_findings_fit(profile, findings)
    opts = options or PlanOptions()
    try:
        return _plan(profile, seed, findings, opts)
    except InfeasibleSplit as exc:
        raise PlanError(f"the profile cannot be planned: {exc}") from exc


def _check_findings_fit(profile: Profile, findings: NoticeFindings) -> None:
    """Refuse, with the reason, findings that this profile's figures cannot hold."""
    why: list[str] = []
    kg = profile.stage(Stage.KINDERGARTEN)
    if kg is None or kg.staff_annual is None or (kg.staff_entered or 0) >= kg.staff_annual:
        why.append("the kindergarten gap finding needs kindergarten annual staff above the "
                   "entered staff")
    named = findings.zero_teacher_schools + findings.excluded_units
    for stage in [st for st in Stage if any(n.stage is st for n in named)]:
        fig = profile.stage(stage)
        zero = sum(1 for n in named if n.stage is stage)
        if fig is None or (fig.schools_annual or 0) - (fig.schools_entered or 0) < zero:
            why.append(f"{zero} named {stage.value} schools with no teacher need at least "
                       f"{zero} {stage.value} schools in the annual report and not entered")
        elif fig.staff_annual is None:
            why.append(f"the named {stage.value} schools need a {stage.value} annual staff "
                       "figure")
    staff = sum(s.staff_entered or 0 for s in profile.stages)
    if findings.review_complete > staff:
        why.append(f"{findings.review_complete} reviews complete but {staff} staff entered")
    if sum(1 for s in profile.stages if s.staff_annual is not None) < 2:
        why.append("the city ranking needs annual staff figures")
    if why:
        raise PlanError("the notice's findings do not fit this profile: " + "; ".join(why))


def _plan(profile: Profile, seed: int, findings: NoticeFindings | None,
          opts: PlanOptions) -> ProvincePlan:
    rng = random.Random(f"tmis-simulator/{seed}")
    counties = county_table(rng)
    layout = Layout(rng, counties, CodeBook(), SchoolNamer(rng))
    notes: list[str] = []
    gap_counties = _codes_of(findings.kindergarten_gap_counties, counties) if findings else []
    # The named counties get more kindergartens, so their gaps can lead clearly.
    weights = {c.code: c.weight for c in counties}
    boost = {code: max(KINDERGARTEN_GAP_BOOST, 2.6 / weights[code]) for code in gap_counties}

    by_stage: dict[Stage, list[SchoolPlan]] = {}
    named_zero: list[SchoolPlan] = []
    excluded: list[SchoolPlan] = []
    pinned: dict[str, int] = {}
    entry_factor = {c.code: rng.uniform(0.85, 1.15) for c in counties}
    for fig in profile.stages:
        stage = fig.stage
        zero = [n for n in findings.zero_teacher_schools if n.stage is stage] if findings else []
        units = [n for n in findings.excluded_units if n.stage is stage] if findings else []
        counts = StageCounts.of(fig)
        schools = layout.place_stage(stage, counts.points + counts.regular, counts.points,
                                     zero + units, boost if stage is Stage.KINDERGARTEN else {})
        named_zero += schools[: len(zero)]
        excluded += schools[len(zero): len(zero) + len(units)]
        if units and findings:
            pinned.update(_pin_units(schools[len(zero): len(zero) + len(units)], units, profile,
                                     findings))
        forced = {s.code for s in named_zero + excluded}
        gap = set(gap_counties) if stage is Stage.KINDERGARTEN else set()

        def weight(c: CountyInfo, gap: set[str] = gap) -> float:
            return KINDERGARTEN_GAP_ENTRY if c.code in gap else \
                1.0 if findings else entry_factor[c.code]

        layout.mark([s for s in schools if not s.is_teaching_point], counts.regular_annual,
                    counts.regular_entered, forced, weight)
        layout.mark([s for s in schools if s.is_teaching_point], counts.points_annual,
                    counts.points_entered, forced, weight)
        set_annual(schools, fig.staff_annual, fig.fulltime_annual, pinned, notes, stage.value)
        by_stage[stage] = schools

    entered = layout.entered
    _plan_entered(profile, by_stage, entered, findings, counties, entry_factor, rng)
    schools = [s for group in by_stage.values() for s in group]
    staff = sum(s.entered_staff for s in schools)
    complete = findings.review_complete if findings else round(opts.review_complete_share * staff)
    set_review(schools, complete, {c.code: rng.uniform(0.9, 1.0) for c in counties})

    protected = {s.code for s in named_zero + excluded}
    noise = NoisePlanner(rng, layout, schools, entered, protected, opts.noise, seed,
                         opts.reference_date)
    merges = noise.merges([fig.stage for fig in profile.stages])
    noise.transfers()
    empties, lone = noise.not_in_post_and_leavers(rng.choice(named_zero) if named_zero else None)
    transfers = noise.rosters()
    teacher_noise = noise.teacher_noise(empties, lone)
    groups = findings.pending_restructurings if findings else tuple(
        ((fig.stage,), opts.noise.pending_per_stage) for fig in profile.stages)
    pending = noise.pending(groups)
    id_blocks = _assign_id_space(schools, counties, opts.reference_date)
    baselines = build_baselines(schools, profile, counties, rng)
    return ProvincePlan(
        profile=profile, seed=seed, reference_date=opts.reference_date,
        notice_applied=findings is not None, schools=schools, transfers=transfers,
        batches=tuple(b for b in (merges, pending) if b is not None), noise=teacher_noise,
        baselines=baselines, excluded_units=tuple(s.code for s in excluded),
        id_blocks=id_blocks, notes=tuple(notes + noise.notes))


def _codes_of(names: tuple[str, ...], counties: list[CountyInfo]) -> list[str]:
    by_name = {c.name: c.code for c in counties}
    missing = [n for n in names if n not in by_name]
    if missing:
        raise PlanError(f"unknown counties in the findings: {', '.join(missing)}")
    return [by_name[n] for n in names]


def _pin_units(schools: list[SchoolPlan], units: list[NamedSchool], profile: Profile,
               findings: NoticeFindings) -> dict[str, int]:
    """Annual staff of the excluded units: what the headline leaves out of the total."""
    total = profile.total.staff_annual if profile.total and profile.total.staff_annual \
        is not None else sum(s.staff_annual or 0 for s in profile.stages)
    want = total - findings.staff_excluding_units
    given = [u.annual_staff or 1 for u in units]
    if want < len(units):
        raise PlanError(f"the annual staff {total} leaves {want} for the excluded units")
    share = [max(1, round(want * g / sum(given))) for g in given]
    share[0] += want - sum(share)
    return {s.code: n for s, n in zip(schools, share, strict=True)}


def _plan_entered(profile: Profile, by_stage: dict[Stage, list[SchoolPlan]], entered: set[str],
                  findings: NoticeFindings | None, counties: list[CountyInfo],
                  entry_factor: dict[str, float], rng: random.Random) -> None:
    inputs: list[StageInput] = []
    fixed: dict[Stage, dict[str, int]] = {}
    for fig in profile.stages:
        schools = by_stage[fig.stage]
        count, weight = county_shares(schools, entered)
        total = fig.staff_entered or 0
        if findings and fig.stage is Stage.KINDERGARTEN:
            fixed[fig.stage] = kindergarten_targets(schools, entered, total,
                                                    findings.kindergarten_gap_counties,
                                                    counties, rng)
        else:
            inputs.append(StageInput(fig.stage, total, count, weight))
    if findings:
        known = {fig.stage for fig in profile.stages if fig.staff_annual is not None}
        annual: dict[Stage, dict[str, int]] = {}
        for stage in known:
            per: dict[str, int] = {}
            for s in by_stage[stage]:
                if s.in_annual and s.annual_staff:
                    per[s.county_code] = per.get(s.county_code, 0) + s.annual_staff
            annual[stage] = per
        targets = calibrate_cities(inputs, fixed, annual, known, findings.lowest_cities,
                                   counties, rng)
        targets.update(fixed)
    else:
        targets = {s.stage: county_targets(s.total, s.count, s.weight, entry_factor)
                   for s in inputs}
    for fig in profile.stages:
        set_entered(by_stage[fig.stage], entered, targets[fig.stage])
        set_fulltime(by_stage[fig.stage], fig.fulltime_entered or 0)


def _assign_id_space(schools: list[SchoolPlan], counties: list[CountyInfo],
                     reference: date) -> dict[str, int]:
    """Each school's first index in its county's ID-number space, and each county's blocks."""
    used: dict[str, int] = {c.code: 0 for c in counties}
    for s in sorted(schools, key=lambda s: s.code):
        s.id_base = used[s.county_code]
        used[s.county_code] += s.registered
    _, window = birth_window(reference)
    blocks = {code: max(1, math.ceil(n / SLOTS)) for code, n in used.items()}
    crowded = [code for code, b in blocks.items() if b > window]
    if crowded:
        raise PlanError(f"counties {', '.join(crowded)} would need more distinct synthetic ID "
                        "numbers than birth dates x sequence numbers allow")
    return blocks
