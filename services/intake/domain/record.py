"""The teacher record as a school enters it: the national core information set and its rules.

`PersonRecord` holds the full record including the national ID number; it never leaves intake.
`public()` gives the contract's TeacherRecord, which carries only the masked number.

Required fields (the national system's core set): name, id_number, gender, birth_date,
ethnicity, post_status, is_fulltime_teacher, hire_date. Optional: political_status,
stage_taught, highest_education, professional_title, teacher_qualification. Completeness is
the share of all 13 fields that are filled.

`check_record` returns every rule a record breaks, each as a Problem whose loc is the bare
field name; callers prefix it ("record.birth_date") or translate it (a column header).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from datetime import date
from typing import Any

from shared.contracts.events import TeacherRecord
from shared.contracts.vocabulary import Gender, PostStatus, Stage
from shared.domain.idnumber import InvalidIdNumber, mask, normalise, parse_id_number
from shared.errors import Problem

REQUIRED_FIELDS: tuple[str, ...] = (
    "name", "id_number", "gender", "birth_date", "ethnicity", "post_status",
    "is_fulltime_teacher", "hire_date",
)
OPTIONAL_FIELDS: tuple[str, ...] = (
    "political_status", "stage_taught", "highest_education", "professional_title",
    "teacher_qualification",
)
ALL_FIELDS: tuple[str, ...] = REQUIRED_FIELDS + OPTIONAL_FIELDS

MIN_AGE, MAX_AGE, MIN_HIRE_AGE = 16, 80, 18

ID_SHAPE = re.compile(r"^[0-9]{17}[0-9X]$")

# GB/T 3304: the 56 ethnic groups, plus the standard's two residual codes.
ETHNIC_GROUPS: frozenset[str] = frozenset(
    f"{name}族" for name in (
        "汉 蒙古 回 藏 维吾尔 苗 彝 壮 布依 朝鲜 满 侗 瑶 白 土家 哈尼 哈萨克 傣 黎 "
        "傈僳 佤 畲 高山 拉祜 水 东乡 纳西 景颇 柯尔克孜 土 达斡尔 仫佬 羌 布朗 撒拉 "
        "毛南 仡佬 锡伯 阿昌 普米 塔吉克 怒 乌孜别克 俄罗斯 鄂温克 德昂 保安 裕固 京 "
        "塔塔尔 独龙 鄂伦春 赫哲 门巴 珞巴 基诺"
    ).split()
) | {"其他", "外国血统中国籍人士"}


@dataclass(frozen=True)
class PersonRecord:
    """One teacher's record with the unmasked ID number (intake-private)."""

    name: str
    id_number: str
    gender: Gender
    birth_date: date
    ethnicity: str
    post_status: PostStatus
    is_fulltime_teacher: bool
    hire_date: date | None
    political_status: str | None = None
    stage_taught: Stage | None = None
    highest_education: str | None = None
    professional_title: str | None = None
    teacher_qualification: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "id_number", normalise(self.id_number))
        object.__setattr__(self, "ethnicity", normal_ethnicity(self.ethnicity))

    @property
    def completeness(self) -> float:
        filled = sum(1 for f in ALL_FIELDS if getattr(self, f) not in (None, ""))
        return round(filled / len(ALL_FIELDS), 4)

    def public(self) -> TeacherRecord:
        """The record as events carry it: the ID number masked."""
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "id_number"}
        return TeacherRecord(id_number_masked=mask(self.id_number), **values)

    def with_changes(self, changes: dict[str, Any]) -> PersonRecord:
        return replace(self, **changes)

    @classmethod
    def from_public(cls, record: TeacherRecord, id_number: str) -> PersonRecord:
        values = record.model_dump(exclude={"id_number_masked"})
        return cls(id_number=id_number, **values)


def normal_ethnicity(raw: str) -> str:
    """'汉' and '汉族' are the same group; the stored form is the standard's name."""
    text = raw.strip()
    if text and text not in ETHNIC_GROUPS and f"{text}族" in ETHNIC_GROUPS:
        return f"{text}族"
    return text


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year + years, day=28)


def check_id_number(raw: str) -> tuple[Problem | None, Any]:
    """(problem, None) for a broken number, else (None, IdFacts)."""
    s = normalise(raw)
    if not ID_SHAPE.match(s):
        return Problem("id_number", "must be 18 characters: 17 digits then a digit or X "
                                    "(身份证号应为18位)"), None
    try:
        return None, parse_id_number(s)
    except InvalidIdNumber as exc:
        return Problem("id_number", f"invalid ID number: {exc} (身份证号无效)"), None


def check_record(rec: PersonRecord, today: date) -> list[Problem]:
    """Every rule the record breaks; empty when it is valid."""
    problems: list[Problem] = []
    if not rec.name.strip():
        problems.append(Problem("name", "is required (姓名必填)"))
    id_problem, facts = check_id_number(rec.id_number)
    if id_problem:
        problems.append(id_problem)
    else:
        if facts.birth_date != rec.birth_date:
            problems.append(Problem(
                "birth_date", f"{rec.birth_date.isoformat()} disagrees with the ID number's "
                              f"{facts.birth_date.isoformat()} (出生日期与身份证号不一致)"))
        if facts.gender != rec.gender:
            problems.append(Problem(
                "gender", f"{rec.gender} disagrees with the ID number, which says "
                          f"{facts.gender} (性别与身份证号不一致)"))
    age = age_on(rec.birth_date, today)
    if rec.birth_date > today or not MIN_AGE <= age <= MAX_AGE:
        problems.append(Problem(
            "birth_date", f"gives an age of {age}; a teacher is {MIN_AGE} to {MAX_AGE} "
                          f"(年龄应在{MIN_AGE}至{MAX_AGE}岁之间)"))
        return problems + _check_text(rec)  # hire-date rules need a plausible birth date
    problems += _check_text(rec)
    if rec.hire_date is None:
        problems.append(Problem("hire_date", "is required (参加工作日期必填)"))
    elif rec.hire_date > today:
        problems.append(Problem("hire_date", f"{rec.hire_date.isoformat()} is in the future "
                                             "(参加工作日期不能晚于今天)"))
    elif rec.hire_date < add_years(rec.birth_date, MIN_HIRE_AGE):
        problems.append(Problem(
            "hire_date", f"{rec.hire_date.isoformat()} is before the 18th birthday "
                         f"({add_years(rec.birth_date, MIN_HIRE_AGE).isoformat()}) "
                         "(参加工作时未满18周岁)"))
    return problems


def _check_text(rec: PersonRecord) -> list[Problem]:
    if rec.ethnicity in ETHNIC_GROUPS:
        return []
    return [Problem("ethnicity", f"{rec.ethnicity!r} is not an ethnic group of GB/T 3304, e.g. "
                                 "汉族, 回族, 藏族, 东乡族 (民族名称不规范)")]


def prefixed(problems: list[Problem], prefix: str) -> list[Problem]:
    """The same problems with their loc under `prefix` (e.g. 'record')."""
    return [Problem(f"{prefix}.{p.loc}" if prefix else p.loc, p.msg, p.row) for p in problems]


def changed_fields(before: PersonRecord, after: PersonRecord) -> tuple[str, ...]:
    return tuple(f for f in ALL_FIELDS if getattr(before, f) != getattr(after, f))
