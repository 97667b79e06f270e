"""The three-way comparison: base table (基数表) vs annual report (年报) vs system, at every
level (province by stage, city, county, school where a school-level baseline exists), for
schools and staff, with each difference flagged and sized.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from services.reporting.domain.facts import Snapshot
from services.reporting.domain.figures import Figures, StageFigures, school_figures
from services.reporting.domain.regions import Counts, RegionInputs
from services.reporting.domain.stages import STAGES, TOTAL, TOTAL_LABEL, stage_label
from services.reporting.domain.tables import Column, Flag, Table
from shared.domain.divisions import Divisions

COLUMNS = (
    Column("level", "层级"), Column("code", "代码"), Column("name", "名称"),
    Column("schools_base", "学校数·基数表", "int"), Column("schools_annual", "学校数·年报", "int"),
    Column("schools_system", "学校数·系统", "int"), Column("staff_base", "教职工·基数表", "int"),
    Column("staff_annual", "教职工·年报", "int"), Column("staff_system", "教职工·系统", "int"),
    Column("differences", "差异"),
)

_SOURCES = (("base", "基数表"), ("annual", "年报"), ("system", "系统"))


def _row(level: str, code: str, name: str | None, base: Figures, annual: Figures,
         schools_system: int, staff_system: int) -> dict[str, Any]:
    row: dict[str, Any] = {
        "level": level, "code": code, "name": name,
        "schools_base": base.schools, "schools_annual": annual.schools,
        "schools_system": schools_system, "staff_base": base.staff,
        "staff_annual": annual.staff, "staff_system": staff_system,
    }
    diffs = []
    for measure, label in (("schools", "学校数"), ("staff", "教职工")):
        values = {src: row[f"{measure}_{src}"] for src, _ in _SOURCES}
        for (a, la), (b, lb) in (((_SOURCES[1]), (_SOURCES[0])), ((_SOURCES[2]), (_SOURCES[1])),
                                 ((_SOURCES[2]), (_SOURCES[0]))):
            va, vb = values[a], values[b]
            if va is not None and vb is not None and va != vb:
                diffs.append({"measure": measure, "between": f"{a}-{b}", "difference": va - vb,
                              "text": f"{label}{la}比{lb}{va - vb:+d}"})
    row["difference_list"] = diffs
    row["differences"] = "；".join(d["text"] for d in diffs) if diffs else "一致"
    row["agrees"] = not diffs
    return row


def comparison_table(snapshot: Snapshot, divisions: Divisions, inputs: RegionInputs,
                     annual_stages: StageFigures, base_stages: StageFigures,
                     cities: Iterable[str], counties: Iterable[str],
                     include_province: bool, school_scope: set[str] | None = None) -> Table:
    """`school_scope` limits the school rows to these codes (None: every baseline school)."""
    rows: list[dict[str, Any]] = []
    if include_province:
        for stage in (*STAGES, TOTAL):
            entered = [s for s in snapshot.schools if s.entered
                       and (stage == TOTAL or s.stage == stage)]
            annual = annual_stages.total if stage == TOTAL else \
                annual_stages.per_stage.get(stage, Figures())
            base = base_stages.total if stage == TOTAL else \
                base_stages.per_stage.get(stage, Figures())
            rows.append(_row("province", stage,
                             TOTAL_LABEL if stage == TOTAL else stage_label(stage), base,
                             annual, len(entered), sum(s.staff for s in entered)))
    for code in cities:
        c = inputs.cities.get(code, Counts())
        rows.append(_row("city", code, divisions.cities.get(code),
                         inputs.base.city.get(code, Figures()),
                         inputs.annual.city.get(code, Figures()), c.schools, c.staff))
    for code in counties:
        county = divisions.county(code)
        c = inputs.counties.get(code, Counts())
        rows.append(_row("county", code, county.name if county else None,
                         inputs.base.county.get(code, Figures()),
                         inputs.annual.county.get(code, Figures()), c.schools, c.staff))
    annual_s, base_s = school_figures(snapshot.baselines, "annual"), \
        school_figures(snapshot.baselines, "base")
    facts = snapshot.by_code()
    for code in sorted(set(annual_s) | set(base_s)):
        if school_scope is not None and code not in school_scope:
            continue
        s = facts.get(code)
        a, b = annual_s.get(code), base_s.get(code)
        named = a or b
        rows.append(_row("school", code, s.name if s else named.name if named else None,
                         Figures(schools=1 if b else None, staff=b.staff if b else None),
                         Figures(schools=1 if a else None, staff=a.staff if a else None),
                         1 if s and s.entered else 0, s.staff if s and s.open else 0))
    disagreeing = sum(1 for r in rows if not r["agrees"])
    flags = (Flag("differs", f"{disagreeing} 行三方数据不一致（基数表、年报、系统）。",
                  {"rows": disagreeing}),) if disagreeing else ()
    return Table("comparison", "基数表、年报、系统数据三方对比", COLUMNS, tuple(rows), flags,
                 note="差异 = 前者 - 后者；空白表示该来源没有此数据（未知），不参与比较。")
