"""Region tables (the notice's annex 2): per city, per county, per school — annual report vs
system schools and staff, entry rates, gaps, base table figures, and the city's completeness
sign-off of each county.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from services.reporting.domain.counting import gap, notice_percent, rate
from services.reporting.domain.facts import SchoolFacts, Snapshot
from services.reporting.domain.figures import (
    Adjustment,
    Figures,
    RegionFigures,
    region_figures,
    school_figures,
)
from services.reporting.domain.stages import stage_label
from services.reporting.domain.tables import Column, Flag, Table
from shared.contracts.vocabulary import Stage
from shared.domain.divisions import Divisions


@dataclass
class Counts:
    schools: int = 0
    staff: int = 0
    fulltime: int = 0
    reviewed: int = 0
    completeness_sum: float = 0.0
    registered_open: int = 0
    kg_schools: int = 0
    kg_staff: int = 0

    def add(self, s: SchoolFacts) -> None:
        if not s.open:
            return
        self.registered_open += 1
        if not s.entered:
            return
        self.schools += 1
        self.staff += s.staff
        self.fulltime += s.fulltime
        self.reviewed += s.reviewed
        self.completeness_sum += s.completeness_sum
        if s.stage == Stage.KINDERGARTEN:
            self.kg_schools += 1
            self.kg_staff += s.staff

    @property
    def completeness_avg(self) -> float | None:
        return self.completeness_sum / self.staff if self.staff else None


def counts_by(schools: Iterable[SchoolFacts], key: str) -> dict[str, Counts]:
    out: dict[str, Counts] = defaultdict(Counts)
    for s in schools:
        k = getattr(s, key)
        if k:
            out[k].add(s)
    return out


_REGION_COLUMNS = (
    Column("schools_annual", "学校数·年报", "int"), Column("schools_entered", "学校数·系统", "int"),
    Column("school_rate", "学校录入率", "rate"), Column("schools_gap", "学校差距", "int"),
    Column("staff_annual", "教职工·年报", "int"), Column("staff_entered", "教职工·系统", "int"),
    Column("staff_rate", "教职工录入率", "rate"), Column("staff_gap", "教职工差距", "int"),
    Column("schools_base", "学校数·基数表", "int"), Column("staff_base", "教职工·基数表", "int"),
    Column("fulltime_entered", "专任教师·系统", "int"),
    Column("review_complete", "审核完成", "int"),
    Column("completeness_avg", "平均完整率", "rate"),
)


def _measures(annual: Figures, base: Figures, c: Counts) -> dict[str, Any]:
    return {
        "schools_annual": annual.schools, "schools_entered": c.schools,
        "school_rate": rate(c.schools, annual.schools),
        "school_rate_notice": notice_percent(c.schools, annual.schools),
        "schools_gap": gap(annual.schools, c.schools),
        "staff_annual": annual.staff, "staff_entered": c.staff,
        "staff_rate": rate(c.staff, annual.staff),
        "staff_rate_notice": notice_percent(c.staff, annual.staff),
        "staff_gap": gap(annual.staff, c.staff),
        "schools_base": base.schools, "staff_base": base.staff,
        "fulltime_entered": c.fulltime, "review_complete": c.reviewed,
        "completeness_avg": c.completeness_avg,
    }


@dataclass(frozen=True)
class RegionInputs:
    annual: RegionFigures
    base: RegionFigures
    cities: dict[str, Counts]
    counties: dict[str, Counts]


def region_inputs(snapshot: Snapshot, divisions: Divisions,
                  adjustments: Sequence[Adjustment] = ()) -> RegionInputs:
    facts = snapshot.by_code()
    city_of = {c.code: c.city_code for c in divisions.counties.values()}
    return RegionInputs(
        annual=region_figures(snapshot.baselines, "annual", facts, city_of, adjustments),
        base=region_figures(snapshot.baselines, "base", facts, city_of),
        cities=counts_by(snapshot.schools, "city_code"),
        counties=counts_by(snapshot.schools, "county_code"))


def city_table(snapshot: Snapshot, divisions: Divisions, inputs: RegionInputs,
               cities: Iterable[str]) -> Table:
    rows = []
    for code in cities:
        counties = divisions.counties_of(code)
        signed = [snapshot.signoffs[c.code] for c in counties if c.code in snapshot.signoffs]
        rows.append({
            "city_code": code, "city_name": divisions.cities.get(code, code),
            **_measures(inputs.annual.city.get(code, Figures()),
                        inputs.base.city.get(code, Figures()),
                        inputs.cities.get(code, Counts())),
            "counties": len(counties), "counties_signed_off": len(signed),
            "counties_disagreeing": sum(1 for s in signed if not s.agrees),
        })
    columns = (Column("city_code", "市州代码"), Column("city_name", "市州"), *_REGION_COLUMNS,
               Column("counties_signed_off", "已确认县区数", "int"),
               Column("counties_disagreeing", "不一致县区数", "int"))
    return Table("cities", "分市州录入数据与年报数据对比", columns, tuple(rows),
                 _source_flags(inputs), note=_source_note(inputs))


def county_table(snapshot: Snapshot, divisions: Divisions, inputs: RegionInputs,
                 counties: Iterable[str]) -> Table:
    rows = []
    for code in counties:
        county = divisions.county(code)
        c = inputs.counties.get(code, Counts())
        kg = inputs.annual.county_kindergarten.get(code, Figures())
        s = snapshot.signoffs.get(code)
        rows.append({
            "county_code": code, "county_name": county.name if county else code,
            "city_code": county.city_code if county else None,
            "city_name": county.city_name if county else None,
            **_measures(inputs.annual.county.get(code, Figures()),
                        inputs.base.county.get(code, Figures()), c),
            "kg_schools_annual": kg.schools, "kg_schools_entered": c.kg_schools,
            "kg_schools_gap": gap(kg.schools, c.kg_schools),
            "kg_staff_annual": kg.staff, "kg_staff_entered": c.kg_staff,
            "kg_staff_gap": gap(kg.staff, c.kg_staff),
            "signoff": None if s is None else ("一致" if s.agrees else "不一致"),
            "signoff_at": s.occurred_at.isoformat() if s else None,
            "signoff_by": s.actor if s else None,
            "signoff_explanation": s.explanation if s else None,
        })
    columns = (Column("county_code", "县区代码"), Column("county_name", "县区"),
               Column("city_name", "市州"), *_REGION_COLUMNS,
               Column("kg_schools_annual", "幼儿园·年报", "int"),
               Column("kg_schools_entered", "幼儿园·系统", "int"),
               Column("kg_staff_annual", "幼儿园教职工·年报", "int"),
               Column("kg_staff_entered", "幼儿园教职工·系统", "int"),
               Column("signoff", "市级完整性确认"), Column("signoff_explanation", "说明"))
    return Table("counties", "分县区录入数据与年报数据对比", columns, tuple(rows),
                 _source_flags(inputs), note=_source_note(inputs))


def school_table(snapshot: Snapshot, schools: Iterable[SchoolFacts],
                 divisions: Divisions) -> Table:
    annual = school_figures(snapshot.baselines, "annual")
    base = school_figures(snapshot.baselines, "base")
    rows = []
    for s in schools:
        a, b = annual.get(s.code), base.get(s.code)
        county = divisions.county(s.county_code or "")
        conf = snapshot.confirmations.get(s.code)
        rows.append({
            "school_code": s.code, "school_name": s.name,
            "county_code": s.county_code, "county_name": county.name if county else None,
            "city_name": county.city_name if county else None,
            "stage": s.stage, "stage_name": stage_label(s.stage),
            "is_teaching_point": s.is_teaching_point, "open": s.open,
            "staff_annual": a.staff if a else None, "staff_base": b.staff if b else None,
            "staff_entered": s.staff, "fulltime_entered": s.fulltime,
            "staff_gap": gap(a.staff if a else None, s.staff),
            "entered": s.entered, "review_complete": s.reviewed,
            "completeness_avg": s.completeness_sum / s.staff if s.staff else None,
            "confirmation": confirmation_status(snapshot, s.code),
            "confirmed_teachers": snapshot.confirmed_counted.get(s.code, 0),
            "confirmation_returned_at": conf.returned_at.isoformat()
            if conf and conf.returned_at else None,
        })
    columns = (Column("school_code", "学校代码"), Column("school_name", "学校"),
               Column("county_name", "县区"), Column("stage_name", "学段"),
               Column("staff_annual", "教职工·年报", "int"),
               Column("staff_entered", "教职工·系统", "int"), Column("staff_gap", "差距", "int"),
               Column("fulltime_entered", "专任教师·系统", "int"),
               Column("review_complete", "审核完成", "int"),
               Column("completeness_avg", "平均完整率", "rate"),
               Column("confirmation", "信息确认"))
    return Table("schools", "分学校录入数据与年报数据对比", columns, tuple(rows))


CONFIRMATION_LABELS = {"none": "未导出", "exported": "已导出未返回",
                       "returned_unsigned": "返回未签字", "signed": "已签字确认"}


def confirmation_status(snapshot: Snapshot, school_code: str) -> str:
    conf = snapshot.confirmations.get(school_code)
    if conf is None or (conf.exported_at is None and conf.returned_at is None):
        return "none"
    if conf.returned_at is None:
        return "exported"
    return "signed" if conf.signed else "returned_unsigned"


def _source_note(inputs: RegionInputs) -> str:
    names = {"county": "县区级年报数据", "school": "学校级年报数据（按系统中学校所属县区汇总）"}
    src = inputs.annual.source
    if src is None:
        return "没有导入县区级或学校级年报数据：年报列为空。"
    return f"年报数据来源：{names[src]}。"


def _source_flags(inputs: RegionInputs) -> tuple[Flag, ...]:
    flags = []
    if inputs.annual.unplaced:
        flags.append(Flag("unplaced", f"学校级年报中有 {len(inputs.annual.unplaced)} 所学校在系统中"
                                      "没有登记，无法归入县区。",
                          {"school_codes": list(inputs.annual.unplaced[:50])}))
    return tuple(flags)
