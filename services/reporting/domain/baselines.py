"""Baseline import: the annual report (年报) and the base table (基数表) as imported figures.

A file is a header and rows (read by adapters/baseline_files from CSV or XLSX). Its level is
per stage (the province's stage table, e.g. the notice's own CSV), per county or per school,
from `--level` or recognised from the header. Every row is checked; a file with any bad row is
refused whole with row/field/problem, and nothing is appended. A blank cell is unknown, never
zero. A total row is kept as stated and checked against its rows: a mismatch is reported as a
flag, never corrected. Accepted files become BaselineImported events of at most 2000 rows each.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.contracts.events import BaselineImported, BaselineRow
from shared.contracts.vocabulary import LABELS, BaselineKind, Stage
from shared.domain.divisions import Divisions
from shared.errors import Problem, ValidationProblem

CHUNK_ROWS = 2000
LEVELS = ("stage", "city", "county", "school")
MEASURES = ("schools", "teaching_points", "staff", "fulltime")
_TOTAL_WORDS = {"total", "合计", "总计", "全省"}

# Header words people use for the same column (English keys, the notice's Chinese).
_ALIASES: dict[str, tuple[str, ...]] = {
    "stage": ("stage", "学段"),
    "stage_name": ("stage_name", "学段名称"),
    "county_code": ("county_code", "县区代码", "区县代码"),
    "county_name": ("county_name", "县区", "县区名称", "区县"),
    "city_code": ("city_code", "市州代码"),
    "city_name": ("city_name", "市州", "市州名称"),
    "school_code": ("school_code", "学校代码", "学校标识码"),
    "school_name": ("school_name", "学校名称", "学校"),
    "schools": ("schools", "学校数"),
    "teaching_points": ("teaching_points", "教学点数", "其中教学点"),
    "staff": ("staff", "教职工数", "教职工"),
    "fulltime": ("fulltime", "专任教师数", "专任教师"),
}
_STAGE_WORDS: dict[str, str] = {s.value: s.value for s in Stage}
_STAGE_WORDS.update({str(LABELS[s]): s.value for s in Stage})
_STAGE_WORDS.update({"小学": "primary", "小学（含教学点）": "primary", "特殊教育": "special",
                     "中等职业": "vocational", "高等教育": "higher", "高校": "higher"})


@dataclass(frozen=True)
class ParsedBaseline:
    level: str
    rows: tuple[BaselineRow, ...]
    row_numbers: tuple[int, ...]  # the file line of each row (header = line 1)
    ignored_columns: tuple[str, ...]
    checks: tuple[dict[str, Any], ...] = field(default=())  # sum mismatches etc. (flags)


def normalise_header(raw: str, kind: str) -> str | None:
    """Map a header cell to our column key; `*_annual`/`*_base` suffixes are dropped when they
    match the kind; `*_entered` (the notice's system columns) are ignored (None)."""
    h = re.sub(r"\s+", "", str(raw or "")).strip().lower()
    if not h:
        return None
    for suffix in ("_annual", "_base", "_entered", "_system"):
        if h.endswith(suffix):
            if suffix[1:] != kind:
                return None  # another source's column (e.g. the notice's *_entered)
            h = h[: -len(suffix)]
            break
    for key, words in _ALIASES.items():
        if h in (w.lower() for w in words):
            return key
    return None


def detect_level(columns: Sequence[str]) -> str | None:
    if "school_code" in columns:
        return "school"
    if "county_code" in columns:
        return "county"
    if "city_code" in columns:
        return "city"
    if "stage" in columns:
        return "stage"
    return None


def _int_cell(value: Any, column: str, line: int, problems: list[Problem]) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        problems.append(Problem(column, "not a whole number", line))
        return None
    if isinstance(value, int):
        n = value
    elif isinstance(value, float):
        if not value.is_integer():
            problems.append(Problem(column, f"{value} is not a whole number", line))
            return None
        n = int(value)
    else:
        text = str(value).strip().replace(",", "").replace("，", "")
        if text in ("", "-", "—"):
            return None  # blank: unknown, never zero
        if not re.fullmatch(r"[+-]?\d+(\.0+)?", text):
            problems.append(Problem(column, f"{text!r} is not a whole number", line))
            return None
        n = int(float(text))
    if n < 0:
        problems.append(Problem(column, f"{n} is negative", line))
        return None
    return n


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def parse_rows(header: Sequence[Any], rows: Sequence[Sequence[Any]], *, kind: str,
               level: str | None, divisions: Divisions) -> ParsedBaseline:
    """Check and convert a file's rows; ValidationProblem (every problem, with its line) if any
    row is bad."""
    if kind not in (k.value for k in BaselineKind):
        raise ValidationProblem([Problem("kind", "kind must be 'annual' or 'base'")])
    keys = [normalise_header(h, kind) for h in header]
    ignored = tuple(_text(h) for h, k in zip(header, keys, strict=True) if k is None and _text(h))
    found = [k for k in keys if k]
    detected = detect_level(found)
    if level is None:
        level = detected
    if level not in LEVELS:
        raise ValidationProblem([Problem("level", "cannot tell the level of this file: give "
                                                  "--level stage|county|school, or a header "
                                                  "with stage / county_code / school_code")])
    need = {"stage": "stage", "county": "county_code", "city": "city_code",
            "school": "school_code"}[level]
    if need not in found:
        raise ValidationProblem([Problem("header", f"a {level}-level baseline needs a "
                                                   f"'{need}' column", 1)])
    if not any(m in found for m in MEASURES):
        raise ValidationProblem([Problem("header", "no figure column (schools, "
                                                   "teaching_points, staff, fulltime)", 1)])
    problems: list[Problem] = []
    out: list[BaselineRow] = []
    lines: list[int] = []
    seen: dict[tuple[str, str, str | None], int] = {}
    for i, raw in enumerate(rows, start=2):
        cells = {k: raw[j] if j < len(raw) else None for j, k in enumerate(keys) if k}
        if all(_text(v) == "" for v in cells.values()):
            continue  # an empty line
        row = _parse_row(cells, level, i, divisions, problems)
        if row is None:
            continue
        key = (row.level, row.code, row.stage)
        if key in seen and not row.is_total:
            problems.append(Problem(need, f"{row.code} {row.stage or ''} appears twice "
                                          f"(first on line {seen[key]})".replace("  ", " "), i))
            continue
        seen[key] = i
        out.append(row)
        lines.append(i)
    if problems:
        raise ValidationProblem(problems, message=f"baseline refused: {len(problems)} "
                                                  "problem(s); nothing was imported")
    if not out:
        raise ValidationProblem([Problem("rows", "the file has no data rows")])
    return ParsedBaseline(level, tuple(out), tuple(lines), ignored, tuple(sum_checks(out)))


def _parse_row(cells: Mapping[str, Any], level: str, line: int, divisions: Divisions,
               problems: list[Problem]) -> BaselineRow | None:
    before = len(problems)
    values = {m: _int_cell(cells.get(m), m, line, problems) for m in MEASURES}
    stage_text = _text(cells.get("stage"))
    stage: str | None = None
    is_total = False
    if stage_text:
        if stage_text.lower() in _TOTAL_WORDS:
            is_total = True
        elif stage_text.lower() in _STAGE_WORDS or stage_text in _STAGE_WORDS:
            stage = _STAGE_WORDS.get(stage_text.lower(), _STAGE_WORDS.get(stage_text))
        else:
            problems.append(Problem("stage", f"unknown stage {stage_text!r} (one of "
                                             f"{', '.join(s.value for s in Stage)}, or total)",
                                    line))
    code, name, row_level = "province", _text(cells.get("stage_name")) or None, "province"
    if level == "stage":
        if not stage_text:
            problems.append(Problem("stage", "missing stage", line))
    elif level == "county":
        row_level = "county"
        code = _text(cells.get("county_code"))
        name = _text(cells.get("county_name")) or None
        if code.lower() in _TOTAL_WORDS:
            code, is_total = "total", True
        elif divisions.county(code) is None:
            problems.append(Problem("county_code", f"{code!r} is not a county of the province",
                                    line))
        elif name and name != divisions.counties[code].name:
            problems.append(Problem("county_name", f"county {code} is "
                                                   f"{divisions.counties[code].name}, not {name}",
                                    line))
    elif level == "city":
        row_level = "city"
        code = _text(cells.get("city_code"))
        name = _text(cells.get("city_name")) or None
        if code.lower() in _TOTAL_WORDS:
            code, is_total = "total", True
        elif code not in divisions.cities:
            problems.append(Problem("city_code", f"{code!r} is not a city of the province", line))
    else:
        row_level = "school"
        code = _text(cells.get("school_code"))
        name = _text(cells.get("school_name")) or None
        if code.lower() in _TOTAL_WORDS:
            code, is_total = "total", True
        elif not code:
            problems.append(Problem("school_code", "missing school code", line))
    if len(problems) > before:
        return None
    return BaselineRow(level=row_level, code=code, name=name, stage=stage,
                       is_total=is_total, **values)


def sum_checks(rows: Sequence[BaselineRow]) -> list[dict[str, Any]]:
    """Each total row against the sum of its rows (known values only): mismatches reported."""
    out = []
    totals = [r for r in rows if r.is_total]
    parts = [r for r in rows if not r.is_total]
    for t in totals:
        for m in MEASURES:
            stated = getattr(t, m)
            values = [getattr(r, m) for r in parts]
            known = [v for v in values if v is not None]
            if stated is None or not known:
                continue
            if sum(known) != stated:
                out.append({"code": "sum_mismatch", "column": m, "rows_sum": sum(known),
                            "total": stated, "blank_rows": len(values) - len(known),
                            "message": f"{m}: rows sum to {sum(known)}, total says {stated} "
                                       "(kept as stated, flagged)"})
    return out


def chunk_events(baseline_id: str, kind: str, year: int, rows: Sequence[BaselineRow]
                 ) -> list[BaselineImported]:
    chunks = [rows[i:i + CHUNK_ROWS] for i in range(0, len(rows), CHUNK_ROWS)] or [[]]
    return [BaselineImported(baseline_id=baseline_id, kind=BaselineKind(kind), year=year,
                             chunk=n, chunks=len(chunks), rows=tuple(c))
            for n, c in enumerate(chunks)]


def template(kind: str, level: str, divisions: Divisions) -> tuple[list[str], list[list[Any]]]:
    """Header and pre-filled rows (codes and names; figures left blank) for a baseline file."""
    if kind not in ("annual", "base"):
        raise ValidationProblem([Problem("kind", "kind must be 'annual' or 'base'")])
    if level == "stage":
        header = ["stage", "stage_name", f"schools_{kind}", f"teaching_points_{kind}",
                  f"staff_{kind}", f"fulltime_{kind}"]
        rows: list[list[Any]] = [[s.value, LABELS[s], "", "", "", ""] for s in Stage]
        rows.append(["total", "合计", "", "", "", ""])
        return header, rows
    if level == "county":
        header = ["county_code", "county_name", "city_name", "stage", "schools",
                  "teaching_points", "staff", "fulltime"]
        rows = [[c.code, c.name, c.city_name, "", "", "", "", ""]
                for c in sorted(divisions.counties.values(), key=lambda c: c.code)]
        return header, rows
    if level == "school":
        return ["school_code", "school_name", "stage", "staff", "fulltime"], []
    raise ValidationProblem([Problem("level", "level must be stage, county or school")])
