"""Finding a teacher (查找教师): what a search asks for, and who may see what it finds.

A query is either a national ID number (18 characters, checked like any submitted number) or
the start of a name, optionally narrowed to one school. Two rules decide what comes back:

- By name, a caller finds only teachers inside their own region (their school, county, city,
  or the province): a name is not a secret, but browsing other regions' staff is not a right.
- By ID number, staff find the person anywhere in the province, because a receiving school
  must find the teacher it asks to transfer in, and whoever types the full number already
  knows who it is. Outside the caller's region a hit shows only where the person holds (or
  held) a post, never the record.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.domain.idnumber import InvalidIdNumber, normalise, parse_id_number
from shared.errors import Problem, ValidationProblem

NAME_MAX = 50


@dataclass(frozen=True)
class TeacherQuery:
    id_number: str | None = None
    name_prefix: str | None = None
    school_code: str | None = None
    include_left: bool = False


def parse_query(q: str | None, *, school_code: str | None = None,
                include_left: bool = False) -> TeacherQuery:
    """The query `q` as an ID number or a name prefix; 422 at `q` when it is neither."""
    text = (q or "").strip()
    if not text:
        if school_code is None:
            raise ValidationProblem([Problem("q", "give an ID number or a name, or a school_code "
                                                  "to list a school's teachers")])
        return TeacherQuery(school_code=school_code, include_left=include_left)
    if _looks_like_id_number(text):
        try:
            parse_id_number(text)
        except InvalidIdNumber as exc:
            raise ValidationProblem([Problem("q", f"not a valid ID number: {exc}")]) from None
        return TeacherQuery(id_number=normalise(text), school_code=school_code,
                            include_left=True)
    if len(text) > NAME_MAX:
        raise ValidationProblem([Problem("q", f"a name has at most {NAME_MAX} characters")])
    return TeacherQuery(name_prefix=text, school_code=school_code, include_left=include_left)


def _looks_like_id_number(text: str) -> bool:
    """Starts with a six-digit area code: meant as an ID number, so a mistyped one is an error
    rather than a name search that finds nobody."""
    return len(text) >= 6 and text[:6].isdigit()
