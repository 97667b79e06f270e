"""Words people type for the closed vocabularies, in Chinese or English, mapped to their keys.

The import template and its users speak Chinese (男/女, 在本单位任职, 是/否, 小学); JSON speaks the
English keys of shared/contracts/vocabulary.py. Both are accepted here; anything else is None,
which the caller reports as a field problem.
"""

from __future__ import annotations

from enum import StrEnum
from functools import cache
from typing import TypeVar

from shared.contracts.vocabulary import LABELS, Gender, LeaveReason, PostStatus, Stage

E = TypeVar("E", bound=StrEnum)

# Extra spellings people use beyond the canonical labels of LABELS.
_ALIASES: dict[str, str] = {
    "小学": Stage.PRIMARY,
    "教学点": Stage.PRIMARY,
    "幼儿教育": Stage.KINDERGARTEN,
    "学前": Stage.KINDERGARTEN,
    "普通高中": Stage.SENIOR,
    "特殊教育": Stage.SPECIAL,
    "中等职业教育": Stage.VOCATIONAL,
    "高等教育": Stage.HIGHER,
    "在职": PostStatus.IN_POST,
    "不在职": PostStatus.NOT_IN_POST,
    "男性": Gender.MALE,
    "女性": Gender.FEMALE,
}

_TRUE = {"是", "true", "yes", "y", "1", "专任教师"}
_FALSE = {"否", "false", "no", "n", "0", "非专任教师"}


def enum_value(kind: type[E], raw: object) -> E | None:
    """The member of `kind` that `raw` names (English key, Chinese label or alias), or None."""
    if isinstance(raw, kind):
        return raw
    text = str(raw).strip()
    if not text:
        return None
    keys, words = _spellings(kind)
    return keys.get(text.lower()) or words.get(text)


@cache
def _spellings(kind: type[E]) -> tuple[dict[str, E], dict[str, E]]:
    """Per vocabulary: its keys (matched case-blind) and its labels and aliases (matched as
    typed). Built once: an import looks up several coded cells in every row (the profile of a
    50,000-row import showed the per-cell scan of LABELS and a raised ValueError at 6%)."""
    keys = {m.value: m for m in kind}
    words: dict[str, E] = {}
    for key, word in LABELS.items():  # the first label wins, and a label wins over an alias
        if key in keys:
            words.setdefault(word, keys[key])
    for alias, key in _ALIASES.items():
        if key in keys:
            words.setdefault(alias, keys[key])
    return keys, words


def yes_no(raw: object) -> bool | None:
    """是/否 (or true/false, yes/no, 1/0) as a bool; None when it is neither."""
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None


def label(value: StrEnum | bool | None) -> str:
    """The Chinese word for a vocabulary key (是/否 for a bool), as the template shows it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if value == Stage.PRIMARY:
        return "小学"
    return LABELS.get(value, str(value))


__all__ = ["Gender", "LeaveReason", "PostStatus", "Stage", "enum_value", "label", "yes_no"]
