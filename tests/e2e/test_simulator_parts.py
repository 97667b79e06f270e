"""The driver's pure parts, checked without a stack (fast; they live beside the journey they
serve): the import file intake's own reader must read back as the planned records, the proof
document intake must accept as a PDF, the review decisions the ledger takes, the business
calendar, and the stage-table comparison that decides a run's exit code."""

from __future__ import annotations

import asyncio
import io
from datetime import date, timedelta
from pathlib import Path

import pytest

from services.intake.adapters.tabular import open_rows, template_csv
from services.intake.domain.documents import sniff
from services.intake.domain.importing import read_row
from services.intake.domain.record import PersonRecord
from shared.contracts.vocabulary import ReviewLevel
from simulator.adapters.files import (
    import_file,
    template_columns,
    template_header,
    tiny_pdf,
)
from simulator.domain.model import Fate, Review
from simulator.domain.plan import expected_outcome, plan_province
from simulator.domain.profile import load_profile
from simulator.domain.teachers import teachers_of
from simulator.service_layer.ledger import Ledger
from simulator.service_layer.run import for_each
from simulator.service_layer.schedule import CST, Schedule
from simulator.service_layer.verify import stage_mismatches

DATA = Path(__file__).resolve().parents[1] / "unit" / "data"


@pytest.fixture(scope="module")
def plan():  # type: ignore[no-untyped-def]
    return plan_province(load_profile(DATA / "simulator_profile_odd.csv"), seed=11)


def test_intakes_own_reader_reads_the_import_file_back_as_the_planned_records(plan) -> None:
    template = template_csv().decode("utf-8-sig")
    school = max(plan.schools, key=lambda s: s.registered)
    roster = teachers_of(plan, school)
    content = import_file(template_header(template), template_columns(template), roster)
    rows = list(open_rows(io.BytesIO(content)))
    assert len(rows) == len(roster)
    for (row, cells), t in zip(rows, roster, strict=True):
        record, problems = read_row(row, cells, date.today())
        assert problems == [] and record is not None
        assert record == PersonRecord(
            name=t.name, id_number=t.id_number, gender=t.gender, birth_date=t.birth_date,
            ethnicity=t.ethnicity, post_status=t.post_status,
            is_fulltime_teacher=t.is_fulltime_teacher, hire_date=t.hire_date,
            political_status=t.political_status, stage_taught=t.stage_taught,
            highest_education=t.highest_education, professional_title=t.professional_title,
            teacher_qualification=t.teacher_qualification)


def test_the_proof_document_is_a_pdf_by_its_content() -> None:
    pdf = tiny_pdf("Transfer of teacher 6201020001-0003 (proof)")
    assert sniff(pdf[:8]) == "application/pdf"
    assert pdf.rstrip().endswith(b"%%EOF") and b"startxref" in pdf


def test_a_rejected_record_is_sent_back_at_its_level_and_approved_after_the_fix(plan) -> None:
    ledger = Ledger()
    rejected = [t for s in plan.schools for t in teachers_of(plan, s) if t.rejected_at]
    assert rejected
    for n, t in enumerate(rejected):
        ledger.learn(t, f"id-{n}", 1)
    for n, t in enumerate(rejected):
        tid = f"id-{n}"
        at_school = ledger.decision(tid, ReviewLevel.SCHOOL)
        at_county = ledger.decision(tid, ReviewLevel.COUNTY)
        if t.rejected_at is ReviewLevel.SCHOOL:
            assert at_school is False
        else:
            assert (at_school, at_county) == (True, False)
        ledger.rejections[tid].fixed = True
        assert ledger.decision(tid, ReviewLevel.SCHOOL) is (t.review is not Review.SUBMITTED)
        assert ledger.decision(tid, ReviewLevel.COUNTY) is (
            True if t.review is Review.COMPLETE else None)


def test_records_are_approved_as_far_as_the_plan_says_and_unknown_ones_are_left(plan) -> None:
    ledger = Ledger()
    school = next(s for s in plan.schools if s.stay > 3)
    for n, t in enumerate(teachers_of(plan, school)):
        if t.rejected_at is None:
            ledger.learn(t, f"t{n}", 1)
            want = {Review.SUBMITTED: (None, None), Review.SCHOOL_APPROVED: (True, None),
                    Review.COMPLETE: (True, True)}[t.review]
            assert (ledger.decision(f"t{n}", ReviewLevel.SCHOOL),
                    ledger.decision(f"t{n}", ReviewLevel.COUNTY)) == want
    assert ledger.decision("someone-else", ReviewLevel.SCHOOL) is None
    assert ledger.unknown_in_queue == 1


def test_the_business_calendar_ends_before_the_reference_day_in_causal_order(plan) -> None:
    s = Schedule(date(2017, 4, 7), seed=5)
    codes = [school.code for school in plan.schools]
    entered = [s.teachers_entered(c) for c in codes]
    assert s.schools_registered.date() == date(2016, 12, 31)
    assert min(entered) > s.schools_registered
    assert max(entered).date() <= date(2017, 3, 20) < s.noise("k").date()
    assert s.noise("k").date() < s.merge_effective == date(2017, 3, 31)
    assert [s.decisions(i).date() for i in range(5)] == [date(2017, 4, 1) + timedelta(days=i)
                                                         for i in range(5)]
    assert s.departures.date() == date(2017, 4, 6) and s.departures.tzinfo == CST
    assert s.teachers_entered(codes[0]) == Schedule(date(2017, 4, 7), 5).teachers_entered(
        codes[0])


def expected_csv(plan) -> str:  # type: ignore[no-untyped-def]
    return str(expected_outcome(plan)["stage_table_csv"])


def test_the_stage_comparison_accepts_the_expected_table_and_names_every_other_cell(
        plan) -> None:
    rows = expected_outcome(plan)["stage_table"]
    text = expected_csv(plan)
    assert stage_mismatches(rows, text, plan.profile) == []
    changed = text.replace("kindergarten,幼儿园,120,70,,,,410",
                           "kindergarten,幼儿园,120,70,,,0,410")
    assert stage_mismatches(rows, changed, plan.profile) == [
        "kindergarten.staff_annual: expected blank, reporting 0"]
    off_by_one = text.replace(",1620,", ",1619,")
    assert stage_mismatches(rows, off_by_one, plan.profile) == [
        "primary.staff_entered: expected 1620, reporting 1619"]


def test_stages_the_profile_lacks_must_be_empty_in_reporting() -> None:
    tiny = plan_province(load_profile(DATA / "simulator_profile_tiny.csv"), seed=1)
    rows = expected_outcome(tiny)["stage_table"]
    text = expected_csv(tiny)
    empty = text + "junior,初中,,0,,,,0,,0\n"
    assert stage_mismatches(rows, empty, tiny.profile) == []
    assert stage_mismatches(rows, text + "junior,初中,4,0,,,,0,,0\n", tiny.profile) == [
        "junior.schools_annual: the profile has no junior row, reporting shows 4"]


async def test_for_each_raises_the_first_failure_itself() -> None:
    seen: list[int] = []

    async def step(n: int) -> None:
        seen.append(n)
        if n == 3:
            raise ValueError("school 3 refused")
        await asyncio.sleep(0)

    with pytest.raises(ValueError, match="school 3 refused"):
        await for_each(range(100), step, 4)
    assert 3 in seen and len(seen) < 100


def test_every_fate_the_noise_needs_is_in_a_plan(plan) -> None:
    fates = {t.fate for s in plan.schools for t in teachers_of(plan, s)}
    assert fates == set(Fate)


def test_without_a_total_row_reporting_is_expected_to_total_the_rows(tmp_path: Path) -> None:
    text = (DATA / "simulator_profile_all_entered.csv").read_text(encoding="utf-8")
    no_total = tmp_path / "no_total.csv"
    no_total.write_text("\n".join(line for line in text.splitlines()
                                  if not line.startswith("total")) + "\n", encoding="utf-8")
    plan = plan_province(load_profile(no_total), seed=4)
    rows = expected_outcome(plan)["stage_table"]
    shown = expected_csv(plan).replace("total,合计,,36,,,,520,,390",
                                       "total,合计,35,36,,,500,520,400,390")
    assert stage_mismatches(rows, shown, plan.profile) == []
    assert stage_mismatches(rows, expected_csv(plan), plan.profile) == [
        "total.schools_annual: expected 35, reporting blank",
        "total.staff_annual: expected 500, reporting blank",
        "total.fulltime_annual: expected 400, reporting blank"]
