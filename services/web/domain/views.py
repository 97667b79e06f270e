"""View models: the backends' JSON shaped into what a page shows (pure functions)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from services.web.domain.labels import REVIEW_KIND, REVIEW_LEVEL, status_label, value_label


@dataclass(frozen=True)
class SchoolRow:
    teacher_id: str
    name: str
    id_number_masked: str
    gender: str
    post_status: str
    status: str | None
    status_label: str
    reject_reason: str


def rejection_text(rejected: Mapping[str, Any] | None) -> str:
    """"县级审核：reason" for a rejected item, "" otherwise."""
    if not rejected:
        return ""
    level = REVIEW_LEVEL.get(str(rejected.get("level")), "")
    reason = str(rejected.get("reason") or "")
    return f"{level}：{reason}" if level else reason


def school_rows(teachers: Iterable[Mapping[str, Any]],
                queue_items: Iterable[Mapping[str, Any]]) -> list[SchoolRow]:
    """Intake's teachers of a school, each with its review state from review's queue (a
    teacher review has not seen yet is "未进入审核"). Sorted by name."""
    items = {str(i["teacher_id"]): i for i in queue_items}
    rows = []
    for t in teachers:
        record = t.get("record") or {}
        item = items.get(str(t["teacher_id"]))
        status = str(item["status"]) if item else None
        rows.append(SchoolRow(
            teacher_id=str(t["teacher_id"]), name=str(record.get("name", "")),
            id_number_masked=str(record.get("id_number_masked", "")),
            gender=value_label(record.get("gender")),
            post_status=value_label(record.get("post_status")),
            status=status, status_label=status_label(status),
            reject_reason=rejection_text(item.get("rejected") if item else None)))
    return sorted(rows, key=lambda r: (r.name, r.teacher_id))


@dataclass(frozen=True)
class QueueRow:
    teacher_id: str
    record_version: int
    name: str
    school: str
    kind: str
    status: str
    submitted_at: str
    hard_failures: int
    warnings: int
    proof: str
    reject_reason: str

    @property
    def selection(self) -> str:
        return f"{self.teacher_id}:{self.record_version}"


def _when(value: Any) -> str:
    text = str(value or "")
    return text[:16].replace("T", " ")


def queue_rows(items: Iterable[Mapping[str, Any]]) -> list[QueueRow]:
    """Review's queue items, in the order review gave them (oldest submission first)."""
    out = []
    for i in items:
        kind = str(i.get("kind", ""))
        needs_proof = kind in ("transfer", "return_to_post")
        out.append(QueueRow(
            teacher_id=str(i["teacher_id"]), record_version=int(i["record_version"]),
            name=str(i.get("name") or ""),
            school=str(i.get("school_name") or i.get("school_code") or ""),
            kind=REVIEW_KIND.get(kind, kind), status=status_label(i.get("status")),
            submitted_at=_when(i.get("submitted_at")),
            hard_failures=int(i.get("hard_failures") or 0),
            warnings=int(i.get("warnings") or 0),
            proof=("有" if i.get("has_proof") else "无") if needs_proof else "—",
            reject_reason=rejection_text(i.get("rejected"))))
    return out


def parse_selection(values: Sequence[str]) -> tuple[list[tuple[str, int]], list[str]]:
    """The queue's checked boxes ("teacher_id:record_version") and those that are not."""
    good, bad = [], []
    for v in values:
        teacher_id, _, version = v.rpartition(":")
        if teacher_id and version.isdigit():
            good.append((teacher_id, int(version)))
        else:
            bad.append(v)
    return good, bad


@dataclass(frozen=True)
class ReportTable:
    name: str
    title: str
    headers: list[str]
    rows: list[list[str]]
    numeric: list[bool]
    note: str
    flags: list[str]


def cell(value: Any, kind: str) -> str:
    if value is None:
        return "—"
    if kind == "rate" and isinstance(value, int | float):
        return f"{value * 100:.1f}%"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def report_tables(report: Mapping[str, Any], max_rows: int = 200) -> list[ReportTable]:
    """Reporting's JSON report (`Report.as_dict()`) as tables of text, at most `max_rows`
    rows each (the download has them all)."""
    out = []
    for t in report.get("tables") or []:
        columns = t.get("columns") or []
        kinds = [str(c.get("kind", "text")) for c in columns]
        rows = [[cell(r.get(c.get("key")), k) for c, k in zip(columns, kinds, strict=True)]
                for r in (t.get("rows") or [])[:max_rows]]
        out.append(ReportTable(
            name=str(t.get("name", "")), title=str(t.get("title", "")),
            headers=[str(c.get("label", c.get("key", ""))) for c in columns], rows=rows,
            numeric=[k in ("int", "rate", "float") for k in kinds],
            note=str(t.get("note") or ""),
            flags=[str(f.get("message", "")) for f in t.get("flags") or []]))
    return out


@dataclass(frozen=True)
class Card:
    label: str
    value: str
    note: str = ""


def _rate(value: Any) -> str:
    return "—" if not isinstance(value, int | float) else f"{value * 100:.1f}%"


def headline_cards(h: Mapping[str, Any]) -> list[Card]:
    """The dashboard's headline figures (reporting's `summary.headline`)."""
    def num(key: str) -> str:
        return cell(h.get(key), "int")

    return [
        Card("年报学校数", num("annual_schools")),
        Card("已录入学校数", num("entered_schools"), "至少录入 1 名在职教职工"),
        Card("学校录入率", str(h.get("school_rate_notice") or _rate(h.get("school_rate")))),
        Card("年报教职工数", num("annual_staff")),
        Card("录入教职工数", num("entered_staff"), "在本单位任职"),
        Card("教师录入率", str(h.get("staff_rate_notice") or _rate(h.get("staff_rate")))),
        Card("审核完成教师数", num("review_complete"), "县级审核通过当前版本"),
        Card("平均信息完整率", _rate(h.get("completeness_avg"))),
        Card("未录入教师的学校", num("schools_missing")),
    ]
