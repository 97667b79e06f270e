"""The school aggregate: register, change, close; decisions return events, `evolve` folds them.

A school is open from its registration until it is closed (by an education bureau, or by a
restructuring batch that merges it into another school). A closed school takes no submissions.
There is no reopening: a school that opens again is registered under a new code, as the
restructuring batches do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from pydantic import ValidationError

from shared.contracts.base import EventPayload
from shared.contracts.events import SchoolChanged, SchoolClosed, SchoolProfile, SchoolRegistered
from shared.domain.divisions import divisions
from shared.errors import Conflict, Problem, ValidationProblem

SCHOOL_CODE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_-]{0,31}$")
PROFILE_FIELDS: tuple[str, ...] = tuple(SchoolProfile.model_fields)


@dataclass(frozen=True)
class School:
    code: str
    profile: SchoolProfile
    is_open: bool = True
    merged_into: str | None = None
    version: int = 0

    @property
    def stream_id(self) -> str:
        return stream_id(self.code)


def stream_id(code: str) -> str:
    return f"school-{code}"


def check_profile(profile: SchoolProfile, prefix: str = "") -> list[Problem]:
    """The county must be one of Gansu's and the city the one that county belongs to."""
    county = divisions().county(profile.county_code)
    if county is None:
        return [Problem(f"{prefix}county_code",
                        f"{profile.county_code} is not a county of Gansu (县区代码不存在)")]
    if county.city_code != profile.city_code:
        return [Problem(f"{prefix}city_code",
                        f"county {county.code} ({county.name}) belongs to city "
                        f"{county.city_code} ({county.city_name}), not {profile.city_code} "
                        "(县区与市州不一致)")]
    return []


def profile_from(values: dict[str, Any]) -> SchoolProfile:
    """A profile from loose values; a missing city is the county's city."""
    values = {k: v for k, v in values.items() if v is not None}
    county = values.get("county_code")
    if county is not None and divisions().county(county) is None:
        raise ValidationProblem([Problem("county_code",
                                         f"{county} is not a county of Gansu (县区代码不存在)")])
    if county is not None and "city_code" not in values:
        values["city_code"] = divisions().city_of(county)
    try:
        return SchoolProfile.model_validate(values)
    except ValidationError as exc:
        raise ValidationProblem([Problem(".".join(str(p) for p in e["loc"]), e["msg"])
                                 for e in exc.errors()]) from None


def register_school(existing: School | None, code: str, profile: SchoolProfile,
                    batch_id: str | None = None) -> SchoolRegistered:
    if not SCHOOL_CODE.match(code):
        raise ValidationProblem([Problem("code", "1-32 letters, digits, '-' or '_'")])
    if existing is not None:
        raise Conflict(f"school {code} is already registered ({existing.profile.name}); "
                       "change it with PATCH instead")
    problems = check_profile(profile)
    if problems:
        raise ValidationProblem(problems)
    return SchoolRegistered(school_code=code, profile=profile, batch_id=batch_id)


def change_school(school: School, changes: dict[str, Any],
                  batch_id: str | None = None) -> SchoolChanged | None:
    """The new profile with `changes` applied; None when nothing actually changes."""
    if not school.is_open:
        raise Conflict(f"school {school.code} is closed; a closed school cannot change")
    values = {**school.profile.model_dump(), **changes}
    if "county_code" in changes and "city_code" not in changes:
        values["city_code"] = divisions().city_of(changes["county_code"]) or values["city_code"]
    new = SchoolProfile.model_validate(values)
    problems = check_profile(new)
    if problems:
        raise ValidationProblem(problems)
    changed = tuple(f for f in PROFILE_FIELDS if getattr(new, f) != getattr(school.profile, f))
    if not changed:
        return None
    return SchoolChanged(school_code=school.code, profile=new, changed_fields=changed,
                         batch_id=batch_id)


def close_school(school: School, *, teachers_in_post: int, merged_into: str | None = None,
                 batch_id: str | None = None) -> SchoolClosed:
    """Close a school. Its teachers must have moved first: closing would otherwise strand them."""
    if not school.is_open:
        raise Conflict(f"school {school.code} is already closed")
    if teachers_in_post:
        raise Conflict(f"school {school.code} still has {teachers_in_post} teachers; transfer "
                       "them (or merge the school in a restructuring batch) before closing it")
    return SchoolClosed(school_code=school.code, merged_into=merged_into, batch_id=batch_id)


def evolve(school: School | None, event: EventPayload, version: int) -> School:
    """The school after `event`, which the store appended as stream version `version`."""
    if isinstance(event, SchoolRegistered):
        return School(code=event.school_code, profile=event.profile, version=version)
    assert school is not None, f"{event.event_type} before SchoolRegistered"
    if isinstance(event, SchoolChanged):
        return replace(school, profile=event.profile, version=version)
    if isinstance(event, SchoolClosed):
        return replace(school, is_open=False, merged_into=event.merged_into, version=version)
    raise TypeError(f"not a school event: {event.event_type}")
