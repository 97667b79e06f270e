"""Read a restructuring batch from CSV or JSON into a `Batch`, listing every format problem.

Both formats carry the same fields (docs/orgsync-batch-format.md has the full description and an
example). CSV: one operation per row under the header

    batch_id,effective_date,op,school_code,target_code,name,stage,is_teaching_point,
    county_code,city_code,reporting_line,is_rural

with the same batch_id and effective_date on every row; a row's line number is its line in the
file (the header is line 1); blank rows and rows whose first cell starts with '#' are skipped.
JSON: {"batch_id": ..., "effective_date": ..., "operations": [{"op": ..., ...}, ...]}; an
operation's line is its position in the list (1-based) unless it carries its own "line".

Values may be the English keys of the contracts or the Chinese words people use (合并, 撤销,
新设, 更名, 变更学段, 变更隶属, 划转; 幼儿园, 小学, 初中...; 县属, 市属, 厅直属; 是/否).
Parsing also checks what needs no registry: required and unused fields per op, county codes
and the city they belong to (the city is filled in from the county when left blank).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from services.orgsync.domain.model import Batch, Issue, IssueKind
from shared.contracts.events import RestructuringOperation
from shared.contracts.vocabulary import ReportingLine, Stage
from shared.domain.divisions import divisions

COLUMNS = ("batch_id", "effective_date", "op", "school_code", "target_code", "name", "stage",
           "is_teaching_point", "county_code", "city_code", "reporting_line", "is_rural")
OP_COLUMNS = COLUMNS[2:]
# One Applied event carries the whole batch; 5,000 operations stay near 1 MB, well under the
# topics' 4 MB message limit (a quarter of the whole province is a few hundred).
MAX_OPERATIONS = 5_000

# Per op: the fields it needs and the ones it may carry besides (anything else is a mistake,
# refused rather than silently ignored).
REQUIRED: dict[str, frozenset[str]] = {
    "merge": frozenset({"target_code"}),
    "close": frozenset(),
    "open": frozenset({"name", "stage", "county_code"}),
    "rename": frozenset({"name"}),
    "restage": frozenset({"stage"}),
    "change_reporting_line": frozenset({"reporting_line"}),
    "move_county": frozenset({"county_code"}),
}
OPTIONAL: dict[str, frozenset[str]] = {
    "merge": frozenset(),
    "close": frozenset({"target_code"}),
    "open": frozenset({"is_teaching_point", "city_code", "reporting_line", "is_rural"}),
    "rename": frozenset(),
    "restage": frozenset({"is_teaching_point"}),
    "change_reporting_line": frozenset(),
    "move_county": frozenset({"city_code", "is_rural"}),
}

OP_ALIASES: dict[str, str] = {
    "合并": "merge", "并入": "merge", "撤销": "close", "关闭": "close", "新设": "open",
    "新建": "open", "更名": "rename", "变更学段": "restage", "变更隶属": "change_reporting_line",
    "变更隶属关系": "change_reporting_line", "划转": "move_county", "变更县区": "move_county",
}
STAGE_ALIASES: dict[str, Stage] = {
    "幼儿园": Stage.KINDERGARTEN, "小学": Stage.PRIMARY, "小学 (含教学点)": Stage.PRIMARY,
    "初中": Stage.JUNIOR, "高中": Stage.SENIOR, "特教": Stage.SPECIAL,
    "特殊教育": Stage.SPECIAL, "中职": Stage.VOCATIONAL, "高教": Stage.HIGHER,
    "高校": Stage.HIGHER,
}
LINE_ALIASES: dict[str, ReportingLine] = {
    "县属": ReportingLine.COUNTY, "市属": ReportingLine.CITY, "厅直属": ReportingLine.PROVINCE,
    "省属": ReportingLine.PROVINCE, "高校": ReportingLine.UNIVERSITY,
}
TRUE_WORDS = frozenset({"true", "1", "yes", "y", "t", "是"})
FALSE_WORDS = frozenset({"false", "0", "no", "n", "f", "否"})

BATCH_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
SCHOOL_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
DATE_FORMS = (re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"),
              re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"),
              re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$"))


@dataclass
class ParsedBatch:
    """The outcome of reading a file: the batch of its readable operations (None when the
    header is unreadable or no operation is), and every issue found."""

    batch: Batch | None
    issues: list[Issue] = field(default_factory=list)
    batch_id: str | None = None  # known even when the batch is not

    @property
    def ok(self) -> bool:
        return self.batch is not None and not self.issues


def parse_batch(data: bytes, fmt: str) -> ParsedBatch:
    """`fmt` is "csv" or "json"."""
    if fmt == "json":
        return parse_json(data)
    if fmt == "csv":
        return parse_csv(data)
    raise ValueError(f"unknown batch format {fmt!r}")


def decode(data: bytes) -> str:
    """UTF-8 (with or without the BOM Excel writes), else GB18030: Excel on a Chinese Windows
    saves CSV files in GBK, which GB18030 covers."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("gb18030", errors="replace")


# --------------------------------------------------------------------------- CSV


def parse_csv(data: bytes) -> ParsedBatch:
    issues: list[Issue] = []
    reader = csv.reader(io.StringIO(decode(data), newline=""))
    header: list[str] | None = None
    rows: list[tuple[int, dict[str, str]]] = []
    for cells in reader:
        line = reader.line_num
        if not any(c.strip() for c in cells) or cells[0].lstrip().startswith("#"):
            continue
        if header is None:
            header = [c.strip().lower() for c in cells]
            issues += _check_header(header, line)
            if any(i.kind is IssueKind.FORMAT for i in issues):
                return ParsedBatch(None, issues)
            continue
        if len(cells) > len(header) and any(c.strip() for c in cells[len(header):]):
            issues.append(Issue(IssueKind.FORMAT, f"第 {line} 行的列数多于表头 "
                                f"(row has more cells than the header)", line, "row"))
        rows.append((line, {h: (cells[i].strip() if i < len(cells) else "")
                            for i, h in enumerate(header)}))
    if header is None:
        return ParsedBatch(None, [Issue(IssueKind.EMPTY_BATCH, "文件为空 (empty file)")])
    if not rows:
        return ParsedBatch(None, [*issues, Issue(IssueKind.EMPTY_BATCH,
                                                 "批次中没有任何操作 (no operations)")])
    first_line, first = rows[0]
    batch_id, effective, head_issues = _batch_header(first.get("batch_id", ""),
                                                     first.get("effective_date", ""), first_line)
    issues += head_issues
    ops: list[RestructuringOperation] = []
    for line, row in rows:
        for key, expected in (("batch_id", first.get("batch_id", "")),
                              ("effective_date", first.get("effective_date", ""))):
            if row.get(key, "") != expected:
                issues.append(Issue(IssueKind.MIXED_HEADER,
                                    f"{key} 与第 {first_line} 行不同: {row.get(key, '')!r} ≠ "
                                    f"{expected!r} (every row must carry the same {key})",
                                    line, key))
        fields = {k: v for k, v in row.items() if k in OP_COLUMNS and v != ""}
        op, op_issues = operation_from_fields(line, fields)
        issues += op_issues
        if op is not None:
            ops.append(op)
    return _finish(batch_id, effective, ops, issues, len(rows))


def _check_header(header: list[str], line: int) -> list[Issue]:
    issues = []
    missing = [c for c in ("batch_id", "effective_date", "op", "school_code") if c not in header]
    if missing:
        issues.append(Issue(IssueKind.FORMAT, f"表头缺少列 {', '.join(missing)} (header lacks "
                            f"columns; expected {','.join(COLUMNS)})", line, "header"))
    unknown = [c for c in header if c and c not in COLUMNS]
    if unknown:
        issues.append(Issue(IssueKind.FORMAT, f"表头有未知列 {', '.join(unknown)} (unknown "
                            f"columns; allowed: {','.join(COLUMNS)})", line, "header"))
    dupes = sorted({c for c in header if c and header.count(c) > 1})
    if dupes:
        issues.append(Issue(IssueKind.FORMAT, f"表头列重复 {', '.join(dupes)} "
                            "(duplicate columns)", line, "header"))
    return issues


# --------------------------------------------------------------------------- JSON


def parse_json(data: bytes) -> ParsedBatch:
    try:
        doc = json.loads(decode(data))
    except ValueError as exc:
        return ParsedBatch(None, [Issue(IssueKind.FORMAT, f"JSON 无法解析 (invalid JSON: {exc})")])
    return parse_document(doc)


def parse_document(doc: Any) -> ParsedBatch:
    """A batch from an already decoded JSON document."""
    if not isinstance(doc, dict):
        return ParsedBatch(None, [Issue(IssueKind.FORMAT, "JSON 顶层必须是对象 (the document "
                                        "must be an object with batch_id, effective_date, "
                                        "operations)")])
    issues: list[Issue] = []
    unknown = sorted(set(doc) - {"batch_id", "effective_date", "operations"})
    if unknown:
        issues.append(Issue(IssueKind.FORMAT, f"未知字段 {', '.join(unknown)} (unknown keys)"))
    batch_id, effective, head_issues = _batch_header(
        _text(doc.get("batch_id")), _text(doc.get("effective_date")), None)
    issues += head_issues
    raw_ops = doc.get("operations")
    if not isinstance(raw_ops, list) or not raw_ops:
        issues.append(Issue(IssueKind.EMPTY_BATCH, "operations 必须是非空列表 (operations must "
                            "be a non-empty list)", None, "operations"))
        return ParsedBatch(None, issues, batch_id)
    ops: list[RestructuringOperation] = []
    for index, raw in enumerate(raw_ops, start=1):
        line = index
        if not isinstance(raw, dict):
            issues.append(Issue(IssueKind.FORMAT, "每个操作必须是对象 (each operation must be an "
                                "object)", line, "operations"))
            continue
        if isinstance(raw.get("line"), int) and not isinstance(raw.get("line"), bool) \
                and raw["line"] >= 1:
            line = raw["line"]
        extra = sorted(set(raw) - set(OP_COLUMNS) - {"line"})
        if extra:
            issues.append(Issue(IssueKind.FORMAT, f"未知字段 {', '.join(extra)} (unknown keys)",
                                line, "operation"))
        fields = {k: _text(v) for k, v in raw.items() if k in OP_COLUMNS and _text(v) != ""}
        op, op_issues = operation_from_fields(line, fields)
        issues += op_issues
        if op is not None:
            ops.append(op)
    return _finish(batch_id, effective, ops, issues, len(raw_ops))


def _text(value: Any) -> str:
    """JSON values as the text a CSV cell would hold (numbers for codes, booleans)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip()


# --------------------------------------------------------------------------- shared


def _finish(batch_id: str | None, effective: date | None, ops: list[RestructuringOperation],
            issues: list[Issue], count: int) -> ParsedBatch:
    if count > MAX_OPERATIONS:
        issues.append(Issue(IssueKind.TOO_MANY_OPERATIONS, f"一个批次最多 {MAX_OPERATIONS} 个操作，"
                            f"本批次 {count} 个 (too many operations; split the batch)"))
    if batch_id is None or effective is None or not ops:
        return ParsedBatch(None, issues, batch_id)
    # The readable operations are kept even when other lines are not, so a plan can list the
    # registry's problems too; `ok` still says the batch as a whole cannot be applied.
    return ParsedBatch(Batch(batch_id, effective, tuple(ops)), issues, batch_id)


def _batch_header(raw_id: str, raw_date: str, line: int | None
                  ) -> tuple[str | None, date | None, list[Issue]]:
    issues: list[Issue] = []
    batch_id: str | None = raw_id
    if not BATCH_ID.match(raw_id):
        batch_id = None
        issues.append(Issue(IssueKind.BAD_BATCH_ID, f"批次号无效 {raw_id!r} (batch_id: 1-64 "
                            "letters, digits, '.', '_' or '-')", line, "batch_id"))
    effective = parse_date(raw_date)
    if effective is None:
        issues.append(Issue(IssueKind.BAD_EFFECTIVE_DATE, f"生效日期无法识别 {raw_date!r} "
                            "(effective_date: YYYY-MM-DD)", line, "effective_date"))
    return batch_id, effective, issues


def parse_date(raw: str) -> date | None:
    for form in DATE_FORMS:
        m = form.match(raw.strip())
        if m:
            try:
                return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                return None
    return None


def operation_from_fields(line: int, fields: Mapping[str, str]
                          ) -> tuple[RestructuringOperation | None, list[Issue]]:
    """One operation from its non-empty text fields, or None and the reasons."""
    issues: list[Issue] = []
    raw_op = fields.get("op", "")
    op = OP_ALIASES.get(raw_op, raw_op.lower())
    if op not in REQUIRED:
        what = "缺少操作类型 (op is missing)" if not raw_op else f"未知操作 {raw_op!r}"
        return None, [Issue(IssueKind.UNKNOWN_OP, f"{what}; 可用 (allowed): "
                            f"{', '.join(REQUIRED)}", line, "op")]
    given = set(fields) - {"op"}
    code = fields.get("school_code", "")
    if not code:
        issues.append(Issue(IssueKind.MISSING_FIELD, f"{op} 缺少 school_code", line,
                            "school_code"))
    for name in sorted(REQUIRED[op] - given):
        issues.append(Issue(IssueKind.MISSING_FIELD, f"{op} 缺少 {name} ({op} needs {name})",
                            line, name))
    for name in sorted(given - REQUIRED[op] - OPTIONAL[op] - {"school_code"}):
        issues.append(Issue(IssueKind.UNUSED_FIELD, f"{op} 不使用 {name}，请留空 ({op} does not "
                            f"use {name}; leave it blank)", line, name))
    values: dict[str, Any] = {}
    for key in ("school_code", "target_code"):
        if fields.get(key) and not SCHOOL_CODE.match(fields[key]):
            issues.append(Issue(IssueKind.INVALID_VALUE, f"学校代码格式无效 {fields[key]!r} "
                                "(school codes: letters, digits, '.', '_' or '-')", line, key))
    if "name" in fields:
        if len(fields["name"]) > 100:
            issues.append(Issue(IssueKind.INVALID_VALUE, "学校名称超过 100 字 (name longer than "
                                "100 characters)", line, "name"))
        values["name"] = fields["name"]
    if "stage" in fields:
        stage = _stage(fields["stage"])
        if stage is None:
            issues.append(Issue(IssueKind.INVALID_VALUE, f"学段无效 {fields['stage']!r} (stage: "
                                f"{', '.join(Stage)})", line, "stage"))
        values["stage"] = stage
    if "reporting_line" in fields:
        rl = _reporting_line(fields["reporting_line"])
        if rl is None:
            issues.append(Issue(IssueKind.INVALID_VALUE, f"隶属关系无效 "
                                f"{fields['reporting_line']!r} (reporting_line: "
                                f"{', '.join(ReportingLine)})", line, "reporting_line"))
        values["reporting_line"] = rl
    for key in ("is_teaching_point", "is_rural"):
        if key in fields:
            flag = _flag(fields[key])
            if flag is None:
                issues.append(Issue(IssueKind.INVALID_VALUE, f"{key} 应为 是/否 (true/false), "
                                    f"不是 {fields[key]!r}", line, key))
            values[key] = flag
    issues += _check_region(line, fields, values)
    if values.get("is_teaching_point") and values.get("stage") not in (None, Stage.PRIMARY):
        issues.append(Issue(IssueKind.TEACHING_POINT_STAGE, "教学点只能属于小学学段 (a teaching "
                            "point belongs to the primary stage)", line, "is_teaching_point"))
    if issues:
        return None, issues
    return RestructuringOperation(line=line, op=op,
                                  school_code=code, target_code=fields.get("target_code"),
                                  **values), []


def _check_region(line: int, fields: Mapping[str, str], values: dict[str, Any]) -> list[Issue]:
    """County must exist; a given city must be the county's; a blank city is filled in."""
    county_code = fields.get("county_code")
    city_code = fields.get("city_code")
    if county_code is None:
        return []
    county = divisions().county(county_code)
    if county is None:
        return [Issue(IssueKind.UNKNOWN_COUNTY, f"县区代码不存在 {county_code!r} (unknown county "
                      "code)", line, "county_code")]
    if city_code is not None and city_code != county.city_code:
        return [Issue(IssueKind.CITY_MISMATCH, f"{county.name} ({county_code}) 属于 "
                      f"{county.city_name} ({county.city_code})，不属于 {city_code} (the city does "
                      "not match the county)", line, "city_code")]
    values["county_code"] = county_code
    values["city_code"] = county.city_code
    return []


def _stage(raw: str) -> Stage | None:
    if raw in STAGE_ALIASES:
        return STAGE_ALIASES[raw]
    try:
        return Stage(raw.lower())
    except ValueError:
        return None


def _reporting_line(raw: str) -> ReportingLine | None:
    if raw in LINE_ALIASES:
        return LINE_ALIASES[raw]
    try:
        return ReportingLine(raw.lower())
    except ValueError:
        return None


def _flag(raw: str) -> bool | None:
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None
