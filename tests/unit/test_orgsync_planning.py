"""Planning a restructuring batch: every problem kind, the file-order rules, the counts."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from uuid import uuid4

from services.orgsync.domain.model import (
    Batch,
    Counts,
    IssueKind,
    RegistrySnapshot,
    SchoolState,
)
from services.orgsync.domain.parsing import parse_csv
from services.orgsync.domain.planning import Plan, plan
from shared.contracts.events import RestructuringOperation, SchoolProfile
from shared.contracts.vocabulary import ReportingLine, Stage
from shared.domain.divisions import divisions

CHENGGUAN = "620102"  # 兰州市城关区
QINAN = "620522"  # 天水市秦安县


def a_code() -> str:
    return f"S{uuid4().hex[:10]}"


def a_profile(stage: Stage = Stage.PRIMARY, county: str = CHENGGUAN,
              teaching_point: bool = False) -> SchoolProfile:
    city = divisions().city_of(county)
    assert city is not None
    return SchoolProfile(name=f"学校{uuid4().hex[:6]}", stage=stage, county_code=county,
                         city_code=city, is_teaching_point=teaching_point)


def a_school(stage: Stage = Stage.PRIMARY, county: str = CHENGGUAN, in_post: int = 0,
             not_in_post: int = 0, open_: bool = True, teaching_point: bool = False,
             merged_into: str | None = None) -> SchoolState:
    return SchoolState(a_code(), a_profile(stage, county, teaching_point), open_, in_post,
                       in_post + not_in_post, merged_into)


def counted(*schools: SchoolState) -> dict[tuple[str, Stage], Counts]:
    """Counts as the registry keeps them, by the notice's rules, for the given schools."""
    out: dict[tuple[str, Stage], Counts] = {}
    for s in schools:
        if s.open:
            key = (s.profile.county_code, s.profile.stage)
            out[key] = out.get(key, Counts()) + Counts(
                1, 1 if s.in_post else 0, 1 if s.profile.is_teaching_point else 0, s.in_post)
    return out


def registry(*schools: SchoolState) -> RegistrySnapshot:
    return RegistrySnapshot({s.code: s for s in schools}, counted(*schools))


def op(kind: str, school_code: str, line: int = 0, **fields: object) -> RestructuringOperation:
    if "county_code" in fields and "city_code" not in fields:
        fields["city_code"] = divisions().city_of(str(fields["county_code"]))
    return RestructuringOperation(line=line or 1, op=kind, school_code=school_code,  # type: ignore[arg-type]
                                  **fields)


def a_batch(*ops: RestructuringOperation) -> Batch:
    numbered = tuple(o if o.line > 1 else o.model_copy(update={"line": i})
                     for i, o in enumerate(ops, start=2))
    return Batch(f"B{uuid4().hex[:8]}", date(2017, 6, 30), numbered)


def kinds(p: Plan) -> list[IssueKind]:
    return [i.kind for i in p.problems]


def problem_lines(p: Plan, kind: IssueKind) -> list[int | None]:
    return [i.line for i in p.problems if i.kind is kind]


# --------------------------------------------------------------------------- merges


def test_a_merge_moves_every_teacher_of_the_school_to_the_target_and_closes_it():
    a, b = a_school(in_post=7, not_in_post=2), a_school(in_post=3)
    result = plan(a_batch(op("merge", a.code, target_code=b.code)), registry(a, b))
    assert result.ok
    assert result.teachers_to_move == 9
    assert result.in_post_to_move == 7
    assert [(m.from_code, m.to_code, m.teachers) for m in result.moves] == [(a.code, b.code, 9)]
    assert not result.final[a.code].open
    assert result.final[a.code].merged_into == b.code


def test_opening_a_school_and_then_merging_into_it_in_the_same_batch_is_valid():
    a, new = a_school(in_post=4), a_code()
    batch = a_batch(op("open", new, name="新城小学", stage=Stage.PRIMARY, county_code=CHENGGUAN),
                    op("merge", a.code, target_code=new))
    result = plan(batch, registry(a))
    assert result.ok, result.problems
    assert result.final[new].opened
    assert result.moves[0].to_code == new


def test_merging_into_a_school_the_batch_opens_only_later_is_refused_with_a_hint():
    a, new = a_school(in_post=4), a_code()
    batch = a_batch(op("merge", a.code, target_code=new),
                    op("open", new, name="新城小学", stage=Stage.PRIMARY, county_code=CHENGGUAN))
    result = plan(batch, registry(a))
    assert kinds(result) == [IssueKind.UNKNOWN_SCHOOL]
    assert "第 3 行才新设" in result.problems[0].message
    assert result.problems[0].line == 2


def test_merging_into_a_school_the_batch_closes_is_refused_whatever_the_order():
    a, b, c = a_school(in_post=1), a_school(), a_school()
    before = plan(a_batch(op("close", b.code), op("merge", a.code, target_code=b.code)),
                  registry(a, b))
    after = plan(a_batch(op("merge", a.code, target_code=c.code), op("close", c.code)),
                 registry(a, c))
    assert problem_lines(before, IssueKind.TARGET_LEAVES) == [3]
    assert problem_lines(after, IssueKind.TARGET_LEAVES) == [2]


def test_merging_into_a_school_the_batch_merges_away_is_refused():
    a, b, c = a_school(in_post=2), a_school(in_post=2), a_school()
    result = plan(a_batch(op("merge", a.code, target_code=b.code),
                          op("merge", b.code, target_code=c.code)), registry(a, b, c))
    assert problem_lines(result, IssueKind.TARGET_LEAVES) == [2]
    assert IssueKind.CYCLE not in kinds(result)


def test_a_school_cannot_be_merged_into_itself():
    a = a_school(in_post=1)
    result = plan(a_batch(op("merge", a.code, target_code=a.code)), registry(a))
    assert kinds(result) == [IssueKind.SELF_MERGE]


def test_two_schools_merged_into_each_other_are_reported_as_a_cycle():
    a, b = a_school(in_post=1), a_school(in_post=1)
    result = plan(a_batch(op("merge", a.code, target_code=b.code),
                          op("merge", b.code, target_code=a.code)), registry(a, b))
    cycles = [i for i in result.problems if i.kind is IssueKind.CYCLE]
    assert len(cycles) == 1
    assert f"{a.code} → {b.code} → {a.code}" in cycles[0].message


def test_a_longer_cycle_through_a_close_with_target_is_found_once():
    a, b, c = a_school(in_post=1), a_school(in_post=1), a_school(in_post=1)
    result = plan(a_batch(op("merge", a.code, target_code=b.code),
                          op("close", b.code, target_code=c.code),
                          op("merge", c.code, target_code=a.code)), registry(a, b, c))
    cycles = [i for i in result.problems if i.kind is IssueKind.CYCLE]
    assert len(cycles) == 1
    assert "2, 3, 4" in cycles[0].message


def test_merging_into_a_school_closed_in_the_registry_is_refused():
    a, gone = a_school(in_post=1), a_school(open_=False)
    result = plan(a_batch(op("merge", a.code, target_code=gone.code)), registry(a, gone))
    assert kinds(result) == [IssueKind.TARGET_CLOSED]


def test_a_merge_across_stages_and_counties_is_allowed_with_warnings():
    kg, primary = a_school(Stage.KINDERGARTEN, in_post=2), a_school(Stage.PRIMARY, QINAN)
    result = plan(a_batch(op("merge", kg.code, target_code=primary.code)), registry(kg, primary))
    assert result.ok
    assert {w.kind for w in result.warnings} == {IssueKind.CROSS_STAGE_MERGE,
                                                 IssueKind.CROSS_COUNTY_MERGE}


# --------------------------------------------------------------------------- closes


def test_closing_a_school_with_teachers_in_post_and_no_target_is_refused():
    a = a_school(in_post=3)
    result = plan(a_batch(op("close", a.code)), registry(a))
    assert kinds(result) == [IssueKind.TEACHERS_IN_POST]
    assert "3 名在岗教师" in result.problems[0].message


def test_closing_a_school_with_teachers_in_post_and_a_target_moves_them_there():
    a, b = a_school(in_post=3), a_school()
    result = plan(a_batch(op("close", a.code, target_code=b.code)), registry(a, b))
    assert result.ok
    assert result.teachers_to_move == 3
    assert [(m.from_code, m.to_code) for m in result.moves] == [(a.code, b.code)]
    assert not result.final[a.code].open
    assert result.final[a.code].merged_into is None  # a closure, not a merge


def test_closing_an_empty_school_needs_no_target():
    a = a_school()
    result = plan(a_batch(op("close", a.code)), registry(a))
    assert result.ok
    assert result.teachers_to_move == 0
    assert not result.final[a.code].open


def test_closing_a_school_whose_teachers_are_all_out_of_post_warns_that_they_stay():
    a = a_school(not_in_post=2)
    result = plan(a_batch(op("close", a.code)), registry(a))
    assert result.ok
    assert [w.kind for w in result.warnings] == [IssueKind.TEACHERS_LEFT_BEHIND]


# --------------------------------------------------------------------------- the registry


def test_an_unknown_school_code_is_refused_as_subject_and_as_target():
    a = a_school()
    ghost_a, ghost_b = a_code(), a_code()
    result = plan(a_batch(op("rename", ghost_a, name="某校"),
                          op("merge", a.code, target_code=ghost_b)), registry(a))
    assert [(i.kind, i.line, i.field) for i in result.problems] == [
        (IssueKind.UNKNOWN_SCHOOL, 2, "school_code"),
        (IssueKind.UNKNOWN_SCHOOL, 3, "target_code")]


def test_opening_a_code_already_in_the_registry_is_refused_even_when_closed():
    open_school, closed_school = a_school(), a_school(open_=False)
    result = plan(a_batch(
        op("open", open_school.code, name="甲", stage=Stage.PRIMARY, county_code=CHENGGUAN),
        op("open", closed_school.code, name="乙", stage=Stage.PRIMARY, county_code=CHENGGUAN)),
        registry(open_school, closed_school))
    assert problem_lines(result, IssueKind.CODE_EXISTS) == [2, 3]


def test_any_operation_on_a_school_already_closed_is_refused():
    merged, closed, b = a_school(open_=False, merged_into="X1"), a_school(open_=False), a_school()
    result = plan(a_batch(op("rename", merged.code, name="新名"),
                          op("merge", closed.code, target_code=b.code)),
                  registry(merged, closed, b))
    assert kinds(result) == [IssueKind.SCHOOL_CLOSED, IssueKind.SCHOOL_CLOSED]
    assert "已并入 X1" in result.problems[0].message
    assert result.teachers_to_move == 0


# --------------------------------------------------------------------------- conflicts


def test_a_school_merged_and_also_renamed_in_one_batch_is_a_conflict():
    a, b = a_school(), a_school()
    result = plan(a_batch(op("rename", a.code, name="新名"),
                          op("merge", a.code, target_code=b.code)), registry(a, b))
    assert kinds(result) == [IssueKind.CONFLICT]
    assert result.problems[0].line == 3


def test_a_school_merged_twice_is_a_conflict_reported_once():
    a, b, c = a_school(in_post=1), a_school(), a_school()
    result = plan(a_batch(op("merge", a.code, target_code=b.code),
                          op("merge", a.code, target_code=c.code)), registry(a, b, c))
    assert kinds(result) == [IssueKind.CONFLICT]


def test_two_renames_conflict_but_a_rename_and_a_restage_do_not():
    a, b = a_school(), a_school()
    result = plan(a_batch(op("rename", a.code, name="一"), op("rename", a.code, name="二"),
                          op("rename", b.code, name="三"), op("restage", b.code,
                                                               stage=Stage.JUNIOR)),
                  registry(a, b))
    assert [(i.kind, i.line) for i in result.problems] == [(IssueKind.CONFLICT, 3)]
    assert result.final[b.code].profile.name == "三"
    assert result.final[b.code].profile.stage is Stage.JUNIOR


def test_a_school_opened_in_the_batch_cannot_also_be_renamed_in_it():
    new = a_code()
    result = plan(a_batch(op("open", new, name="甲", stage=Stage.PRIMARY, county_code=CHENGGUAN),
                          op("rename", new, name="乙")), registry())
    assert kinds(result) == [IssueKind.CONFLICT]


# --------------------------------------------------------------------------- profile changes


def test_renaming_restaging_and_changing_the_reporting_line_change_only_those_fields():
    a = a_school(Stage.JUNIOR)
    result = plan(a_batch(op("rename", a.code, name="第二中学"),
                          op("restage", a.code, stage=Stage.SENIOR),
                          op("change_reporting_line", a.code,
                             reporting_line=ReportingLine.CITY)), registry(a))
    assert result.ok
    after = result.final[a.code].profile
    assert (after.name, after.stage, after.reporting_line) == ("第二中学", Stage.SENIOR,
                                                               ReportingLine.CITY)
    assert after.county_code == a.profile.county_code


def test_restaging_a_teaching_point_away_from_primary_drops_the_teaching_point_flag():
    point = a_school(Stage.PRIMARY, teaching_point=True)
    result = plan(a_batch(op("restage", point.code, stage=Stage.KINDERGARTEN)), registry(point))
    assert not result.final[point.code].profile.is_teaching_point


def test_a_change_to_what_the_school_already_is_is_a_warning_not_a_problem():
    a = a_school()
    result = plan(a_batch(op("rename", a.code, name=a.profile.name)), registry(a))
    assert result.ok
    assert [w.kind for w in result.warnings] == [IssueKind.NO_CHANGE]


def test_moving_a_school_to_another_county_takes_its_counts_with_it():
    a = a_school(county=CHENGGUAN, in_post=5)
    result = plan(a_batch(op("move_county", a.code, county_code=QINAN, is_rural=True)),
                  registry(a))
    assert result.ok
    moved = result.final[a.code].profile
    assert (moved.county_code, moved.city_code, moved.is_rural) == (QINAN, "620500", True)
    by_county = {r.county_code: r for r in result.counts}
    assert by_county[CHENGGUAN].after.staff == by_county[CHENGGUAN].before.staff - 5
    assert by_county[QINAN].after.staff == by_county[QINAN].before.staff + 5
    assert by_county[QINAN].after.schools == 1


# --------------------------------------------------------------------------- counts


def test_counts_per_county_and_stage_follow_the_notice_rules():
    kept = a_school(Stage.PRIMARY, in_post=2)
    merged = a_school(Stage.PRIMARY, in_post=4, not_in_post=1)
    point = a_school(Stage.PRIMARY, teaching_point=True)  # an empty teaching point
    kg = a_school(Stage.KINDERGARTEN, in_post=1)
    snapshot = registry(kept, merged, point, kg)
    result = plan(a_batch(op("merge", merged.code, target_code=kept.code),
                          op("close", point.code)), snapshot)
    assert result.ok
    rows = {(r.county_code, r.stage): r for r in result.counts}
    primary = rows[(CHENGGUAN, Stage.PRIMARY)]
    assert primary.before == Counts(schools=3, entered=2, teaching_points=1, staff=6)
    # staff stay (they moved), one entered school and the empty teaching point are gone
    assert primary.after == Counts(schools=1, entered=1, teaching_points=0, staff=6)
    assert (CHENGGUAN, Stage.KINDERGARTEN) not in rows  # untouched cells are not listed
    assert result.stage_deltas()[Stage.PRIMARY] == Counts(-2, -1, -1, 0)


def test_a_merge_into_another_county_moves_its_staff_between_counties():
    a, b = a_school(county=CHENGGUAN, in_post=6), a_school(county=QINAN, in_post=1)
    result = plan(a_batch(op("merge", a.code, target_code=b.code)), registry(a, b))
    rows = {r.county_code: r for r in result.counts}
    assert rows[CHENGGUAN].after.staff == 0
    assert rows[QINAN].after.staff == 7
    assert rows[QINAN].after.entered == rows[QINAN].before.entered


# --------------------------------------------------------------------------- the whole


def test_every_problem_of_the_batch_is_listed_not_only_the_first():
    a, b, full = a_school(), a_school(), a_school(in_post=2)
    batch = a_batch(op("merge", a.code, target_code=a.code),
                    op("close", full.code),
                    op("rename", a_code(), name="无"),
                    op("merge", b.code, target_code=a_code()))
    result = plan(batch, registry(a, b, full))
    assert [i.line for i in result.problems] == [2, 3, 4, 5]
    assert set(kinds(result)) == {IssueKind.SELF_MERGE, IssueKind.TEACHERS_IN_POST,
                                  IssueKind.UNKNOWN_SCHOOL}


def test_problems_found_while_reading_the_file_are_carried_into_the_plan():
    a = a_school()
    parsed = parse_csv(
        "batch_id,effective_date,op,school_code,target_code,stage\n"
        f"B1,2017-06-30,restage,{a.code},,幼儿园\n"
        f"B1,2017-06-30,restage,{a_code()},,大学\n".encode())
    assert parsed.batch is not None
    result = plan(parsed.batch, registry(a), issues=parsed.issues)
    assert [(i.kind, i.line) for i in result.problems] == [(IssueKind.INVALID_VALUE, 3)]


def test_planning_leaves_the_snapshot_as_it_was():
    a, b = a_school(in_post=3), a_school(in_post=1)
    snapshot = registry(a, b)
    copy = RegistrySnapshot(dict(snapshot.schools), dict(snapshot.counts))
    plan(a_batch(op("merge", a.code, target_code=b.code), op("rename", b.code, name="新")),
         snapshot)
    assert snapshot == copy
    assert snapshot.schools[b.code] == b


def test_the_final_state_lists_exactly_the_schools_an_operation_changed():
    a, b, untouched = a_school(in_post=3), a_school(), a_school()
    new = a_code()
    result = plan(a_batch(op("open", new, name="新", stage=Stage.JUNIOR, county_code=QINAN),
                          op("merge", a.code, target_code=b.code)), registry(a, b, untouched))
    assert set(result.final) == {new, a.code}


def test_the_plan_reads_as_a_json_document():
    a, b = a_school(in_post=3), a_school()
    doc = plan(a_batch(op("merge", a.code, target_code=b.code)), registry(a, b)).as_dict()
    assert doc["ok"] is True
    assert doc["teachers_to_move"] == 3
    assert doc["counts"][0]["county_name"] == "城关区"
    assert doc["changes"][0]["op_label"] == "合并"


def test_the_same_school_state_replayed_twice_gives_the_same_plan():
    a, b = a_school(in_post=3), replace(a_school(), in_post=0)
    batch = a_batch(op("merge", a.code, target_code=b.code))
    assert plan(batch, registry(a, b)).as_dict() == plan(batch, registry(a, b)).as_dict()
