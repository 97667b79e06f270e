"""After the run: does reporting show the province the plan describes?

The stage table (reporting's CSV, as of the reference date and as of today) is compared with
`expected_outcome(plan)` cell by cell, by stage key:
- annual columns exactly (a blank is unknown and must stay blank, never 0); the total row as
  the profile states it (when the profile has no total row, reporting's total is the sum of the
  rows, so that is what is expected);
- entered columns exactly; a blank teaching-points cell and 0 are the same figure (the planner
  writes a stage without teaching points blank, reporting always shows primary's, as 0);
- stages the profile does not have must show nothing entered and no annual figure;
- stage names are not compared: reporting labels stages with the notice's words.

Findings (reporting's findings JSON) are checked against the plan's expected outcome: review
complete, schools and kindergartens missing, the schools the annual report expects teachers at
that have none, the baseline total rows that do not add up (flagged), and, for the notice's
profile, the named findings: the lowest three cities, the ten kindergarten-gap counties, the
seven named schools, 390639 staff excluding the two universities and the 25487 gap. The pending
restructurings are compared as of today (see `PENDING_NOTE`).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from simulator.adapters.api import ReportingClient
from simulator.domain.findings import NOTICE_2017
from simulator.domain.model import ProvincePlan
from simulator.domain.profile import ANNUAL_FIGURES, FIGURES, Profile

REPORT_GROUPS = {"kindergarten": "kindergarten", "vocational": "vocational",
                 "primary": "primary_secondary", "junior": "primary_secondary",
                 "senior": "primary_secondary", "special": "other", "higher": "other"}
PENDING_NOTE = ("orgsync's POST /v1/batches/announce takes no business time: an announced "
                "batch is dated today, so the pending restructurings show in reports as of "
                "today, not as of the reference date")


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str = ""


@dataclass
class Verdict:
    checks: list[Check] = field(default_factory=list)
    stage_csv: str = ""  # as of the reference date
    findings: dict[str, Any] = field(default_factory=dict)  # as of the reference date
    findings_excluding: dict[str, Any] = field(default_factory=dict)
    findings_today: dict[str, Any] = field(default_factory=dict)
    stages: dict[str, Any] = field(default_factory=dict)  # stages JSON, reference date

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def add(self, name: str, problems: Sequence[str], fine: str = "") -> None:
        self.checks.append(Check(name, not problems, "; ".join(problems[:12])
                                 + (f" (and {len(problems) - 12} more)" if len(problems) > 12
                                    else "") if problems else fine))


# --------------------------------------------------------------------------- stage table


def _cell(raw: str | None) -> int | None:
    if raw is None or raw.strip() == "":
        return None
    return int(raw)


def expected_total_row(row: dict[str, Any], profile: Profile) -> dict[str, Any]:
    """Reporting's total row shows the baseline's total as stated, or the sum of the rows when
    the baseline has no total row."""
    if profile.total is not None:
        return row
    sums = profile.stage_sums()
    return {**row, **{c: sums[c] for c in ANNUAL_FIGURES if c != "teaching_points_annual"}}


def stage_mismatches(expected: Sequence[Mapping[str, Any]], actual_csv: str,
                     profile: Profile) -> list[str]:
    """Every cell where reporting's stage CSV differs from the expected rows."""
    actual = {r["stage"]: r for r in csv.DictReader(io.StringIO(actual_csv.lstrip("\ufeff")))}
    problems: list[str] = []
    seen: set[str] = set()
    for want in expected:
        stage = str(want["stage"])
        seen.add(stage)
        row = actual.get(stage)
        if row is None:
            problems.append(f"{stage}: row missing")
            continue
        if stage == "total":
            want = expected_total_row(dict(want), profile)
        for column in FIGURES:
            e, a = want.get(column), _cell(row.get(column))
            if column == "teaching_points_entered" and (e or 0) == (a or 0):
                continue
            if e != a:
                problems.append(f"{stage}.{column}: expected {_show(e)}, reporting {_show(a)}")
    for stage, row in actual.items():
        if stage in seen:
            continue
        for column in FIGURES:
            a = _cell(row.get(column))
            if (column in ANNUAL_FIGURES and a is not None) or \
                    (column not in ANNUAL_FIGURES and (a or 0) != 0):
                problems.append(f"{stage}.{column}: the profile has no {stage} row, "
                                f"reporting shows {a}")
    return problems


def _show(v: object) -> str:
    return "blank" if v is None else str(v)


# --------------------------------------------------------------------------- findings


def table(report: Mapping[str, Any], name: str) -> list[dict[str, Any]]:
    for t in report.get("tables", []):
        if t.get("name") == name:
            return list(t.get("rows", []))
    return []


def headline(report: Mapping[str, Any]) -> dict[str, Any]:
    h: dict[str, Any] = report.get("summary", {}).get("headline", {})
    return h


def _same(name: str, want: object, got: object) -> list[str]:
    return [] if want == got else [f"{name}: expected {want}, reporting {got}"]


def findings_checks(plan: ProvincePlan, outcome: Mapping[str, Any], verdict: Verdict) -> None:
    f, h = verdict.findings, headline(verdict.findings)
    verdict.add("review complete (审核完成)",
                _same("review_complete", outcome["review_complete"], h.get("review_complete")),
                str(h.get("review_complete")))
    verdict.add("schools and kindergartens with no teacher entered",
                _same("schools_missing", outcome["schools_missing"], h.get("schools_missing"))
                + _same("kindergartens_missing", outcome["kindergartens_missing"],
                        h.get("kindergartens_missing")),
                f"{h.get('schools_missing')} schools, {h.get('kindergartens_missing')} "
                "kindergartens")
    expected_zero = {code for code, _, _ in outcome["zero_teacher_schools"]}
    rows = table(f, "zero_but_expected")
    got_zero = {r["school_code"] for r in rows}
    zero_problems = [f"{len(expected_zero - got_zero)} expected, not listed (e.g. "
                     f"{sorted(expected_zero - got_zero)[:3]})"] if expected_zero - got_zero \
        else []
    zero_problems += [f"{len(got_zero - expected_zero)} listed, not expected (e.g. "
                      f"{sorted(got_zero - expected_zero)[:3]})"] if got_zero - expected_zero \
        else []
    verdict.add("schools the annual report expects teachers at, with none", zero_problems,
                f"{len(got_zero)} schools")
    flags = [fl for fl in f.get("flags", []) if fl.get("code") == "sum_mismatch"]
    flag_problems = []
    for column, stated, summed in outcome["total_mismatches"]:
        if column == "teaching_points_annual" or column not in ANNUAL_FIGURES:
            # Only the annual columns are imported (the entered ones are the system's own
            # counts); reporting does not check teaching points against the total.
            continue
        hit = [fl for fl in flags if fl.get("where", {}).get("column") == column
               and fl["where"].get("rows_sum") == summed and fl["where"].get("total") == stated]
        if not hit:
            flag_problems.append(f"{column}: rows sum to {summed}, total {stated}, not flagged")
    verdict.add("baseline totals that do not add up are flagged", flag_problems,
                ", ".join(f"{c} {s} vs {t}" for c, t, s in outcome["total_mismatches"]
                          if c in ANNUAL_FIGURES) or "none to flag")
    if plan.excluded_units:
        he = headline(verdict.findings_excluding)
        verdict.add(f"staff excluding {'、'.join(outcome['excluded_units'])}",
                    _same("annual_staff_excluding", outcome["staff_excluding_units"],
                          he.get("annual_staff_excluding"))
                    + _same("staff_gap_excluding", outcome["staff_gap"],
                            he.get("staff_gap_excluding")),
                    f"{he.get('annual_staff_excluding')}, gap {he.get('staff_gap_excluding')}")
    if plan.notice_applied:
        notice_checks(outcome, verdict)
    pending_want: dict[str, int] = {}
    for stage, n in outcome["pending_restructurings"].items():
        group = REPORT_GROUPS.get(stage, "other")
        pending_want[group] = pending_want.get(group, 0) + n
    got = {r["group"]: r["schools"] for r in table(verdict.findings_today,
                                                   "pending_restructurings")}
    verdict.add("pending restructurings (as of today)",
                [f"{g}: expected {n}, reporting {got.get(g, 0)}"
                 for g, n in sorted(pending_want.items()) if got.get(g, 0) != n],
                ", ".join(f"{g} {n}" for g, n in sorted(pending_want.items())) or "none")


def notice_checks(outcome: Mapping[str, Any], verdict: Verdict) -> None:
    f = verdict.findings
    cities = [r["city_name"] for r in table(f, "lowest_cities")]
    verdict.add("lowest three cities", _same("lowest_cities", list(NOTICE_2017.lowest_cities),
                                             cities), "、".join(cities))
    counties = [r["county_name"] for r in table(f, "kindergarten_gaps")]
    verdict.add("ten counties with kindergarten gaps",
                _same("counties", list(NOTICE_2017.kindergarten_gap_counties), counties),
                "、".join(counties))
    listed = {r["school_name"] for r in table(f, "zero_but_expected")}
    named = [n.name for n in NOTICE_2017.zero_teacher_schools]
    verdict.add("seven named schools with no teacher",
                [f"{n} not listed" for n in named if n not in listed], "、".join(named))
    h = headline(f)
    verdict.add("notice headline figures",
                _same("review_complete", NOTICE_2017.review_complete, h.get("review_complete"))
                + _same("schools_missing", NOTICE_2017.schools_missing,
                        h.get("schools_missing"))
                + _same("kindergartens_missing", NOTICE_2017.kindergartens_missing,
                        h.get("kindergartens_missing")),
                f"{h.get('review_complete')} reviewed, {h.get('schools_missing')} schools / "
                f"{h.get('kindergartens_missing')} kindergartens missing")
    he = headline(verdict.findings_excluding)
    verdict.add("390639 staff excluding the two universities, gap 25487",
                _same("annual_staff_excluding", NOTICE_2017.staff_excluding_units,
                      he.get("annual_staff_excluding"))
                + _same("staff_gap_excluding", NOTICE_2017.staff_gap,
                        he.get("staff_gap_excluding")),
                f"{he.get('annual_staff_excluding')} / {he.get('staff_gap_excluding')}")
    flags = [fl for fl in f.get("flags", []) if fl.get("code") == "sum_mismatch"
             and fl.get("where", {}).get("column") == "schools_annual"]
    ok = any(fl["where"].get("rows_sum") == 20196 and fl["where"].get("total") == 20166
             for fl in flags)
    verdict.add("schools column summing to 20196 (total 20166) flagged",
                [] if ok else [f"flags: {flags}"], "flagged")


# --------------------------------------------------------------------------- fetch and check


async def verify(plan: ProvincePlan, outcome: Mapping[str, Any], reporting: ReportingClient,
                 today: date) -> Verdict:
    verdict = Verdict()
    reference = plan.reference_date.isoformat()
    expected = outcome["stage_table"]
    for label, as_of in ((f"as of {reference}", reference), (f"as of today ({today})",
                                                           today.isoformat())):
        body = (await reporting.report("stages", as_of=as_of, fmt="csv")).content
        text = body.decode("utf-8-sig")
        if as_of == reference:
            verdict.stage_csv = text
        verdict.add(f"stage table {label}", stage_mismatches(expected, text, plan.profile),
                    "equals the profile in every column")
    verdict.stages = (await reporting.report("stages", as_of=reference)).json()
    verdict.findings = (await reporting.report("findings", as_of=reference)).json()
    if plan.excluded_units:
        verdict.findings_excluding = (await reporting.report(
            "findings", as_of=reference, exclude=outcome["excluded_units"])).json()
    verdict.findings_today = (await reporting.report("findings", as_of=today.isoformat())
                              ).json()
    findings_checks(plan, outcome, verdict)
    return verdict


def dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)
