"""The notice's named findings (shared/reference/notice_2017_findings.md) as data a plan must
reproduce when it simulates the notice's own table.

The stage table gives the counts; these give the shape behind them: which cities trail, which
counties' kindergartens are missing most staff, which schools entered nobody, how many records
finished review, which units the headline excludes, and the restructurings still pending.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.contracts.vocabulary import ReportingLine, Stage


@dataclass(frozen=True)
class NamedSchool:
    """A school the notice names, placed where such a school plausibly sits."""

    name: str
    stage: Stage
    county_code: str
    reporting_line: ReportingLine
    annual_staff: int | None = None  # fixed when the finding depends on it


@dataclass(frozen=True)
class NoticeFindings:
    # Cities with the lowest staff entry rate, lowest first (the notice's 后三位).
    lowest_cities: tuple[str, ...]
    # Counties with the largest kindergarten staff gap (annual - entered), largest first.
    kindergarten_gap_counties: tuple[str, ...]
    # Schools in the annual report with staff there and no teacher in post entered.
    zero_teacher_schools: tuple[NamedSchool, ...]
    # Units reporting to the ministry, excluded from the notice's staff headline.
    excluded_units: tuple[NamedSchool, ...]
    # Staff in the annual report without the excluded units (396745 - 6106).
    staff_excluding_units: int
    # Teachers in post whose review is complete (county approved).
    review_complete: int
    # Restructurings announced but not applied: stage group -> operations.
    pending_restructurings: tuple[tuple[tuple[Stage, ...], int], ...]
    # Figures the notice states that follow from the table; checked, not planned.
    schools_missing: int
    kindergartens_missing: int
    staff_gap: int


NOTICE_2017 = NoticeFindings(
    lowest_cities=("庆阳市", "兰州市", "甘南藏族自治州"),
    kindergarten_gap_counties=("城关区", "秦安县", "武山县", "崆峒区", "庄浪县", "静宁县",
                               "镇原县", "安定区", "岷县", "和政县"),
    zero_teacher_schools=(
        NamedSchool("甘肃信息工程技术中等专业学校", Stage.VOCATIONAL, "620102",
                    ReportingLine.PROVINCE),
        NamedSchool("甘肃省庆阳林业学校", Stage.VOCATIONAL, "621002", ReportingLine.PROVINCE),
        NamedSchool("甘肃省实验中等专业学校", Stage.VOCATIONAL, "620103",
                    ReportingLine.PROVINCE),
        NamedSchool("甘肃档案学校", Stage.VOCATIONAL, "620102", ReportingLine.PROVINCE),
        NamedSchool("甘肃省卫生学校", Stage.VOCATIONAL, "620105", ReportingLine.PROVINCE),
        NamedSchool("甘肃警察职业学院", Stage.HIGHER, "620103", ReportingLine.UNIVERSITY),
        NamedSchool("庆阳职业技术学院", Stage.HIGHER, "621002", ReportingLine.UNIVERSITY),
    ),
    excluded_units=(
        NamedSchool("兰州大学", Stage.HIGHER, "620102", ReportingLine.UNIVERSITY, 3992),
        NamedSchool("西北民族大学", Stage.HIGHER, "620102", ReportingLine.UNIVERSITY, 2114),
    ),
    staff_excluding_units=390639,
    review_complete=344711,
    pending_restructurings=(
        ((Stage.KINDERGARTEN,), 249),
        ((Stage.VOCATIONAL,), 9),
        ((Stage.PRIMARY, Stage.JUNIOR, Stage.SENIOR), 136),
    ),
    schools_missing=4129,
    kindergartens_missing=3428,
    staff_gap=25487,
)
