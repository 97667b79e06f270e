"""The notice's findings, computed: the province headline, the cities with the lowest entry
rates, the counties with the largest kindergarten gaps, schools with no teacher entered (and
which of them the annual report expects teachers at), review completion, record completeness,
restructurings not yet applied, staff excluding named units, and the headline in the notice's
own wording (rates truncated to whole percent).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from services.reporting.domain.counting import gap, notice_percent, rate
from services.reporting.domain.facts import Snapshot
from services.reporting.domain.figures import StageFigures, school_figures
from services.reporting.domain.regions import RegionInputs
from services.reporting.domain.scope import Exclusion
from services.reporting.domain.stages import stage_label
from services.reporting.domain.tables import Column, Flag, Table
from shared.domain.divisions import Divisions

# The notice groups unfinished restructurings (撤并) as kindergartens, secondary vocational
# schools and primary and middle schools (中小学校).
RESTRUCTURING_GROUPS = {"kindergarten": "幼儿园", "vocational": "中职学校",
                        "primary_secondary": "中小学校", "other": "其他"}
_GROUP_OF_STAGE = {"kindergarten": "kindergarten", "vocational": "vocational",
                   "primary": "primary_secondary", "junior": "primary_secondary",
                   "senior": "primary_secondary"}
RESTRUCTURING_OPS = ("merge", "close")  # 撤并


@dataclass(frozen=True)
class FindingsParams:
    lowest_cities: int = 3
    kindergarten_counties: int = 10
    zero_school_limit: int | None = None


def headline(snapshot: Snapshot, stages: StageFigures, exclusions: Sequence[Exclusion],
             annual_before_exclusion: StageFigures | None = None) -> dict[str, Any]:
    entered = [s for s in snapshot.schools if s.entered]
    staff = sum(s.staff for s in entered)
    schools = len(entered)
    annual_schools, annual_staff = stages.total.schools, stages.total.staff
    kg_annual = stages.per_stage.get("kindergarten")
    kg_entered = sum(1 for s in entered if s.stage == "kindergarten")
    out: dict[str, Any] = {
        "annual_schools": annual_schools, "annual_staff": annual_staff,
        "annual_fulltime": stages.total.fulltime,
        "entered_schools": schools, "entered_staff": staff,
        "entered_fulltime": sum(s.fulltime for s in entered),
        "review_complete": sum(s.reviewed for s in entered),
        "school_rate": rate(schools, annual_schools), "staff_rate": rate(staff, annual_staff),
        "school_rate_notice": notice_percent(schools, annual_schools),
        "staff_rate_notice": notice_percent(staff, annual_staff),
        "schools_missing": gap(annual_schools, schools),
        "kindergartens_missing": gap(kg_annual.schools if kg_annual else None, kg_entered),
        "completeness_avg": (sum(s.completeness_sum for s in entered) / staff) if staff else None,
        "registered_open_schools": sum(1 for s in snapshot.schools if s.open),
    }
    if exclusions:
        before = annual_before_exclusion.total.staff if annual_before_exclusion else None
        unknown = [e.requested for e in exclusions if e.annual_staff is None]
        out["exclusions"] = [{"requested": e.requested, "codes": list(e.matched_codes),
                              "names": list(e.names), "annual_staff": e.annual_staff,
                              "system_staff": e.system_staff, "found": e.found}
                             for e in exclusions]
        out["annual_staff_including_excluded"] = before
        out["annual_staff_excluding"] = annual_staff
        out["entered_staff_excluding"] = staff
        out["staff_gap_excluding"] = gap(annual_staff, staff)
        out["exclusions_unknown"] = unknown
    return out


def lowest_cities(inputs: RegionInputs, divisions: Divisions, n: int) -> Table:
    rows = []
    for code, name in divisions.cities.items():
        annual = inputs.annual.city.get(code)
        c = inputs.cities.get(code)
        entered = c.staff if c else 0
        r = rate(entered, annual.staff if annual else None)
        if r is None:
            continue
        rows.append({"city_code": code, "city_name": name, "staff_annual": annual.staff
                     if annual else None, "staff_entered": entered, "staff_rate": r,
                     "staff_rate_notice": notice_percent(entered, annual.staff if annual
                                                         else None)})
    rows.sort(key=lambda r: (r["staff_rate"], r["city_code"]))
    return Table("lowest_cities", f"录入率后 {n} 位的市州", (
        Column("city_name", "市州"), Column("staff_annual", "教职工·年报", "int"),
        Column("staff_entered", "教职工·系统", "int"), Column("staff_rate", "录入率", "rate")),
        tuple(rows[:n]), note="按教职工录入率（系统录入数 / 年报数）由低到高排列。")


def kindergarten_gaps(inputs: RegionInputs, divisions: Divisions, n: int) -> Table:
    rows = []
    for code, kg in inputs.annual.county_kindergarten.items():
        c = inputs.counties.get(code)
        staff_gap = gap(kg.staff, c.kg_staff if c else 0)
        schools_gap = gap(kg.schools, c.kg_schools if c else 0)
        if staff_gap is None and schools_gap is None:
            continue
        county = divisions.county(code)
        rows.append({"county_code": code, "county_name": county.name if county else code,
                     "city_name": county.city_name if county else None,
                     "kg_schools_annual": kg.schools, "kg_schools_entered": c.kg_schools if c
                     else 0, "kg_schools_gap": schools_gap, "kg_staff_annual": kg.staff,
                     "kg_staff_entered": c.kg_staff if c else 0, "kg_staff_gap": staff_gap})
    rows.sort(key=_largest_gap_first)
    return Table("kindergarten_gaps", f"幼儿园数据差距最大的 {n} 个县区", (
        Column("county_name", "县区"), Column("city_name", "市州"),
        Column("kg_schools_annual", "幼儿园·年报", "int"),
        Column("kg_schools_entered", "幼儿园·系统", "int"),
        Column("kg_staff_annual", "幼儿园教职工·年报", "int"),
        Column("kg_staff_entered", "幼儿园教职工·系统", "int"),
        Column("kg_staff_gap", "教职工差距", "int"), Column("kg_schools_gap", "学校差距", "int")),
        tuple(rows[:n]), note="按幼儿园教职工差距（年报 - 系统）排序，差距相同时按幼儿园数差距。")


def _largest_gap_first(row: dict[str, Any]) -> tuple[int, int, str]:
    unknown = -(10**9)  # an unknown gap ranks last
    staff = row["kg_staff_gap"] if row["kg_staff_gap"] is not None else unknown
    schools = row["kg_schools_gap"] if row["kg_schools_gap"] is not None else unknown
    return (-staff, -schools, str(row["county_code"]))


def zero_teacher_schools(snapshot: Snapshot, divisions: Divisions,
                         limit: int | None = None) -> tuple[Table, Table]:
    """Open schools with no counted teacher, and the schools the annual report expects
    teachers at (annual staff > 0) that have none in the system (registered or not)."""
    annual = school_figures(snapshot.baselines, "annual")
    facts = snapshot.by_code()
    zero = [s for s in snapshot.schools if s.open and s.staff == 0]
    zero.sort(key=lambda s: (s.county_code or "", s.code))
    rows = []
    for s in zero:
        a = annual.get(s.code)
        county = divisions.county(s.county_code or "")
        rows.append({"school_code": s.code, "school_name": s.name,
                     "county_name": county.name if county else None,
                     "city_name": county.city_name if county else None,
                     "stage_name": stage_label(s.stage), "registered": True,
                     "staff_annual": a.staff if a else None,
                     "annual_expects_teachers": bool(a and a.staff)})
    expected = [r for r in rows if r["annual_expects_teachers"]]
    for code, a in sorted(annual.items()):
        if code not in facts and a.staff:
            expected.append({"school_code": code, "school_name": a.name, "county_name": None,
                             "city_name": None, "stage_name": stage_label(a.stage),
                             "registered": False, "staff_annual": a.staff,
                             "annual_expects_teachers": True})
    columns = (Column("school_code", "学校代码"), Column("school_name", "学校"),
               Column("county_name", "县区"), Column("stage_name", "学段"),
               Column("staff_annual", "教职工·年报", "int"), Column("registered", "系统已登记"))
    shown = rows if limit is None else rows[:limit]
    return (Table("zero_teacher_schools", f"录入教师数为 0 的学校（共 {len(rows)} 所）", columns,
                  tuple(shown)),
            Table("zero_but_expected",
                  f"年报有教职工但系统录入为 0 的学校（共 {len(expected)} 所）",
                  columns, tuple(expected)))


def pending_restructurings(snapshot: Snapshot) -> Table:
    by_group: Counter[str] = Counter()
    by_op: Counter[str] = Counter()
    facts = snapshot.by_code()
    for op in snapshot.pending:
        by_op[op.op] += 1
        if op.op not in RESTRUCTURING_OPS:
            continue
        stage = op.stage or (facts[op.school_code].stage if op.school_code in facts else None)
        by_group[_GROUP_OF_STAGE.get(stage or "", "other")] += 1
    rows = [{"group": g, "group_name": label, "schools": by_group.get(g, 0)}
            for g, label in RESTRUCTURING_GROUPS.items()]
    return Table("pending_restructurings", "尚未完成撤并的学校", (
        Column("group_name", "类别"), Column("schools", "学校数", "int")), tuple(rows),
        note="已公布但尚未执行的撤并（合并、撤销）操作，按学校学段归类。其他未执行操作："
             + ("，".join(f"{k} {v}" for k, v in sorted(by_op.items())
                         if k not in RESTRUCTURING_OPS) or "无") + "。")


def data_issue_flags(snapshot: Snapshot) -> tuple[Flag, ...]:
    flags = []
    unknown = snapshot.staff_at_unknown_schools
    if unknown:
        flags.append(Flag("teachers_at_unregistered_schools",
                          f"{sum(unknown.values())} 名在职教职工所在学校未在系统登记，未计入统计。",
                          {"schools": dict(sorted(unknown.items())[:50])}))
    closed = snapshot.staff_at_closed_schools
    if closed:
        flags.append(Flag("teachers_at_closed_schools",
                          f"{sum(closed.values())} 名在职教职工仍挂在已撤销的学校，未计入统计。",
                          {"schools": dict(sorted(closed.items())[:50])}))
    return tuple(flags)


def notice_text(h: dict[str, Any], year: int | None, as_of_label: str,
                lowest: Table, kg: Table, zero_expected: Table, pending: Table) -> list[str]:
    """The findings in the notice's own words (rates truncated as the notice does)."""
    def n(v: Any) -> str:
        return "—" if v is None else str(v)

    y = n(year)
    paras = [
        f"据 {y} 年年报数据显示，有各级各类学校 {n(h['annual_schools'])} 所、教职工 "
        f"{n(h['annual_staff'])} 人。截止 {as_of_label}，系统统计数据显示，已录入学校（机构）数 "
        f"{h['entered_schools']} 所、录入教师 {h['entered_staff']} 人、审核完成教师数 "
        f"{h['review_complete']} 人；学校录入率 {n(h['school_rate_notice'])}，教师录入率 "
        f"{n(h['staff_rate_notice'])}。",
        f"与 {y} 年年报统计数据相比，尚有 {n(h['schools_missing'])} 所学校未录入教师数据，"
        f"其中幼儿园 {n(h['kindergartens_missing'])} 所。",
    ]
    if "exclusions" in h:
        names = "、".join(x for e in h["exclusions"] for x in (e["names"] or [e["requested"]]))
        paras.append(f"{y} 年年报统计各类学校教职工总数为 {n(h['annual_staff_excluding'])} 人"
                     f"（不包括{names}），录入系统的教职工总数为 "
                     f"{h['entered_staff_excluding']} 人，"
                     f"差距 {n(h['staff_gap_excluding'])} 人。")
    if lowest.rows:
        paras.append("录入率后" + str(len(lowest.rows)) + "位的市州为："
                     + "、".join(r["city_name"] for r in lowest.rows) + "。")
    if kg.rows:
        paras.append("录入系统的幼儿园学校数及教师数与年报数据差距较大的县（区）有："
                     + "、".join(r["county_name"] for r in kg.rows)
                     + f"等 {len(kg.rows)} 个县（区）。")
    if zero_expected.rows:
        shown = [str(r["school_name"] or r["school_code"]) for r in zero_expected.rows[:20]]
        more = "等" if len(zero_expected.rows) > 20 else ""
        paras.append("学校录入教师数为 0 人的学校有：" + "、".join(shown) + more + "。")
    p = {r["group"]: r["schools"] for r in pending.rows}
    paras.append(f"目前有幼儿园 {p['kindergarten']} 所、中职学校 {p['vocational']} 所、中小学校 "
                 f"{p['primary_secondary']} 所未完成撤并工作。")
    return paras
