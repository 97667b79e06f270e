"""A stage-table profile: the notice's table format, parsed into figures per stage.

The format is the one of shared/data/notice_2017_stage_table.csv, header line first:

    stage,stage_name,schools_annual,schools_entered,teaching_points_annual,
    teaching_points_entered,staff_annual,staff_entered,fulltime_annual,fulltime_entered

one row per stage (the English keys of `Stage`) and optionally a row `total`. A blank cell is
unknown (None), never zero. The total row is kept exactly as given, never recomputed: a table
whose rows do not add up to its total is data a report must flag, so the simulator keeps it.

`parse_profile` refuses a malformed file with every problem found, each naming the line (the
header is line 1) and the column. `check_plannable` refuses figures no province can have
(e.g. more full-time teachers entered than staff entered), again by line and column.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from shared.contracts.vocabulary import LABELS, Stage
from shared.errors import Problem, ValidationProblem

NOTICE_PROFILE_PATH = Path(__file__).resolve().parents[2] / "shared" / "data" / \
    "notice_2017_stage_table.csv"

FIGURES: tuple[str, ...] = (
    "schools_annual", "schools_entered", "teaching_points_annual", "teaching_points_entered",
    "staff_annual", "staff_entered", "fulltime_annual", "fulltime_entered",
)
HEADER: tuple[str, ...] = ("stage", "stage_name", *FIGURES)
ANNUAL_FIGURES: tuple[str, ...] = tuple(f for f in FIGURES if f.endswith("_annual"))
ENTERED_FIGURES: tuple[str, ...] = tuple(f for f in FIGURES if f.endswith("_entered"))
TOTAL = "total"


class ProfileError(ValidationProblem):
    """A profile that is malformed or describes figures no province can have. Each problem's
    `loc` is the column, `row` the line of the file (the header is line 1)."""

    def __init__(self, problems: list[Problem], source: str = "profile") -> None:
        self.source = source
        where = "; ".join(_describe(p) for p in problems[:8])
        more = f" (and {len(problems) - 8} more)" if len(problems) > 8 else ""
        super().__init__(problems, f"{source}: {where}{more}")


def _describe(p: Problem) -> str:
    line = f"line {p.row}, " if p.row is not None else ""
    return f"{line}column {p.loc}: {p.msg}"


@dataclass(frozen=True)
class StageFigures:
    """One row of the table: a stage's figures (or the total row's), None where blank."""

    key: str  # a Stage value, or "total"
    name: str
    line: int
    schools_annual: int | None = None
    schools_entered: int | None = None
    teaching_points_annual: int | None = None
    teaching_points_entered: int | None = None
    staff_annual: int | None = None
    staff_entered: int | None = None
    fulltime_annual: int | None = None
    fulltime_entered: int | None = None

    @property
    def stage(self) -> Stage:
        return Stage(self.key)

    def figure(self, column: str) -> int | None:
        value: int | None = getattr(self, column)
        return value

    def figures(self) -> tuple[int | None, ...]:
        return tuple(self.figure(c) for c in FIGURES)


@dataclass(frozen=True)
class Profile:
    """The stage rows in file order and the total row as given (None when the file has none)."""

    stages: tuple[StageFigures, ...]
    total: StageFigures | None
    source: str = "profile"

    def stage(self, stage: Stage) -> StageFigures | None:
        return next((s for s in self.stages if s.key == stage.value), None)

    def stage_sums(self) -> dict[str, int | None]:
        """Per column, the sum of the stage rows' figures; None when every row is blank."""
        out: dict[str, int | None] = {}
        for column in FIGURES:
            values = [s.figure(column) for s in self.stages if s.figure(column) is not None]
            out[column] = sum(v for v in values if v is not None) if values else None
        return out

    def total_mismatches(self) -> list[tuple[str, int | None, int | None]]:
        """(column, total as given, sum of the rows) where the total row disagrees with its rows:
        what a report must flag (the notice's schools_annual: 20166 given, 20196 summed)."""
        if self.total is None:
            return []
        sums = self.stage_sums()
        return [(c, self.total.figure(c), sums[c]) for c in FIGURES
                if self.total.figure(c) is not None and self.total.figure(c) != sums[c]]

    def same_figures(self, other: Profile) -> bool:
        """The same stages, in the same order, with the same figures (names may differ)."""
        def key(p: Profile) -> tuple[object, ...]:
            total = p.total.figures() if p.total else None
            return tuple((s.key, s.figures()) for s in p.stages), total
        return key(self) == key(other)


def parse_profile(text: str, source: str = "profile") -> Profile:
    """The profile in `text` (CSV as above); ProfileError listing every problem."""
    problems: list[Problem] = []
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    numbered = [(i + 1, r) for i, r in enumerate(rows) if any(c.strip() for c in r)]
    if not numbered:
        raise ProfileError([Problem("stage", "the file is empty: expected the header "
                                             + ",".join(HEADER), row=1)], source)
    header_line, header = numbered[0]
    names = [h.strip() for h in header]
    missing = [h for h in HEADER if h not in names]
    unknown = [h for h in names if h not in HEADER]
    doubled = sorted({h for h in names if names.count(h) > 1})
    for h in missing:
        problems.append(Problem(h, "column missing from the header", row=header_line))
    for h in unknown:
        problems.append(Problem(h or "(blank)", f"unknown column; the header must be "
                                                f"{','.join(HEADER)}", row=header_line))
    for h in doubled:
        problems.append(Problem(h, "column appears more than once", row=header_line))
    if problems:
        raise ProfileError(problems, source)
    index = {h: names.index(h) for h in HEADER}

    stages: list[StageFigures] = []
    total: StageFigures | None = None
    seen: dict[str, int] = {}
    allowed = ", ".join([s.value for s in Stage] + [TOTAL])
    for line, cells in numbered[1:]:
        if len(cells) != len(names):
            problems.append(Problem("stage", f"expected {len(names)} cells, found {len(cells)}",
                                    row=line))
            continue
        key = cells[index["stage"]].strip()
        if key != TOTAL and key not in Stage._value2member_map_:
            problems.append(Problem("stage", f"unknown stage {key!r}; expected one of {allowed}",
                                    row=line))
            continue
        if key in seen:
            problems.append(Problem("stage", f"stage {key!r} already given on line {seen[key]}",
                                    row=line))
            continue
        seen[key] = line
        values: dict[str, int | None] = {}
        for column in FIGURES:
            raw = cells[index[column]].strip()
            if raw == "":
                values[column] = None
            elif raw.isdigit() and raw.isascii():
                values[column] = int(raw)
            else:
                problems.append(Problem(column, f"{raw!r} is not a whole number >= 0 "
                                                "(leave the cell blank when unknown)", row=line))
        name = cells[index["stage_name"]].strip() or (LABELS[key] if key != TOTAL else "合计")
        figures = StageFigures(key=key, name=name, line=line, **values)
        if key == TOTAL:
            total = figures
        else:
            stages.append(figures)
    if not stages and not problems:
        problems.append(Problem("stage", f"no stage rows; expected rows for some of {allowed}",
                                row=header_line))
    if problems:
        raise ProfileError(problems, source)
    return Profile(stages=tuple(stages), total=total, source=source)


def load_profile(path: str | Path) -> Profile:
    """Read and parse a profile file (the simulator's only file input)."""
    p = Path(path)
    return parse_profile(p.read_text(encoding="utf-8"), source=p.name)


@lru_cache(maxsize=1)
def notice_profile() -> Profile:
    """The notice's own table (shared/data/notice_2017_stage_table.csv)."""
    return load_profile(NOTICE_PROFILE_PATH)


def is_notice_profile(profile: Profile) -> bool:
    return profile.same_figures(notice_profile())


def check_plannable(profile: Profile) -> None:
    """Refuse stage figures no province can hold, naming line and column. Annual figures are
    imported as given (even full-time above staff, as in the notice); entered figures are what
    the system will hold, so they must be possible."""
    problems: list[Problem] = []
    for s in profile.stages:
        def v(column: str, s: StageFigures = s) -> int:
            return s.figure(column) or 0
        if v("teaching_points_entered") > v("schools_entered"):
            problems.append(Problem("teaching_points_entered", f"{v('teaching_points_entered')} "
                                    f"teaching points entered but only {v('schools_entered')} "
                                    "schools entered (teaching points are counted among the "
                                    "schools)", row=s.line))
        if s.teaching_points_annual is not None and s.schools_annual is not None \
                and s.teaching_points_annual > s.schools_annual:
            problems.append(Problem("teaching_points_annual", f"{s.teaching_points_annual} "
                                    f"teaching points but only {s.schools_annual} schools in the "
                                    "annual report", row=s.line))
        if v("staff_entered") < v("schools_entered"):
            problems.append(Problem("staff_entered", f"{v('staff_entered')} staff cannot fill "
                                    f"{v('schools_entered')} entered schools (a school counts as "
                                    "entered only with at least one teacher in post)", row=s.line))
        if v("staff_entered") > 0 and v("schools_entered") == 0:
            problems.append(Problem("schools_entered", f"{v('staff_entered')} staff entered but "
                                    "no school entered: every teacher in post makes their school "
                                    "entered", row=s.line))
        if v("fulltime_entered") > v("staff_entered"):
            problems.append(Problem("fulltime_entered", f"{v('fulltime_entered')} full-time "
                                    f"teachers entered but only {v('staff_entered')} staff: "
                                    "full-time teachers are a subset of staff", row=s.line))
    if problems:
        raise ProfileError(problems, profile.source)

