"""Automatic core-information checks (核心信息比对), run on every submitted record version.

Each check yields a CheckResult that travels with the record to the reviewer. A failed "hard"
check blocks approval at every level; a failed "warning" is shown and does not block. Checks
read the record as delivered (a mapping), so a record missing a required field is reported
as such rather than refused by a parser.

    required_fields       hard     intake's required core set (name ... hire_date)
    id_number_shape       hard     masked form: 6 digits, 8 '*', 3 digits, a digit or X
    gender_matches_id     hard     gender agrees with the 17th character (odd = male)
    hired_after_18        hard     hire date on or after the 18th birthday
    proof_document        hard     transfers and returns to post carry the authority's proof
    age_limits            warning  hired at 65 at the latest; in post at most 65 (higher: 70)
    hire_date_not_future  warning  hire date not after the submission date
    optional_core_fields  warning  stage taught, highest education, teacher qualification
    same_person_elsewhere warning  see `same_person_check`: computed when read, because it
                                   depends on other teachers, not on this record alone

Not checked here: that the birth date agrees with the ID number. Events carry only the masked
number (**************123X: the last four only), which hides the area code and the birth date;
intake checks the full number (checksum and birth date) before it accepts a record. The masked
form keeps the gender digit.

Checks are a function of the record, its kind and the submission date (`as_of`), never of
"today", so a projection rebuilt next year computes the same results.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, Literal

from shared.contracts.events import CheckResult
from shared.contracts.vocabulary import Gender, PostStatus, Stage

REQUIRED_FIELDS = ("name", "id_number_masked", "gender", "birth_date", "ethnicity",
                   "post_status", "is_fulltime_teacher", "hire_date")
OPTIONAL_CORE_FIELDS = ("stage_taught", "highest_education", "teacher_qualification")
MIN_HIRE_AGE = 18
MAX_HIRE_AGE = 65
MAX_AGE_IN_POST = {Stage.HIGHER.value: 70}
DEFAULT_MAX_AGE_IN_POST = 65
# **************123X; events written before the area code was hidden: 620102********123X
MASKED_ID = re.compile(r"^(\d{6}|\*{6})\*{8}\d{3}[\dX]$")
Severity = Literal["hard", "warning"]


def run_checks(record: Mapping[str, Any], *, needs_proof: bool,
               proof: Mapping[str, Any] | None, as_of: date) -> tuple[CheckResult, ...]:
    birth = _date(record.get("birth_date"))
    hired = _date(record.get("hire_date"))
    results = [
        _required(record),
        _id_shape(record),
        _gender(record),
        _hired_after_18(birth, hired),
    ]
    if needs_proof:
        results.append(_proof(proof))
    results += [
        _age_limits(record, birth, hired, as_of),
        _hire_not_future(hired, as_of),
        _optional(record),
    ]
    return tuple(results)


def catalogue(needs_proof: bool) -> tuple[tuple[str, Severity], ...]:
    """The checks `run_checks` runs, in its order, with their severities."""
    proof: tuple[tuple[str, Severity], ...] = (
        (("proof_document", "hard"),) if needs_proof else ())
    return (("required_fields", "hard"), ("id_number_shape", "hard"),
            ("gender_matches_id", "hard"), ("hired_after_18", "hard"), *proof,
            ("age_limits", "warning"), ("hire_date_not_future", "warning"),
            ("optional_core_fields", "warning"))


def failures(checks: Sequence[CheckResult]) -> tuple[CheckResult, ...]:
    """What is worth storing of a record's checks: a passed check says nothing but its name,
    which `complete` knows."""
    return tuple(c for c in checks if not c.passed)


def complete(stored: Sequence[CheckResult], needs_proof: bool) -> tuple[CheckResult, ...]:
    """Every check `run_checks` gave, from the stored failures (a full list stored earlier
    comes back as it was): `complete(failures(run_checks(..)), p) == run_checks(..)`."""
    by_name = {c.check: c for c in stored}
    out = [by_name.pop(name) if name in by_name else _ok(name, severity)
           for name, severity in catalogue(needs_proof)]
    return (*out, *by_name.values())


def same_person_check(elsewhere: Sequence[tuple[str, str]]) -> CheckResult:
    """Warning when the same person (name, birth date, masked ID number) is active at another
    school: `elsewhere` lists (teacher_id, school_code) of those records."""
    if not elsewhere:
        return _ok("same_person_elsewhere", "warning")
    where = ", ".join(f"{school} ({tid})" for tid, school in elsewhere[:5])
    return _fail("same_person_elsewhere", "warning",
                 f"the same name, birth date and ID number are active at {where} "
                 "(同一人员在其他单位在职)")


def _required(record: Mapping[str, Any]) -> CheckResult:
    missing = [f for f in REQUIRED_FIELDS if _blank(record.get(f))]
    if missing:
        return _fail("required_fields", "hard",
                     f"missing: {', '.join(missing)} (必填项缺失)")
    return _ok("required_fields", "hard")


def _id_shape(record: Mapping[str, Any]) -> CheckResult:
    masked = record.get("id_number_masked")
    if isinstance(masked, str) and MASKED_ID.match(masked):
        return _ok("id_number_shape", "hard")
    return _fail("id_number_shape", "hard",
                 f"masked ID number {masked!r} is not of the form **************123X "
                 "(身份证号格式不正确)")


def _gender(record: Mapping[str, Any]) -> CheckResult:
    masked, gender = record.get("id_number_masked"), record.get("gender")
    if not (isinstance(masked, str) and MASKED_ID.match(masked)) or gender not in (
            Gender.MALE.value, Gender.FEMALE.value):
        return _fail("gender_matches_id", "hard",
                     "cannot compare gender with the ID number (性别或身份证号缺失)")
    says = Gender.MALE.value if int(masked[16]) % 2 else Gender.FEMALE.value
    if says != gender:
        return _fail("gender_matches_id", "hard",
                     f"gender {gender} disagrees with the ID number, which says {says} "
                     "(性别与身份证号不一致)")
    return _ok("gender_matches_id", "hard")


def _hired_after_18(birth: date | None, hired: date | None) -> CheckResult:
    if birth is None or hired is None:
        return _fail("hired_after_18", "hard",
                     "birth date or hire date missing (出生日期或参加工作日期缺失)")
    if hired < _add_years(birth, MIN_HIRE_AGE):
        return _fail("hired_after_18", "hard",
                     f"hired on {hired.isoformat()}, before the 18th birthday "
                     f"({_add_years(birth, MIN_HIRE_AGE).isoformat()}) (参加工作时未满18周岁)")
    return _ok("hired_after_18", "hard")


def _proof(proof: Mapping[str, Any] | None) -> CheckResult:
    if proof and isinstance(proof.get("sha256"), str):
        return _ok("proof_document", "hard")
    return _fail("proof_document", "hard",
                 "a transfer or return to post needs the education authority's proof document "
                 "(调动/返岗须上传教育行政部门出具的证明材料)")


def _age_limits(record: Mapping[str, Any], birth: date | None, hired: date | None,
                as_of: date) -> CheckResult:
    if birth is None:
        return _ok("age_limits", "warning")
    problems = []
    if hired is not None and _age_on(birth, hired) > MAX_HIRE_AGE:
        problems.append(f"hired at {_age_on(birth, hired)}, over {MAX_HIRE_AGE}")
    limit = MAX_AGE_IN_POST.get(str(record.get("stage_taught")), DEFAULT_MAX_AGE_IN_POST)
    age = _age_on(birth, as_of)
    if record.get("post_status") == PostStatus.IN_POST.value and age > limit:
        problems.append(f"in post at {age}, over {limit}")
    if problems:
        return _fail("age_limits", "warning", "; ".join(problems) + " (年龄超出任职范围)")
    return _ok("age_limits", "warning")


def _hire_not_future(hired: date | None, as_of: date) -> CheckResult:
    if hired is not None and hired > as_of:
        return _fail("hire_date_not_future", "warning",
                     f"hire date {hired.isoformat()} is after the submission "
                     f"({as_of.isoformat()}) (参加工作日期晚于填报日期)")
    return _ok("hire_date_not_future", "warning")


def _optional(record: Mapping[str, Any]) -> CheckResult:
    wanted = [f for f in OPTIONAL_CORE_FIELDS if _blank(record.get(f))]
    if record.get("is_fulltime_teacher") is not True:
        wanted = [f for f in wanted if f != "teacher_qualification"]
    if wanted:
        return _fail("optional_core_fields", "warning",
                     f"not filled: {', '.join(wanted)} (信息不完整)")
    return _ok("optional_core_fields", "warning")


@functools.cache
def _ok(check: str, severity: Severity) -> CheckResult:
    # A passed check is the same frozen value for every record: made once (it is built for
    # every record the consumer sees, ~8 per teacher).
    return CheckResult(check=check, passed=True, severity=severity)


def _fail(check: str, severity: Severity, message: str) -> CheckResult:
    return CheckResult(check=check, passed=False, severity=severity,
                       message=message)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year + years, day=28)
