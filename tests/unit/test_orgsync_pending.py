"""Pending restructurings, counted per stage the way the notice words them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import uuid4

from services.orgsync.domain.model import Batch
from services.orgsync.domain.pending import summarise_pending
from shared.contracts.events import RestructuringOperation
from shared.contracts.vocabulary import Stage


def a_code() -> str:
    return f"S{uuid4().hex[:10]}"


def batch_of(*ops: tuple[str, str], when: date = date(2017, 6, 30)) -> Batch:
    target = a_code()
    built = []
    for i, (kind, code) in enumerate(ops, start=1):
        extra: dict[str, object] = {}
        if kind == "merge":
            extra["target_code"] = target
        if kind == "open":
            extra.update(name="新校", stage=Stage.PRIMARY, county_code="620102",
                         city_code="620100")
        if kind == "rename":
            extra["name"] = "新名"
        built.append(RestructuringOperation(line=i, op=kind, school_code=code,  # type: ignore[arg-type]
                                            **extra))
    return Batch(f"B{uuid4().hex[:8]}", when, tuple(built))


def test_schools_to_merge_or_close_are_counted_per_stage_group_of_the_notice():
    kg1, kg2, voc, primary, junior, senior = (a_code() for _ in range(6))
    stages = {kg1: Stage.KINDERGARTEN, kg2: Stage.KINDERGARTEN, voc: Stage.VOCATIONAL,
              primary: Stage.PRIMARY, junior: Stage.JUNIOR, senior: Stage.SENIOR}
    batch = batch_of(("merge", kg1), ("close", kg2), ("merge", voc), ("close", primary),
                     ("merge", junior), ("close", senior))
    report = summarise_pending([(batch, datetime.now(UTC))], stages)
    assert report.totals()["kindergarten"] == 2
    assert report.totals()["vocational"] == 1
    assert report.totals()["primary_secondary"] == 3
    assert report.sentence() == "目前有幼儿园 2 所、中职学校 1 所、中小学校 3 所未完成撤并工作。"


def test_openings_and_other_changes_are_not_counted_as_merges():
    kept = a_code()
    batch = batch_of(("open", a_code()), ("rename", kept))
    report = summarise_pending([(batch, None)], {kept: Stage.PRIMARY})
    (only,) = report.batches
    assert (only.opening, only.other, sum(only.merging.values())) == (1, 1, 0)
    assert report.sentence() == "目前有幼儿园 0 所、中职学校 0 所、中小学校 0 所未完成撤并工作。"


def test_a_school_unknown_to_the_registry_is_counted_as_of_unknown_stage():
    report = summarise_pending([(batch_of(("close", a_code())), None)], {})
    assert report.totals()["unknown"] == 1
    assert "学段不明 1 所" in report.sentence()


def test_pending_batches_are_listed_by_effective_date_and_summed():
    a, b = a_code(), a_code()
    late = batch_of(("close", a), when=date(2017, 9, 30))
    early = batch_of(("close", b), when=date(2017, 6, 30))
    report = summarise_pending([(late, None), (early, None)],
                               {a: Stage.KINDERGARTEN, b: Stage.KINDERGARTEN})
    assert [p.batch_id for p in report.batches] == [early.batch_id, late.batch_id]
    assert report.totals()["kindergarten"] == 2
    assert report.as_dict()["labels"]["primary_secondary"] == "中小学校"
