"""Closed vocabularies the contracts share: stages, reporting lines, statuses, reasons.

Values are English keys (they travel in JSON); `LABELS` gives the Chinese words the notice and
the national system use, for reports and pages.
"""

from __future__ import annotations

from enum import StrEnum


class Stage(StrEnum):
    KINDERGARTEN = "kindergarten"
    PRIMARY = "primary"
    JUNIOR = "junior"
    SENIOR = "senior"
    SPECIAL = "special"
    VOCATIONAL = "vocational"
    HIGHER = "higher"


class ReportingLine(StrEnum):
    COUNTY = "county"  # 县属
    CITY = "city"  # 市属
    PROVINCE = "province"  # 厅直属
    UNIVERSITY = "university"  # 高校 (incl. ministry-administered universities)


class Gender(StrEnum):
    MALE = "male"
    FEMALE = "female"


class PostStatus(StrEnum):
    IN_POST = "in_post"  # 在本单位任职: the only status that counts as staff
    NOT_IN_POST = "not_in_post"  # 不在本单位任职 (seconded out, long leave, ...)


class LeaveReason(StrEnum):
    RETIRED = "retired"
    RESIGNED = "resigned"
    DECEASED = "deceased"
    LEFT_PROVINCE = "left_province"


class ReviewLevel(StrEnum):
    SCHOOL = "school"
    COUNTY = "county"


class BaselineKind(StrEnum):
    ANNUAL = "annual"  # 年报: the annual statistical report
    BASE = "base"  # 基数表: the base table cities and counties report


_TABLES: dict[type[StrEnum], dict[str, str]] = {
    Stage: {
        Stage.KINDERGARTEN: "幼儿园", Stage.PRIMARY: "小学 (含教学点)", Stage.JUNIOR: "初中",
        Stage.SENIOR: "高中", Stage.SPECIAL: "特教", Stage.VOCATIONAL: "中职",
        Stage.HIGHER: "高教",
    },
    ReportingLine: {
        ReportingLine.COUNTY: "县属", ReportingLine.CITY: "市属",
        ReportingLine.PROVINCE: "厅直属", ReportingLine.UNIVERSITY: "高校",
    },
    Gender: {Gender.MALE: "男", Gender.FEMALE: "女"},
    PostStatus: {PostStatus.IN_POST: "在本单位任职", PostStatus.NOT_IN_POST: "不在本单位任职"},
    LeaveReason: {
        LeaveReason.RETIRED: "退休", LeaveReason.RESIGNED: "辞职", LeaveReason.DECEASED: "死亡",
        LeaveReason.LEFT_PROVINCE: "调出省外",
    },
    ReviewLevel: {ReviewLevel.SCHOOL: "学校审核", ReviewLevel.COUNTY: "县级审核"},
    BaselineKind: {BaselineKind.ANNUAL: "年报", BaselineKind.BASE: "基数表"},
}


def label(member: StrEnum) -> str:
    """The Chinese word for a vocabulary value. Looked up per enum: the same English value
    ("county") means different things in different vocabularies."""
    return _TABLES[type(member)][member]


# Values that are unique across the vocabularies, for lookups by plain string. ReviewLevel is
# left out on purpose: its "county" would shadow ReportingLine's.
LABELS: dict[str, str] = {
    k: v for enum in (Stage, ReportingLine, Gender, PostStatus, LeaveReason, BaselineKind)
    for k, v in _TABLES[enum].items()
}
