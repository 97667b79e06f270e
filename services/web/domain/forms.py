"""The teacher form: its fields (named as intake's RecordIn), what a submitted form asks intake
to do, and intake's 422 problems put back next to the fields they belong to.

Validation stays in intake (the one place the rules live); the form only turns text into the
JSON types and translates intake's answers into Chinese for the reader.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from services.web.domain.labels import field_label
from shared.contracts.vocabulary import Gender, PostStatus, Stage, label


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    kind: str = "text"  # text | date | select
    options: tuple[tuple[str, str], ...] = ()
    required: bool = True


BOOL_OPTIONS = (("true", "是"), ("false", "否"))
TEACHER_FIELDS: tuple[FormField, ...] = (
    FormField("name", "姓名"),
    FormField("id_number", "身份证号"),
    FormField("gender", "性别", "select",
              (("", "请选择"), *((g.value, label(g)) for g in Gender))),
    FormField("birth_date", "出生日期", "date"),
    FormField("ethnicity", "民族"),
    FormField("post_status", "任职状态", "select",
              tuple((p.value, label(p)) for p in PostStatus)),
    FormField("is_fulltime_teacher", "是否专任教师", "select", BOOL_OPTIONS),
    FormField("hire_date", "参加工作日期", "date"),
    FormField("political_status", "政治面貌", required=False),
    FormField("stage_taught", "任教学段", "select",
              (("", "（未填）"), *((s.value, label(s)) for s in Stage)), required=False),
    FormField("highest_education", "最高学历", required=False),
    FormField("professional_title", "专业技术职务", required=False),
    FormField("teacher_qualification", "教师资格", required=False),
)
TEACHER_FIELD_NAMES = frozenset(f.name for f in TEACHER_FIELDS)
_BOOLS = frozenset({"is_fulltime_teacher"})


@dataclass
class FormErrors:
    """Problems by field name, and those that belong to no field of the form."""

    fields: dict[str, str] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.fields or self.general)


def form_values(form: Mapping[str, Any], names: Iterable[str]) -> dict[str, str]:
    """The text the user typed, trimmed, for the fields named (to show the form again)."""
    out = {}
    for name in names:
        value = form.get(name)
        out[name] = value.strip() if isinstance(value, str) else ""
    return out


def _typed(name: str, text: str) -> Any:
    if name in _BOOLS:
        return {"true": True, "false": False}.get(text, text)
    return text


def new_record(values: Mapping[str, str]) -> dict[str, Any]:
    """The `record` of intake's TeacherIn: every filled field, typed; empty ones left out (so a
    missing required field is intake's "Field required", shown next to it)."""
    return {f.name: _typed(f.name, values[f.name]) for f in TEACHER_FIELDS
            if values.get(f.name)}


def record_values(record: Mapping[str, Any], id_number: str | None) -> dict[str, str]:
    """A stored record (intake's TeacherOut.record) as the form's text values."""
    out: dict[str, str] = {}
    for f in TEACHER_FIELDS:
        if f.name == "id_number":
            out[f.name] = id_number or ""
            continue
        value = record.get(f.name)
        if isinstance(value, bool):
            out[f.name] = "true" if value else "false"
        else:
            out[f.name] = "" if value is None else str(value)
    return out


def record_changes(before: Mapping[str, str], after: Mapping[str, str]) -> dict[str, Any]:
    """The `record` of intake's TeacherPatch: only what changed; a cleared optional field is
    null. The ID number is sent only when the user typed a different one (an edit page of a
    record whose full number is not shown to this user leaves it empty)."""
    changes: dict[str, Any] = {}
    for f in TEACHER_FIELDS:
        old, new = before.get(f.name, ""), after.get(f.name, "")
        if old == new or (f.name == "id_number" and not new):
            continue
        changes[f.name] = _typed(f.name, new) if new else None
    return changes


_PYDANTIC = (
    (re.compile(r"^Field required"), "必填"),
    (re.compile(r"^String should have at least 1 character"), "必填"),
    (re.compile(r"^String should have at most (\d+) characters?"), "过长（最多 {0} 个字）"),
    (re.compile(r"^Input should be a valid date"), "日期格式不正确（应为 年-月-日）"),
    (re.compile(r"^Input should be a valid boolean"), "请选择是或否"),
    (re.compile(r"^Input should be "), "取值无效，请从列表中选择"),
    (re.compile(r"^Extra inputs are not permitted"), "不应有此项"),
    (re.compile(r"between 1900"), "日期须在 1900 年至 2100 年之间"),
    (re.compile(r"control characters"), "不能包含控制字符"),
)
_TRAILING_CHINESE = re.compile(
    r"^(?P<detail>.*?)\s*[(（](?P<zh>[^()（）]*[\u4e00-\u9fff][^()（）]*)[)）]\s*$", re.S)


_FIELD_LIST = re.compile(r"^(?:missing|not filled):\s*([a-z_]+(?:,\s*[a-z_]+)*)$")


def chinese_message(msg: str) -> str:
    """A backend's message for a reader: pydantic's English rules in Chinese; a domain message
    that ends in "(中文)" leads with the Chinese and keeps the detail in brackets."""
    for pattern, text in _PYDANTIC:
        m = pattern.search(msg)
        if m:
            return text.format(*m.groups())
    m = _TRAILING_CHINESE.match(msg)
    if m:
        detail = m.group("detail").strip().rstrip(":：")
        fields = _FIELD_LIST.match(detail)
        if fields:  # review's "missing: a, b (必填项缺失)": the fields by their Chinese labels
            names = [field_label(f.strip()) for f in fields.group(1).split(",")]
            return f"{m.group('zh')}：{'、'.join(names)}"
        return f"{m.group('zh')}（{detail}）" if detail else m.group("zh")
    return msg


def field_of(loc: Any, names: frozenset[str]) -> str | None:
    """The form field a problem's `loc` points at: "body.record.id_number", "record.id_number",
    ["body", "record", "id_number"] and "id_number" all name `id_number`."""
    parts = [str(p) for p in loc] if isinstance(loc, list | tuple) else str(loc or "").split(".")
    for part in reversed(parts):
        if part in names:
            return part
    return None


def map_problems(problems: Iterable[Mapping[str, Any]], names: frozenset[str],
                 message: str | None = None) -> FormErrors:
    """Intake's 422 problems, each next to its field (the first problem of a field wins)."""
    errors = FormErrors()
    for p in problems:
        msg = chinese_message(str(p.get("msg", "")))
        name = field_of(p.get("loc"), names)
        if name is None:
            errors.general.append(msg)
        else:
            errors.fields.setdefault(name, msg)
    if not errors and message:
        errors.general.append(chinese_message(message))
    return errors
