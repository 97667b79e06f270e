"""The teacher information confirmation (教师信息确认表, annex 1): each school exports its table,
teacher, school administrator and school head sign it, and the school records its return.

`decide_export` / `decide_return` return the events; `confirmation_tables` builds the annex-1
statistics: per city, county and school, how many schools and teachers are confirmed. A teacher
is confirmed when they are counted staff of the school as of the cut-off and were on the latest
table that came back signed; a school is confirmed when all its counted staff are.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from services.reporting.domain.facts import SchoolFacts, Snapshot
from services.reporting.domain.regions import CONFIRMATION_LABELS, confirmation_status
from services.reporting.domain.tables import Column, Table
from shared.contracts.events import ConfirmationTableExported, ConfirmationTableReturned
from shared.domain.divisions import Divisions
from shared.errors import Conflict, Problem, ValidationProblem

FORMATS = ("xlsx", "pdf")


def decide_export(school_code: str, teacher_ids: Sequence[str], fmt: str
                  ) -> ConfirmationTableExported:
    if fmt not in FORMATS:
        raise ValidationProblem([Problem("format", f"format must be one of {FORMATS}")])
    return ConfirmationTableExported(school_code=school_code, teacher_ids=tuple(teacher_ids),
                                     format=fmt)


def decide_return(school_code: str, exported: Sequence[str] | None,
                  teacher_ids: Sequence[str] | None, signed: bool) -> ConfirmationTableReturned:
    """The table came back. Without an explicit list it covers the last exported table; a list
    must be a subset of what was exported (one cannot sign a table one never had)."""
    if exported is None:
        raise Conflict(f"school {school_code} has not exported its confirmation table yet "
                       "(学校尚未导出教师信息确认表)")
    ids = tuple(teacher_ids) if teacher_ids is not None else tuple(exported)
    unknown = sorted(set(ids) - set(exported))
    if unknown:
        raise ValidationProblem([Problem("teacher_ids", f"not on the exported table: "
                                                        f"{', '.join(unknown[:10])}")])
    return ConfirmationTableReturned(school_code=school_code, teacher_ids=ids, signed=signed)


@dataclass
class _Tally:
    schools: int = 0
    exported: int = 0
    confirmed_schools: int = 0
    teachers: int = 0
    confirmed_teachers: int = 0

    def add(self, snapshot: Snapshot, s: SchoolFacts) -> None:
        if not s.entered:
            return
        self.schools += 1
        self.teachers += s.staff
        status = confirmation_status(snapshot, s.code)
        if status != "none":
            self.exported += 1
        confirmed = snapshot.confirmed_counted.get(s.code, 0)
        self.confirmed_teachers += confirmed
        if status == "signed" and confirmed >= s.staff:
            self.confirmed_schools += 1

    def row(self) -> dict[str, Any]:
        return {"schools": self.schools, "exported_schools": self.exported,
                "confirmed_schools": self.confirmed_schools, "teachers": self.teachers,
                "confirmed_teachers": self.confirmed_teachers,
                "teacher_rate": self.confirmed_teachers / self.teachers if self.teachers
                else None}


_TALLY_COLUMNS = (Column("schools", "已录入学校数", "int"),
                  Column("exported_schools", "已导出学校数", "int"),
                  Column("confirmed_schools", "已签字确认学校数", "int"),
                  Column("teachers", "录入教职工数", "int"),
                  Column("confirmed_teachers", "已确认教职工数", "int"),
                  Column("teacher_rate", "确认率", "rate"))


def confirmation_tables(snapshot: Snapshot, divisions: Divisions,
                        schools: Iterable[SchoolFacts]) -> tuple[Table, Table, Table]:
    schools = [s for s in schools if s.open]
    by_city: dict[str, _Tally] = defaultdict(_Tally)
    by_county: dict[str, _Tally] = defaultdict(_Tally)
    school_rows = []
    for s in sorted(schools, key=lambda s: (s.county_code or "", s.code)):
        by_city[s.city_code or ""].add(snapshot, s)
        by_county[s.county_code or ""].add(snapshot, s)
        conf = snapshot.confirmations.get(s.code)
        status = confirmation_status(snapshot, s.code)
        confirmed = snapshot.confirmed_counted.get(s.code, 0)
        school_rows.append({
            "school_code": s.code, "school_name": s.name, "county_code": s.county_code,
            "staff": s.staff, "status": status, "status_name": CONFIRMATION_LABELS[status],
            "exported_at": conf.exported_at.isoformat() if conf and conf.exported_at else None,
            "returned_at": conf.returned_at.isoformat() if conf and conf.returned_at else None,
            "confirmed_teachers": confirmed, "unconfirmed_teachers": max(0, s.staff - confirmed),
        })
    city_rows = [{"city_code": c, "city_name": divisions.cities.get(c, c), **t.row()}
                 for c, t in sorted(by_city.items())]
    county_rows = []
    for c, t in sorted(by_county.items()):
        county = divisions.county(c)
        county_rows.append({"county_code": c, "county_name": county.name if county else c,
                            "city_name": county.city_name if county else None, **t.row()})
    return (
        Table("confirmation_cities", "教师系统信息审核确认情况统计表（市州）",
              (Column("city_name", "市州"), *_TALLY_COLUMNS), tuple(city_rows)),
        Table("confirmation_counties", "教师系统信息审核确认情况统计表（县区）",
              (Column("county_name", "县区"), Column("city_name", "市州"), *_TALLY_COLUMNS),
              tuple(county_rows)),
        Table("confirmation_schools", "各学校教师信息确认表导出与签字情况",
              (Column("school_code", "学校代码"), Column("school_name", "学校"),
               Column("staff", "教职工", "int"), Column("status_name", "状态"),
               Column("confirmed_teachers", "已确认", "int"),
               Column("unconfirmed_teachers", "未确认", "int"),
               Column("returned_at", "返回时间")), tuple(school_rows)),
    )
