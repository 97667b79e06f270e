"""The stage table (分学段数据录入情况统计表): per stage, schools / staff / full-time teachers,
annual report vs system; teaching points on the primary row; a total row.

Counting (the notice's notes): a school counts when it has at least one counted teacher;
staff count only in post at this unit; primary includes teaching points, also shown alone.
Annual figures are the baseline's, blanks stay blank, the total row is the baseline's own total
(flagged when its rows do not add up to it, never corrected), entered may exceed annual.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.reporting.domain.counting import notice_percent, rate
from services.reporting.domain.facts import SchoolFacts, Snapshot
from services.reporting.domain.figures import Adjustment, Figures, StageFigures, stage_figures
from services.reporting.domain.tables import Column, Flag, Table
from shared.contracts.vocabulary import LABELS, Stage

STAGES: tuple[str, ...] = tuple(s.value for s in Stage)
TOTAL = "total"
TOTAL_LABEL = "合计"

# Exactly the columns of the notice's table (shared/reference/notice_2017_stage_table.csv).
CSV_COLUMNS = ("stage", "stage_name", "schools_annual", "schools_entered",
               "teaching_points_annual", "teaching_points_entered", "staff_annual",
               "staff_entered", "fulltime_annual", "fulltime_entered")

COLUMNS = (
    Column("stage", "学段键"), Column("stage_name", "学段"),
    Column("schools_annual", "学校数·年报", "int"),
    Column("schools_entered", "学校数·系统录入", "int"),
    Column("teaching_points_annual", "其中教学点·年报", "int"),
    Column("teaching_points_entered", "其中教学点·系统录入", "int"),
    Column("staff_annual", "教职工数·年报", "int"),
    Column("staff_entered", "教职工数·系统录入", "int"),
    Column("fulltime_annual", "专任教师数·年报", "int"),
    Column("fulltime_entered", "专任教师数·系统录入", "int"),
    Column("school_rate", "学校录入率", "rate"), Column("staff_rate", "教职工录入率", "rate"),
    Column("schools_gap", "学校差距", "int"), Column("staff_gap", "教职工差距", "int"),
)

STAGE_NOTE = ("学校数只计已录入教师的学校（0 人学校不计数）；"
              "教职工只计“在本单位任职”的人员；小学含教学点。"
              "年报空白表示未知，不按 0 计。")

_MEASURES = (("schools", "学校数"), ("teaching_points", "教学点数"), ("staff", "教职工数"),
             ("fulltime", "专任教师数"))


def stage_label(stage: str | None) -> str | None:
    """The notice's Chinese name of a stage key (unknown keys pass through)."""
    if stage is None:
        return None
    return LABELS.get(stage, stage)


def entered_by_stage(schools: Sequence[SchoolFacts]) -> dict[str, dict[str, int]]:
    out = {s: {"schools": 0, "teaching_points": 0, "staff": 0, "fulltime": 0} for s in STAGES}
    for s in schools:
        if not s.entered or s.stage not in out:
            continue
        row = out[s.stage]
        row["schools"] += 1
        row["staff"] += s.staff
        row["fulltime"] += s.fulltime
        if s.is_teaching_point and s.stage == Stage.PRIMARY:
            row["teaching_points"] += 1
    return out


def _row(key: str, label: str, annual: Figures, entered: dict[str, int],
         teaching_points: bool) -> dict[str, Any]:
    row: dict[str, Any] = {"stage": key, "stage_name": label}
    for m, _ in _MEASURES:
        shown = teaching_points or m != "teaching_points"
        row[f"{m}_annual"] = annual.get(m) if shown else None
        row[f"{m}_entered"] = entered[m] if shown else None
    row["school_rate"] = rate(entered["schools"], annual.schools)
    row["staff_rate"] = rate(entered["staff"], annual.staff)
    row["school_rate_notice"] = notice_percent(entered["schools"], annual.schools)
    row["staff_rate_notice"] = notice_percent(entered["staff"], annual.staff)
    row["schools_gap"] = None if annual.schools is None else annual.schools - entered["schools"]
    row["staff_gap"] = None if annual.staff is None else annual.staff - entered["staff"]
    return row


def stage_table(snapshot: Snapshot, *, province_scope: bool, counties: set[str] | None,
                adjustments: Sequence[Adjustment] = ()) -> tuple[Table, StageFigures]:
    figures = stage_figures(snapshot.baselines, "annual", province_scope=province_scope,
                            counties=counties, facts=snapshot.by_code(), adjustments=adjustments)
    entered = entered_by_stage(snapshot.schools)
    rows = [_row(s, LABELS[Stage(s)], figures.per_stage.get(s, Figures()), entered[s],
                 teaching_points=(s == Stage.PRIMARY)) for s in STAGES]
    total_entered = {m: sum(entered[s][m] for s in STAGES) for m, _ in _MEASURES}
    rows.append(_row(TOTAL, TOTAL_LABEL, figures.total, total_entered, teaching_points=False))
    flags = list(_flags(rows, figures))
    return Table("stages", "分学段数据录入情况统计表", COLUMNS, tuple(rows), tuple(flags),
                 note=STAGE_NOTE), figures


def _flags(rows: list[dict[str, Any]], figures: StageFigures) -> list[Flag]:
    out: list[Flag] = []
    if figures.source is None:
        out.append(Flag("no_baseline", "没有导入年报数据：年报列为空。", {}, "info"))
        return out
    if figures.total_is_stated:
        for m, label in _MEASURES:
            stated, summed = figures.total.get(m), figures.rows_sum.get(m)
            if m == "teaching_points":
                continue
            if stated is not None and summed is not None and stated != summed:
                out.append(Flag(
                    "sum_mismatch",
                    f"年报{label}各学段合计为 {summed}，但合计行为 {stated}（相差 "
                    f"{stated - summed:+d}）；按原数据列示，未作更正。",
                    {"column": f"{m}_annual", "rows_sum": summed, "total": stated}))
    for row in rows:
        for m, label in _MEASURES:
            if m == "teaching_points" and row["stage"] != Stage.PRIMARY:
                continue
            annual, entered = row[f"{m}_annual"], row[f"{m}_entered"]
            if annual is None:
                out.append(Flag("unknown",
                                f"{row['stage_name']}{label}年报数空白（未知，不按 0 计）。",
                                {"stage": row["stage"], "column": f"{m}_annual"}, "info"))
            elif entered is not None and entered > annual:
                out.append(Flag(
                    "entered_exceeds_annual",
                    f"{row['stage_name']}{label}系统录入 {entered} 超过年报 {annual}。",
                    {"stage": row["stage"], "column": m, "entered": entered, "annual": annual},
                    "info"))
    return out


def csv_rows(table: Table) -> list[list[str]]:
    """The table as the notice's CSV: exactly its header, blanks empty."""
    out = [list(CSV_COLUMNS)]
    for row in table.rows:
        out.append(["" if row.get(c) is None else str(row[c]) for c in CSV_COLUMNS])
    return out
