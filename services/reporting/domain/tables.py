"""The shape every report takes before it is rendered (JSON, CSV, XLSX, text, HTML).

A Report has named tables (columns with Chinese labels, rows as dicts), flags (things a reader
must see: a baseline that does not sum, a blank figure, entered above annual) and a summary
dict for headline figures. Renderers never compute; they only lay out.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "text"  # text | int | rate | float


@dataclass(frozen=True)
class Flag:
    """Something a good report shows rather than hides."""

    code: str  # sum_mismatch | unknown | entered_exceeds_annual | differs | ...
    message: str  # Chinese, for the reader
    where: dict[str, Any] = field(default_factory=dict)
    severity: str = "warning"  # warning | info


@dataclass(frozen=True)
class Table:
    name: str
    title: str
    columns: tuple[Column, ...]
    rows: tuple[dict[str, Any], ...]
    flags: tuple[Flag, ...] = ()
    note: str = ""

    def column_keys(self) -> list[str]:
        return [c.key for c in self.columns]


@dataclass(frozen=True)
class Report:
    name: str
    title: str
    as_of: str
    cutoff: str
    tables: tuple[Table, ...]
    summary: dict[str, Any] = field(default_factory=dict)
    flags: tuple[Flag, ...] = ()
    sources: dict[str, Any] = field(default_factory=dict)

    def table(self, name: str) -> Table:
        for t in self.tables:
            if t.name == name:
                return t
        raise KeyError(name)

    def all_flags(self) -> list[Flag]:
        return [*self.flags, *(f for t in self.tables for f in t.flags)]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
