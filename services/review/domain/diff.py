"""What changed since the last approval: field by field, old value and new value.

The compared view is the record plus the school it belongs to, so a transfer (which changes
no field of the record) shows as a change of school_code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.contracts.events import TeacherRecord

FIELD_ORDER: tuple[str, ...] = ("school_code", *TeacherRecord.model_fields)


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: Any
    new: Any


def record_view(record: Mapping[str, Any], school_code: str) -> dict[str, Any]:
    return {**record, "school_code": school_code}


def diff(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> tuple[FieldChange, ...]:
    """The changes from `old` to `new`, in the contract's field order; () without `old`."""
    if old is None:
        return ()
    known = [f for f in FIELD_ORDER if f in old or f in new]
    extra = sorted((set(old) | set(new)) - set(FIELD_ORDER))
    return tuple(FieldChange(f, old.get(f), new.get(f)) for f in (*known, *extra)
                 if old.get(f) != new.get(f))
