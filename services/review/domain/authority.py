"""Who reviews a record after the school: the bureau of the school's reporting line (隶属关系).

县属 schools are reviewed by their county; 市属 schools by their city; 厅直属 schools and
universities by the province. The second review level keeps its name (ReviewLevel.COUNTY,
"县级审核") in events and queues: it is the level after the school, whoever holds it.
"""

from __future__ import annotations

from shared.auth import Role
from shared.contracts.vocabulary import ReportingLine

SECOND_LEVEL_REVIEWER = {
    ReportingLine.COUNTY: Role.COUNTY_ADMIN,
    ReportingLine.CITY: Role.CITY_ADMIN,
    ReportingLine.PROVINCE: Role.PROVINCE_ADMIN,
    ReportingLine.UNIVERSITY: Role.PROVINCE_ADMIN,
}
_BUREAU = {Role.COUNTY_ADMIN: "县区", Role.CITY_ADMIN: "市州", Role.PROVINCE_ADMIN: "省级"}


def second_level_reviewer(reporting_line: str) -> Role:
    """The role that reviews after the school for a school of this reporting line."""
    try:
        return SECOND_LEVEL_REVIEWER[ReportingLine(reporting_line)]
    except ValueError:
        return Role.COUNTY_ADMIN


def lines_reviewed_by(role: Role) -> tuple[str, ...]:
    """The reporting lines whose schools a bureau reviews at the second level."""
    return tuple(line.value for line, r in SECOND_LEVEL_REVIEWER.items() if r is role)


def bureau_of(role: Role) -> str:
    return _BUREAU.get(role, str(role))
