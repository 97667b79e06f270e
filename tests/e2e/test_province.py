"""The province in a box: `tmis simulate`'s driver plays a whole province through the four
real services (subprocesses, public HTTP APIs only) and reporting must then show the profile
in every column, as of the reference date.

Two provinces, each on an empty slate (province.py): a small odd profile (blanks, a stage with
nothing entered, entered above annual, a total row that does not add up) and a few-hundred-
school province scaled down from the notice's table. After each: the event stream carries
what the counting rules exclude (so a wrong rule would show), the subsidy subscriber (built
only from the public topics) agrees with reporting, and no public message carries an ID number.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from examples.id_audit import AuditResult, audit
from examples.subsidy.__main__ import build
from examples.subsidy.compare import check_against_reporting
from examples.subsidy.reader import read_to_end
from simulator.adapters.endpoints import service_token
from simulator.domain.model import ProvincePlan
from simulator.domain.plan import expected_outcome
from simulator.domain.profile import ANNUAL_FIGURES, FIGURES
from simulator.entrypoints.driver import DriverOptions, Outcome, build_plan, run_plan
from tests.e2e.province import province_stack
from tests.integration.conftest_stack import StackEnv
from tests.unit.test_simulator_plan import normalised

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

UNIT_DATA = Path(__file__).resolve().parents[1] / "unit" / "data"
ODD_PROFILE = UNIT_DATA / "simulator_profile_odd.csv"
MEDIUM_PROFILE = Path(__file__).parent / "data" / "profile_small_province.csv"


@dataclass
class Journey:
    """Everything a province run left behind, collected while its services still ran."""

    plan: ProvincePlan
    outcome: Outcome
    stage_csv: str  # reporting's stage table as of the reference date
    teacher_events: Counter[str] = field(default_factory=Counter)
    review_events: Counter[str] = field(default_factory=Counter)
    registered_not_in_post: int = 0
    disagreements: list[str] = field(default_factory=list)
    id_audit: AuditResult | None = None
    story: list[str] = field(default_factory=list)
    seconds: float = 0.0


async def events_on(bootstrap: str, topic: str) -> list[dict[str, Any]]:
    return [json.loads(raw) async for raw in read_to_end(bootstrap, (topic,))]


async def journey(stack: StackEnv, profile: Path, seed: int, logs: Path) -> Journey:
    started = time.monotonic()
    async with province_stack(stack.kafka_bootstrap, stack.database_url, logs) as province:
        plan = build_plan(profile, seed)
        story: list[str] = []
        outcome = await run_plan(plan, province.endpoints,
                                 DriverOptions(seed=seed, concurrency=6, progress=False,
                                               catch_up_timeout=300), story.append)
        reporting = province.endpoints.url("reporting")
        headers = {"Authorization": f"Bearer {service_token()}"}
        async with httpx.AsyncClient(base_url=reporting, headers=headers, trust_env=False,
                                     timeout=120) as client:
            stage_csv = (await client.get("/v1/reports/stages", params={
                "as_of": plan.reference_date.isoformat(), "format": "csv"})).text
            book = await build(stack.kafka_bootstrap, None, None)
            disagreements = await check_against_reporting(book, plan.reference_date, client)
        teacher = await events_on(stack.kafka_bootstrap, "tmis.intake.teacher.v1")
        review = await events_on(stack.kafka_bootstrap, "tmis.review.decision.v1")
        result = Journey(
            plan, outcome, stage_csv,
            teacher_events=Counter(e["event_type"] for e in teacher),
            review_events=Counter(e["event_type"] for e in review),
            registered_not_in_post=sum(
                1 for e in teacher if e["event_type"] == "TeacherRegistered"
                and e["payload"]["record"]["post_status"] == "not_in_post"),
            disagreements=disagreements, id_audit=await audit(stack.kafka_bootstrap),
            story=story)
    result.seconds = time.monotonic() - started
    return result


@pytest.fixture(scope="module")
async def odd(e2e_stack: StackEnv, tmp_path_factory: pytest.TempPathFactory) -> Journey:
    return await journey(e2e_stack, ODD_PROFILE, 3, tmp_path_factory.mktemp("odd-logs"))


@pytest.fixture(scope="module")
async def medium(e2e_stack: StackEnv, tmp_path_factory: pytest.TempPathFactory) -> Journey:
    return await journey(e2e_stack, MEDIUM_PROFILE, 2017, tmp_path_factory.mktemp("medium-logs"))


# --------------------------------------------------------------------------- helpers


def profile_mismatches(j: Journey) -> list[str]:
    """Reporting's CSV against the profile itself, normalised as the planner's unit tests
    state it independently of the planner (tests/unit/test_simulator_plan.normalised):
    annual as given, entered as given with blank = 0, the total's entered = sum of rows.
    Reporting always shows primary's teaching points (0 when none) and no other stage's."""
    want = {r["stage"]: r for r in normalised(j.plan.profile)}
    got = {r["stage"]: r for r in csv.DictReader(io.StringIO(j.stage_csv.lstrip("\ufeff")))}
    out = []
    for stage, row in got.items():
        expected = want.get(stage)
        for column in FIGURES:
            cell = row[column].strip()
            value = int(cell) if cell else None
            if expected is None:
                ok = value is None if column in ANNUAL_FIGURES else (value or 0) == 0
            elif column == "teaching_points_entered":
                ok = (value or 0) == (expected[column] or 0)
            else:
                ok = value == expected[column]
            if not ok:
                out.append(f"{stage}.{column}: profile {expected and expected[column]}, "
                           f"reporting {value}")
    return out


def failed_checks(j: Journey) -> list[str]:
    assert j.outcome.verdict is not None
    return [f"{c.name}: {c.detail}" for c in j.outcome.verdict.checks if not c.ok]


def counted_staff(j: Journey) -> int:
    return sum(r["staff_entered"] for r in expected_outcome(j.plan)["stage_table"][:-1])


# --------------------------------------------------------------------------- the odd profile


def test_an_odd_profile_comes_out_of_reporting_in_every_column_as_of_the_reference_date(
        odd: Journey) -> None:
    assert profile_mismatches(odd) == [], odd.stage_csv


def test_the_odd_provinces_findings_and_both_dates_match_the_plan(odd: Journey) -> None:
    assert failed_checks(odd) == [], "\n".join(odd.story)
    assert odd.outcome.result.caught_up is not None
    assert any(line.startswith("catch-up: all services caught up") for line in odd.story)


def test_the_odd_province_leaves_no_subsidy_disagreement_and_no_id_number(odd: Journey) -> None:
    assert odd.disagreements == []
    assert odd.id_audit is not None and odd.id_audit.messages > 0
    assert odd.id_audit.offending == ()


# --------------------------------------------------------------------------- a medium province


def test_a_province_of_a_few_hundred_schools_equals_its_profile_in_every_column(
        medium: Journey) -> None:
    assert len(medium.plan.schools) > 200 and counted_staff(medium) > 4000
    assert profile_mismatches(medium) == [], medium.stage_csv
    assert failed_checks(medium) == [], "\n".join(medium.story)


def test_the_event_stream_carries_what_the_counting_rules_exclude(medium: Journey) -> None:
    events = medium.teacher_events
    staff = counted_staff(medium)
    # Counting every registration would overcount: leavers, teachers not in post, merged-away
    # schools' teachers counted once at their target, teachers registered elsewhere.
    assert events["TeacherRegistered"] > staff
    assert events["TeacherRegistered"] == medium.outcome.result.ledger.registered
    assert medium.registered_not_in_post > 0
    for kind in ("TeacherUpdated", "TeacherTransferred", "TeacherReturnedToPost",
                 "TeacherLeft", "TeacherReassigned"):
        assert events[kind] > 0, kind
    # Rejections, then resubmissions approved; review completions for records that no longer
    # count (teachers who left, or not in post) must not be counted either.
    assert medium.review_events["RecordRejected"] > 0
    assert medium.review_events["ReviewCompleted"] > expected_outcome(
        medium.plan)["review_complete"]


def test_retried_submissions_were_answered_once_and_registered_once(medium: Journey) -> None:
    ledger = medium.outcome.result.ledger
    assert ledger.replayed == len(medium.plan.noise.retries) > 0
    assert ledger.unknown_in_queue == 0


def test_the_subsidy_subscriber_agrees_with_reporting_and_no_public_message_has_an_id_number(
        medium: Journey) -> None:
    assert medium.disagreements == []
    assert medium.id_audit is not None and medium.id_audit.messages > 0
    assert medium.id_audit.offending == ()
