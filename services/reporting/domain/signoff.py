"""City completeness sign-off: per county, a city administrator confirms that the system's
school and staff counts agree with the base data (基数表), or records why they don't.

Agreeing is only possible when the base data is known and equal to the system's counts; any
other case needs an explanation, which is then part of the record (an event), not a comment
lost in a chat group.
"""

from __future__ import annotations

from shared.contracts.events import CompletenessSignedOff
from shared.errors import Problem, ValidationProblem


def decide_signoff(*, county_code: str, city_code: str, agrees: bool, explanation: str,
                   schools_system: int, staff_system: int, schools_base: int | None,
                   staff_base: int | None) -> CompletenessSignedOff:
    explanation = explanation.strip()
    problems: list[Problem] = []
    if agrees:
        if schools_base is None or staff_base is None:
            problems.append(Problem("agrees", "the base table (基数表) has no figures for this "
                                              "county: cannot confirm agreement; sign off with "
                                              "agrees=false and an explanation"))
        elif (schools_base, staff_base) != (schools_system, staff_system):
            problems.append(Problem(
                "agrees", f"system counts ({schools_system} schools, {staff_system} staff) "
                          f"differ from the base table ({schools_base} schools, {staff_base} "
                          "staff): record why with agrees=false and an explanation "
                          "(系统数与基数表不一致，请说明原因)"))
    elif not explanation:
        problems.append(Problem("explanation",
                                "say why the counts do not agree (请说明不一致原因)"))
    if problems:
        raise ValidationProblem(problems)
    return CompletenessSignedOff(
        county_code=county_code, city_code=city_code, agrees=agrees,
        schools_system=schools_system, staff_system=staff_system, schools_base=schools_base,
        staff_base=staff_base, explanation=explanation)
