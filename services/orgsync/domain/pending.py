"""Restructurings announced but not yet applied, counted per stage as the notice words it.

The notice (甘教师〔2017〕5号) says: "目前有幼儿园 249 所、中职学校 9 所、中小学校 136 所未完成撤并
工作". A school counts here when a pending batch merges or closes it (撤并), under the stage the
registry gives it now; schools a pending batch opens or only changes are counted on their own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from services.orgsync.domain.model import TERMINAL_OPS, Batch
from shared.contracts.vocabulary import Stage

# (key, the notice's word, stages); the first three are the notice's own groups.
STAGE_GROUPS: tuple[tuple[str, str, frozenset[Stage]], ...] = (
    ("kindergarten", "幼儿园", frozenset({Stage.KINDERGARTEN})),
    ("vocational", "中职学校", frozenset({Stage.VOCATIONAL})),
    ("primary_secondary", "中小学校", frozenset({Stage.PRIMARY, Stage.JUNIOR, Stage.SENIOR})),
    ("special", "特教学校", frozenset({Stage.SPECIAL})),
    ("higher", "高校", frozenset({Stage.HIGHER})),
)
UNKNOWN_GROUP = ("unknown", "学段不明")
NOTICE_GROUPS = ("kindergarten", "vocational", "primary_secondary")


def group_of(stage: Stage | None) -> str:
    for key, _, stages in STAGE_GROUPS:
        if stage in stages:
            return key
    return UNKNOWN_GROUP[0]


def group_labels() -> dict[str, str]:
    return {**{k: label for k, label, _ in STAGE_GROUPS}, UNKNOWN_GROUP[0]: UNKNOWN_GROUP[1]}


@dataclass(frozen=True)
class PendingBatch:
    batch_id: str
    effective_date: date
    announced_at: datetime | None
    operations: int
    merging: dict[str, int]  # schools merged or closed (撤并), per stage group
    opening: int
    other: int

    def as_dict(self) -> dict[str, Any]:
        return {"batch_id": self.batch_id, "effective_date": self.effective_date.isoformat(),
                "announced_at": self.announced_at.isoformat() if self.announced_at else None,
                "operations": self.operations, "merging": self.merging,
                "opening": self.opening, "other": self.other}


@dataclass(frozen=True)
class PendingReport:
    batches: list[PendingBatch] = field(default_factory=list)

    def totals(self) -> dict[str, int]:
        out = {k: 0 for k in group_labels()}
        for b in self.batches:
            for k, n in b.merging.items():
                out[k] += n
        return out

    def sentence(self) -> str:
        """The notice's sentence, for these batches."""
        totals = self.totals()
        labels = group_labels()
        shown = [k for k in labels if k in NOTICE_GROUPS or totals[k]]
        parts = "、".join(f"{labels[k]} {totals[k]} 所" for k in shown)
        return f"目前有{parts}未完成撤并工作。"

    def as_dict(self) -> dict[str, Any]:
        return {"batches": [b.as_dict() for b in self.batches], "totals": self.totals(),
                "labels": group_labels(), "sentence": self.sentence()}


def summarise_pending(pending: Sequence[tuple[Batch, datetime | None]],
                      stage_of: Mapping[str, Stage]) -> PendingReport:
    """`pending`: the announced, not applied batches; `stage_of`: the registry's stage of the
    schools they name (a school missing from it counts under "学段不明")."""
    out = []
    for batch, announced_at in sorted(pending, key=lambda p: (p[0].effective_date,
                                                              p[0].batch_id)):
        merging = {k: 0 for k in group_labels()}
        seen: set[str] = set()
        opening = other = 0
        for op in batch.operations:
            if op.op in TERMINAL_OPS:
                if op.school_code not in seen:
                    seen.add(op.school_code)
                    merging[group_of(stage_of.get(op.school_code))] += 1
            elif op.op == "open":
                opening += 1
            else:
                other += 1
        out.append(PendingBatch(batch.batch_id, batch.effective_date, announced_at,
                                len(batch.operations), merging, opening, other))
    return PendingReport(out)
