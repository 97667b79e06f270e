"""`tmis orgsync`: the Chinese tables, the exit codes, where the URL comes from.

The fake orgsync behind httpx.MockTransport answers with what the real domain computes for
the uploaded file, so the command renders real plans."""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path
from uuid import uuid4

import httpx
import pytest

from services.orgsync.domain.errors import BatchRefused
from services.orgsync.domain.model import Batch, RegistrySnapshot, SchoolState
from services.orgsync.domain.parsing import parse_batch
from services.orgsync.domain.pending import summarise_pending
from services.orgsync.domain.planning import plan
from shared.contracts.events import SchoolProfile
from shared.contracts.vocabulary import Stage
from tmis_cli import CliError
from tmis_cli.commands.orgsync import (
    orgsync_url,
    render_plan,
    run_apply,
    run_pending,
    run_plan,
)


def a_school(in_post: int = 0, stage: Stage = Stage.PRIMARY) -> SchoolState:
    profile = SchoolProfile(name=f"学校{uuid4().hex[:4]}", stage=stage, county_code="620522",
                            city_code="620500")
    return SchoolState(f"S{uuid4().hex[:8]}", profile, True, in_post, in_post)


class FakeOrgsync:
    """Plans and applies against an in-memory registry, as the service would answer."""

    def __init__(self, *schools: SchoolState) -> None:
        self.snapshot = RegistrySnapshot({s.code: s for s in schools})
        self.applied: dict[str, str] = {}
        self.announced: list[Batch] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/pending":
            report = summarise_pending([(b, None) for b in self.announced],
                                       {c: s.profile.stage for c, s in
                                        self.snapshot.schools.items()})
            return httpx.Response(200, json=report.as_dict())
        fmt = "json" if "json" in request.headers["content-type"] else "csv"
        parsed = parse_batch(request.content, fmt)
        assert parsed.batch is not None
        result = plan(parsed.batch, self.snapshot, issues=parsed.issues)
        if request.url.path == "/v1/batches/plan":
            return httpx.Response(200, json=result.as_dict())
        if not result.ok:
            return httpx.Response(422, json=BatchRefused(parsed.batch.batch_id,
                                                         result.problems).as_dict())
        outcome = ("already_applied" if parsed.batch.batch_id in self.applied else "applied")
        self.applied[parsed.batch.batch_id] = parsed.batch.fingerprint()
        return httpx.Response(200, json={
            "outcome": outcome, "batch_id": parsed.batch.batch_id,
            "effective_date": "2017-06-30", "operations": len(parsed.batch.operations),
            "teachers_to_move": result.teachers_to_move, "summary": {
                "counts": result.as_dict()["counts"], "warnings": []}})

    def factory(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self.handle), base_url="http://fake")


def batch_file(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / f"{uuid4().hex[:6]}.csv"
    path.write_text("batch_id,effective_date,op,school_code,target_code\n"
                    + "".join(f"Q1,2017-06-30,{r}\n" for r in rows), encoding="utf-8")
    return path


def args(file: Path | None = None, as_json: bool = False) -> argparse.Namespace:
    return argparse.Namespace(file=file, json=as_json, url=None)


def test_a_plan_without_problems_prints_the_changes_and_counts_and_exits_0(tmp_path, capsys):
    a, b = a_school(in_post=12), a_school()
    fake = FakeOrgsync(a, b)
    code = run_plan(args(batch_file(tmp_path, f"merge,{a.code},{b.code}")), fake.factory)
    out = capsys.readouterr().out
    assert code == 0
    assert "随校调整教师 12 人" in out
    assert f"并入 {b.code}" in out
    assert "秦安县" in out and "小学 (含教学点)" in out
    assert "结论: 可以应用" in out


def test_a_plan_with_problems_lists_them_by_line_and_exits_1(tmp_path, capsys):
    a = a_school(in_post=3)
    fake = FakeOrgsync(a)
    code = run_plan(args(batch_file(tmp_path, f"close,{a.code},", "close,NOPE,")),
                    fake.factory)
    out = capsys.readouterr().out
    assert code == 1
    assert "问题 (2)" in out
    assert "3 名在岗教师" in out and "NOPE" in out
    assert "整批不能应用" in out


def test_a_refused_apply_prints_every_problem_and_exits_1(tmp_path, capsys):
    a = a_school()
    fake = FakeOrgsync(a)
    code = run_apply(args(batch_file(tmp_path, f"merge,{a.code},{a.code}")), fake.factory)
    out = capsys.readouterr().out
    assert code == 1
    assert "被拒绝" in out and "不能并入自身" in out
    assert fake.applied == {}


def test_applying_twice_says_the_second_time_changed_nothing(tmp_path, capsys):
    a, b = a_school(in_post=2), a_school()
    fake = FakeOrgsync(a, b)
    path = batch_file(tmp_path, f"merge,{a.code},{b.code}")
    assert run_apply(args(path), fake.factory) == 0
    assert "已应用" in capsys.readouterr().out
    assert run_apply(args(path), fake.factory) == 0
    assert "此前已应用" in capsys.readouterr().out


def test_json_output_is_the_api_answer(tmp_path, capsys):
    a, b = a_school(in_post=2), a_school()
    run_plan(args(batch_file(tmp_path, f"merge,{a.code},{b.code}"), as_json=True),
             FakeOrgsync(a, b).factory)
    assert json.loads(capsys.readouterr().out)["teachers_to_move"] == 2


def test_pending_prints_the_notice_sentence_and_a_table(capsys):
    kg, voc = a_school(stage=Stage.KINDERGARTEN), a_school(stage=Stage.VOCATIONAL)
    fake = FakeOrgsync(kg, voc)
    parsed = parse_batch(f"batch_id,effective_date,op,school_code\nQ9,2017-06-30,close,{kg.code}"
                         f"\nQ9,2017-06-30,close,{voc.code}\n".encode(), "csv")
    assert parsed.batch is not None
    fake.announced.append(parsed.batch)
    assert run_pending(args(), fake.factory) == 0
    out = capsys.readouterr().out
    assert "目前有幼儿园 1 所、中职学校 1 所、中小学校 0 所未完成撤并工作。" in out
    assert "Q9" in out


def test_a_missing_file_is_an_error_a_person_can_act_on(tmp_path):
    with pytest.raises(CliError):
        run_plan(args(tmp_path / "nope.csv"), FakeOrgsync().factory)


def test_the_url_comes_from_the_option_the_environment_or_stack_json(tmp_path, monkeypatch):
    monkeypatch.delenv("TMIS_ORGSYNC_URL", raising=False)
    monkeypatch.setenv("TMIS_HOME", str(tmp_path))
    with pytest.raises(CliError):
        orgsync_url()
    (tmp_path / "stack.json").write_text(json.dumps(
        {"services": {"orgsync": {"port": 41234, "url": "http://127.0.0.1:41234"}}}))
    assert orgsync_url() == "http://127.0.0.1:41234"
    monkeypatch.setenv("TMIS_ORGSYNC_URL", "http://orgsync.example:8000/")
    assert orgsync_url() == "http://orgsync.example:8000"
    assert orgsync_url("http://other:1") == "http://other:1"



def test_a_change_of_reporting_line_reads_from_county_owned_to_city_owned(tmp_path, capsys):
    a = a_school()
    path = tmp_path / "line.csv"
    path.write_text("batch_id,effective_date,op,school_code,reporting_line\n"
                    f"Q2,2017-06-30,change_reporting_line,{a.code},city\n", encoding="utf-8")
    assert run_plan(args(path), FakeOrgsync(a).factory) == 0
    assert "县属 → 市属" in capsys.readouterr().out


def test_a_plan_of_a_batch_already_applied_says_applying_again_changes_nothing(capsys):
    doc = plan(Batch("Q3", date(2017, 6, 30), ()), RegistrySnapshot()).as_dict()
    text = render_plan({**doc, "known_batch": {"status": "applied", "same_content": True}})
    assert "再次应用不会做任何修改" in text
