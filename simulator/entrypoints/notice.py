"""The demo's printout: reporting's stage table and findings, worded the way the notice
(甘教师〔2017〕5号) words them. Everything printed comes from reporting's JSON as of the
reference date (the pending restructurings: as of today, see verify.PENDING_NOTE); nothing here
counts.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from simulator.domain.findings import NOTICE_2017
from simulator.service_layer.verify import Verdict, headline, table

TITLE = "全国教师信息管理系统分学段数据录入情况统计表"
NOTES = ("注：（1）学校数查询条件为已录入教师信息的学校，未录入教师的 0 人学校不计数；",
         "（2）教职工查询条件为“在本单位任职”，人员状态为不在职的不计数。")


def width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, cells: int, right: bool = False) -> str:
    space = " " * max(0, cells - width(text))
    return space + text if right else text + space


def short_city(name: str) -> str:
    """甘南藏族自治州 -> 甘南州, as the notice writes it."""
    return name[:2] + "州" if name.endswith("自治州") else name


def _n(value: object) -> str:
    return "" if value is None else str(value)


def day_words(day: date) -> str:
    return f"{day.year} 年 {day.month} 月 {day.day} 日"


def stage_table(stages: Mapping[str, Any], day: date, year: int) -> list[str]:
    rows = table(stages, "stages")
    head = ["学段", f"学校数·{year}年报数", "学校数·系统录入数", f"教职工数·{year}年报数",
            "教职工数·系统录入数", f"专任教师数·{year}年报数", "专任教师数·系统录入数"]
    body: list[list[str]] = []
    for r in rows:
        schools_a, schools_e = _n(r.get("schools_annual")), _n(r.get("schools_entered"))
        if r.get("stage") == "primary":
            if r.get("teaching_points_annual") is not None:
                schools_a += f" (其中教学点{r['teaching_points_annual']}所)"
            if r.get("teaching_points_entered"):
                schools_e += f" (其中教学点{r['teaching_points_entered']}所)"
        if r.get("stage") != "total" and not any(
                r.get(c) for c in ("schools_annual", "schools_entered", "staff_annual",
                                   "staff_entered")):
            continue  # a stage the province does not have
        body.append([str(r.get("stage_name") or r.get("stage")), schools_a, schools_e,
                     _n(r.get("staff_annual")), _n(r.get("staff_entered")),
                     _n(r.get("fulltime_annual")), _n(r.get("fulltime_entered"))])
    cols = [max(width(row[i]) for row in [head, *body]) for i in range(len(head))]
    lines = [f"{TITLE}（截至 {day_words(day)}）", ""]
    lines.append("  ".join(pad(h, cols[i]) for i, h in enumerate(head)))
    lines.append("  ".join("-" * c for c in cols))
    for row in body:
        lines.append("  ".join(pad(v, cols[i], right=i > 0) for i, v in enumerate(row)))
    lines += ["", *NOTES]
    return lines


def findings_text(v: Verdict, day: date, year: int) -> list[str]:
    h = headline(v.findings)
    he = headline(v.findings_excluding) if v.findings_excluding else {}
    out = [
        "一、进展情况",
        f"据 {year} 年年报数据显示我省有各级各类学校 {_n(h.get('annual_schools'))} 所、教职工 "
        f"{_n(h.get('annual_staff'))} 人。截止 {day_words(day)}“全国教师管理信息系统”统计数据"
        f"显示，全省已录入学校（机构）数 {h.get('entered_schools')} 所、录入教师 "
        f"{h.get('entered_staff')} 人、审核完成教师数 {h.get('review_complete')} 人；学校录入率 "
        f"{_n(h.get('school_rate_notice'))}，教师录入率 {_n(h.get('staff_rate_notice'))}。",
        "",
        "二、存在的主要问题",
    ]
    missing = (f"与 {year} 年教育事业年报统计数据相比，教师管理信息系统尚有 "
               f"{_n(h.get('schools_missing'))} 所学校未录入教师数据，其中幼儿园数 "
               f"{_n(h.get('kindergartens_missing'))} 所")
    if he:
        names = "、".join(n for e in he.get("exclusions", []) for n in (e.get("names") or
                                                                       [e.get("requested")]))
        missing += (f"；{year} 年教育事业年报统计全省各类学校教职工总数为 "
                    f"{_n(he.get('annual_staff_excluding'))} 人（不包括{names}），"
                    f"但录入系统的教职工总数为 {_n(he.get('entered_staff_excluding'))} 人，差距 "
                    f"{_n(he.get('staff_gap_excluding'))} 人")
    out.append(missing + "。")
    cities = [short_city(r["city_name"]) for r in table(v.findings, "lowest_cities")]
    if cities:
        out.append(f"1、教师信息管理系统数据录入情况显示，录入率后{_count(len(cities))}位的市州为："
                   + "、".join(cities) + "。")
    counties = [r["county_name"] for r in table(v.findings, "kindergarten_gaps")]
    if counties:
        out.append("2、录入教师系统的幼儿园学校数及教师数与年报数据差距大。数据差距较大的县（区）有："
                   + "、".join(counties) + f"等 {len(counties)} 个县（区）。")
    zero = table(v.findings, "zero_but_expected")
    out += zero_schools(zero)
    flags = [f["message"] for f in v.findings.get("flags", []) if f.get("code") == "sum_mismatch"]
    if flags:
        out += ["", "数据不一致（报表标注，不作更正）："] + [f"  {m}" for m in flags]
    pending = {r["group"]: r["schools"] for r in table(v.findings_today,
                                                       "pending_restructurings")}
    if pending:
        out += ["", "学校（机构）设置问题：目前有幼儿园 "
                    f"{pending.get('kindergarten', 0)} 所、中职学校 "
                    f"{pending.get('vocational', 0)} 所、中小学校 "
                    f"{pending.get('primary_secondary', 0)} 所未完成撤并工作。"
                    "（已公布、未执行的撤并批次，按今日统计）"]
    return out


def zero_schools(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """The notice names the universities and secondary vocational schools among the schools
    with no teacher entered; the full list is reporting's."""
    higher = [r for r in rows if r.get("stage_name") in ("高教", "中职")]
    named = {n.name for n in NOTICE_2017.zero_teacher_schools}
    shown = [str(r["school_name"]) for r in higher if r.get("school_name") in named] or \
        [str(r["school_name"]) for r in higher[:7]]
    if not shown:
        return []
    return [f"3、学校录入教师数为 0 人的学校有：{'、'.join(shown)}等高校（中职学校）。"
            f"（年报有教职工、系统录入为 0 的学校共 {len(rows)} 所，"
            f"其中高校、中职 {len(higher)} 所，"
            "名单见报表“年报有教职工但系统录入为 0 的学校”）"]


def _count(n: int) -> str:
    return "一二三四五六七八九十"[n - 1] if 1 <= n <= 10 else str(n)


def timings_text(timings: Sequence[tuple[str, float]]) -> list[str]:
    out = ["各步骤用时："]
    total = 0.0
    for name, seconds in timings:
        total += seconds
        out.append(f"  {name:<16} {seconds:>9.1f} s")
    out.append(f"  {'total':<16} {total:>9.1f} s")
    return out
