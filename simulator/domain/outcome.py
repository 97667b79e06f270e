"""What the reports must show once a plan has been played through the services.

`expected_outcome(plan)` computes, from the plan alone, the final stage table in the profile's
own CSV format and the notice's kinds of findings. The stage table's rules:
- annual columns: the baseline's rows and total row exactly as the profile gives them;
- entered columns: what the system holds at the end (schools with a teacher in post, teachers
  in post, full-time teachers in post); a blank entered figure in a profile is planned as 0;
- teaching points are shown on a stage row when the stage has teaching points (in the registry,
  or a figure in the annual report), and on the total row only when the annual report's total
  gives one, as the notice's table does;
- the total row's entered columns are the sums of the stage rows (the system's own total).

`tally_teachers(plan)` recounts the end state from the generated teachers themselves, so tests
can prove the rosters add up to the school figures. `plan_digest` fingerprints a plan.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator
from dataclasses import fields
from typing import Any

from shared.contracts.vocabulary import Stage
from shared.domain.divisions import divisions
from simulator.domain.model import ProvincePlan, Review
from simulator.domain.profile import FIGURES, HEADER
from simulator.domain.teachers import TeacherPlan, teachers_of

__all__ = ["expected_outcome", "plan_digest", "stage_table", "tally_teachers"]


def stage_table(plan: ProvincePlan) -> list[dict[str, Any]]:
    final = plan.final_schools()
    rows: list[dict[str, Any]] = []
    sums = dict.fromkeys(("schools_entered", "teaching_points_entered", "staff_entered",
                          "fulltime_entered"), 0)
    for fig in plan.profile.stages:
        mine = [s for s in final if s.stage is fig.stage]
        entered = [s for s in mine if s.is_entered]
        has_points = any(s.is_teaching_point for s in mine) or \
            fig.teaching_points_annual is not None
        row: dict[str, Any] = {"stage": fig.key, "stage_name": fig.name}
        for column in FIGURES:
            if column.endswith("_annual"):
                row[column] = fig.figure(column)
        row["schools_entered"] = len(entered)
        row["teaching_points_entered"] = sum(1 for s in entered if s.is_teaching_point) \
            if has_points else None
        row["staff_entered"] = sum(s.entered_staff for s in mine)
        row["fulltime_entered"] = sum(s.entered_fulltime for s in mine)
        for column in sums:
            sums[column] += row[column] or 0
        rows.append({h: row[h] for h in HEADER})
    total = plan.profile.total
    row = {"stage": "total", "stage_name": total.name if total else "合计"}
    for column in FIGURES:
        row[column] = total.figure(column) if total and column.endswith("_annual") else None
    row.update(sums)
    if total is None or total.teaching_points_annual is None:
        row["teaching_points_entered"] = None
    rows.append({h: row[h] for h in HEADER})
    return rows


def to_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for row in rows:
        writer.writerow(["" if row[h] is None else row[h] for h in HEADER])
    return out.getvalue()


def city_rates(plan: ProvincePlan, naive: bool = False) -> dict[str, float]:
    """Staff entry rate per city: entered staff / annual staff, over the stages whose annual
    staff is known (naive: all entered staff over the annual staff that is known)."""
    known = {f.stage for f in plan.profile.stages if f.staff_annual is not None}
    entered: dict[str, int] = {}
    annual: dict[str, int] = {}
    for s in plan.final_schools():
        if naive or s.stage in known:
            entered[s.city_code] = entered.get(s.city_code, 0) + s.entered_staff
        if s.stage in known and s.in_annual and s.annual_staff:
            annual[s.city_code] = annual.get(s.city_code, 0) + s.annual_staff
    names = divisions().cities
    return {names[c]: entered.get(c, 0) / annual[c] for c in sorted(annual) if annual[c]}


def city_school_rates(plan: ProvincePlan) -> dict[str, float]:
    """Schools entered / schools in the annual report, per city."""
    entered: dict[str, int] = {}
    annual: dict[str, int] = {}
    for s in plan.final_schools():
        entered[s.city_code] = entered.get(s.city_code, 0) + (1 if s.is_entered else 0)
        annual[s.city_code] = annual.get(s.city_code, 0) + (1 if s.in_annual else 0)
    names = divisions().cities
    return {names[c]: entered[c] / annual[c] for c in sorted(annual) if annual[c]}


def kindergarten_gaps(plan: ProvincePlan) -> list[tuple[str, int]]:
    """(county, annual kindergarten staff - entered), largest first."""
    gap: dict[str, int] = {}
    for s in plan.final_schools():
        if s.stage is Stage.KINDERGARTEN:
            gap[s.county_code] = gap.get(s.county_code, 0) + (s.annual_staff or 0) \
                - s.entered_staff
    names = {code: c.name for code, c in divisions().counties.items()}
    return sorted(((names[c], g) for c, g in gap.items()), key=lambda x: (-x[1], x[0]))


def expected_outcome(plan: ProvincePlan) -> dict[str, Any]:
    final = plan.final_schools()
    rows = stage_table(plan)
    total_row = rows[-1]
    profile = plan.profile
    rates = city_rates(plan)
    gaps = kindergarten_gaps(plan)
    staff_annual = profile.total.staff_annual if profile.total and \
        profile.total.staff_annual is not None else profile.stage_sums()["staff_annual"]
    excluded = [plan.school(code) for code in plan.excluded_units]
    excluding = None if staff_annual is None else \
        staff_annual - sum(s.annual_staff or 0 for s in excluded)
    schools_annual = profile.total.schools_annual if profile.total and \
        profile.total.schools_annual is not None else profile.stage_sums()["schools_annual"]
    kg = profile.stage(Stage.KINDERGARTEN)
    kg_row = next((r for r in rows if r["stage"] == Stage.KINDERGARTEN.value), None)
    pending: dict[str, int] = {}
    for batch in plan.batches:
        if not batch.applied:
            for op in batch.operations:
                stage = plan.school(op.school_code).stage.value
                pending[stage] = pending.get(stage, 0) + 1
    return {
        "stage_table": rows,
        "stage_table_csv": to_csv(rows),
        "total_mismatches": profile.total_mismatches(),
        "city_rates": rates,
        "city_rates_naive": city_rates(plan, naive=True),
        "city_school_rates": city_school_rates(plan),
        "lowest_cities": sorted(rates, key=lambda c: rates[c])[:3],
        "kindergarten_gaps": gaps,
        "kindergarten_gap_counties": [name for name, _ in gaps[:10]],
        "zero_teacher_schools": [(s.code, s.name, s.annual_staff) for s in final
                                 if s.in_annual and (s.annual_staff or 0) > 0
                                 and not s.is_entered],
        "review_complete": sum(s.review_complete for s in final),
        "staff_annual_total": staff_annual,
        "excluded_units": [s.name for s in excluded],
        "staff_excluding_units": excluding,
        "staff_gap": None if excluding is None else excluding - total_row["staff_entered"],
        "schools_missing": None if schools_annual is None else
        schools_annual - total_row["schools_entered"],
        "kindergartens_missing": None if kg is None or kg.schools_annual is None or
        kg_row is None else kg.schools_annual - kg_row["schools_entered"],
        "pending_restructurings": pending,
        "base_differences": list(plan.baselines.base_differences),
    }


def all_teachers(plan: ProvincePlan) -> Iterator[TeacherPlan]:
    for s in plan.schools:
        yield from teachers_of(plan, s)


def tally_teachers(plan: ProvincePlan) -> dict[str, tuple[int, int, int]]:
    """Per school at the end, recounted from the teachers: (in post, full-time, complete)."""
    tally: dict[str, list[int]] = {}
    for t in all_teachers(plan):
        if t.counts and t.final_school is not None:
            acc = tally.setdefault(t.final_school, [0, 0, 0])
            acc[0] += 1
            acc[1] += 1 if t.counts_fulltime else 0
            acc[2] += 1 if t.review is Review.COMPLETE else 0
    return {code: (a[0], a[1], a[2]) for code, a in tally.items()}


def plan_digest(plan: ProvincePlan, *, teachers: bool = False) -> str:
    """A fingerprint of the plan (with every generated teacher when `teachers`)."""
    h = hashlib.sha256()

    def feed(value: object) -> None:
        h.update(repr(value).encode())
        h.update(b"\n")

    for s in plan.schools:
        feed((s.code, s.name, s.stage, s.is_teaching_point, s.county_code, s.reporting_line,
              s.is_rural, s.role, s.in_annual, s.annual_staff, s.annual_fulltime,
              s.entered_staff, s.entered_fulltime, s.review_complete, s.merged_into, s.stay,
              s.stay_fulltime, s.stay_review_complete, s.transfers_out, s.leavers,
              s.not_in_post, s.id_base))
    feed(plan.transfers)
    feed(plan.batches)
    n = plan.noise
    feed((sorted(n.retries), sorted(n.updates.items()), sorted(n.rejections.items()),
          sorted(n.returns), sorted(n.leave_reasons.items()), n.empty_school_not_in_post,
          n.lone_leaver_schools))
    feed(plan.baselines)
    if teachers:
        for t in all_teachers(plan):
            feed(tuple(getattr(t, f.name) for f in fields(t)))
    return h.hexdigest()
