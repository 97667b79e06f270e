"""Sign-in throttling with a fake clock: growing waits between attempts, the lock after five
failures, a right password refused while locked, the release noticed at the next attempt; and
the sign-in handlers over the in-memory store."""

from __future__ import annotations

import random
from datetime import date
from uuid import uuid4

import pytest

from services.intake.domain import signin as rules
from services.intake.domain.accounts import Kind, Level
from services.intake.domain.signin import Attempts, Gate, SignInPolicy
from services.intake.service_layer import accounts, self_service, signin
from services.intake.service_layer.accounts import CreateAccount
from shared.contracts.events_accounts import SignInLocked, SignInUnlocked
from shared.domain.idnumber import synthetic_id_number
from tests.unit.test_accounts_support import (
    FakeAccountStore,
    FakeClock,
    deps,
    principal,
)

POLICY = SignInPolicy()
HERE, ELSEWHERE = "10.0.0.1", "192.0.2.7"


def test_each_failure_in_a_row_waits_twice_as_long_up_to_the_cap() -> None:
    clock = FakeClock()
    state, delays = Attempts(), []
    for _ in range(4):
        failure = rules.after_failure(state, clock(), POLICY)
        state = failure.state
        delays.append(failure.delay_seconds)
    assert delays == [0.2, 0.4, 0.8, 1.6]
    assert POLICY.delay_after(9) == POLICY.delay_cap_seconds == 2.0


def test_an_attempt_sooner_than_the_wait_is_refused_unchecked_and_uncounted() -> None:
    clock = FakeClock()
    state = rules.after_failure(rules.after_failure(Attempts(), clock(), POLICY).state,
                                clock(), POLICY).state
    clock.advance(0.3)
    assert rules.before_attempt(state, clock()) == (state, Gate.THROTTLED)
    assert rules.wait_seconds(state, clock()) == pytest.approx(0.1)
    clock.advance(0.1)
    assert rules.before_attempt(state, clock())[1] is Gate.OPEN


def test_the_fifth_failure_locks_for_fifteen_minutes_and_the_lock_holds_until_then() -> None:
    clock = FakeClock()
    state = Attempts()
    for _ in range(5):
        failure = rules.after_failure(state, clock(), POLICY)
        state = failure.state
    assert failure.locked and state.locked_until is not None
    assert (state.locked_until - clock()).total_seconds() == 15 * 60
    clock.advance(15 * 60 - 1)
    assert rules.before_attempt(state, clock())[1] is Gate.LOCKED
    clock.advance(1)
    released, gate = rules.before_attempt(state, clock())
    assert gate is Gate.RELEASED and released == Attempts()


async def _admin(store: FakeAccountStore, password: str = "right-password-1") -> str:
    store.add_school("S1")
    created = await accounts.create_account(
        store, deps(), principal("county_sysadmin", county_code="620102"),
        CreateAccount(Kind.INFO, Level.SCHOOL, "S1", "li.s1", password=password))
    return created.account.account_id


async def test_a_right_password_signs_in_and_clears_the_count_of_failures() -> None:
    store, clock = FakeAccountStore(), FakeClock()
    await _admin(store)
    wrong = await signin.sign_in(store, deps(clock), "li.s1", "wrong-password-1", HERE)
    assert not wrong.ok and wrong.wait_seconds == 0.2
    too_soon = await signin.sign_in(store, deps(clock), "li.s1", "right-password-1", HERE)
    assert too_soon.throttled and not too_soon.ok
    clock.advance(0.2)
    right = await signin.sign_in(store, deps(clock), "li.s1", "right-password-1", HERE)
    assert right.ok and right.account is not None and right.account.role == "school_admin"
    assert store.attempt_rows[("user:li.s1", HERE)] == Attempts()


async def test_while_locked_even_the_right_password_is_refused_and_the_release_is_recorded(
        ) -> None:
    store, clock = FakeAccountStore(), FakeClock()
    account_id = await _admin(store)
    outcomes = []
    for i in range(5):
        outcomes.append(await signin.sign_in(store, deps(clock), "li.s1", f"guess-{i}-abcdef",
                                             HERE))
        clock.advance(outcomes[-1].wait_seconds if i < 4 else 0)
    assert [o.wait_seconds for o in outcomes] == [0.2, 0.4, 0.8, 1.6, 15 * 60]
    assert outcomes[-1].locked_until is not None
    assert any(isinstance(e, SignInLocked) for e in store.events_of(account_id))
    clock.advance(60)
    during = await signin.sign_in(store, deps(clock), "li.s1", "right-password-1", HERE)
    assert not during.ok and during.locked_until == outcomes[-1].locked_until
    clock.advance(15 * 60)
    after = await signin.sign_in(store, deps(clock), "li.s1", "right-password-1", HERE)
    assert after.ok
    assert isinstance(store.events_of(account_id)[-1], SignInUnlocked)


async def test_an_unknown_username_is_throttled_and_locked_like_a_known_one() -> None:
    store, clock = FakeAccountStore(), FakeClock()
    outcomes = []
    for _ in range(5):
        outcomes.append(await signin.sign_in(store, deps(clock), "nobody.here", "x1234567890",
                                             HERE))
        clock.advance(2)
    assert outcomes[-1].locked_until is not None and not store.streams


async def test_a_disabled_accounts_right_password_does_not_sign_in() -> None:
    store, clock = FakeAccountStore(), FakeClock()
    account_id = await _admin(store)
    await accounts.disable_account(store, principal("school_sysadmin", school_code="S1"),
                                   account_id)
    assert not (await signin.sign_in(store, deps(clock), "li.s1", "right-password-1", HERE)).ok


async def test_a_teacher_signs_in_with_their_id_number_and_the_schools_credential() -> None:
    store, clock = FakeAccountStore(), FakeClock()
    store.add_school("S1")
    number = synthetic_id_number(random.Random(7), "620102", date(1985, 3, 4), "female")
    teacher = store.add_teacher(str(uuid4()), "S1", number)
    issued = await self_service.issue_credential(
        store, deps(clock), principal("school_admin", school_code="S1"), teacher.teacher_id)
    typed = issued.credential.upper().replace("-", " ")  # as people type it
    ok = await signin.teacher_sign_in(store, deps(clock), number, typed, "secret", HERE)
    assert ok.ok and ok.account is not None and ok.account.teacher_id == teacher.teacher_id
    bad = await signin.teacher_sign_in(store, deps(clock), number, "abcd-efgh", "secret",
                                      HERE)
    assert not bad.ok and (f"teacher:{teacher.teacher_id}", HERE) in store.attempt_rows
    assert number not in "".join(name for name, _ in store.attempt_rows)


# ------------------------------------------------------------------ by name and address

SMALL_CAP = SignInPolicy(address_max_failures=3, address_window_seconds=60,
                         address_lock_seconds=120)


async def test_a_name_locked_from_one_address_still_signs_in_from_another() -> None:
    store, clock = FakeAccountStore(), FakeClock()
    await _admin(store)
    for i in range(5):
        outcome = await signin.sign_in(store, deps(clock), "li.s1", f"guess-{i}-abcdef", HERE)
        clock.advance(outcome.wait_seconds if i < 4 else 1)
    assert outcome.locked_until is not None
    there = await signin.sign_in(store, deps(clock), "li.s1", "right-password-1", HERE)
    elsewhere = await signin.sign_in(store, deps(clock), "li.s1", "right-password-1", ELSEWHERE)
    assert not there.ok and there.locked_until is not None
    assert elsewhere.ok


async def test_a_failure_from_one_address_does_not_slow_the_name_at_another() -> None:
    store, clock = FakeAccountStore(), FakeClock()
    await _admin(store)
    assert not (await signin.sign_in(store, deps(clock), "li.s1", "wrong-one-abc", HERE)).ok
    right = await signin.sign_in(store, deps(clock), "li.s1", "right-password-1", ELSEWHERE)
    assert right.ok and not right.throttled


async def test_an_address_failing_across_names_is_locked_whatever_name_it_tries_next() -> None:
    store, clock = FakeAccountStore(), FakeClock()
    await _admin(store)
    for name in ("a.guess", "b.guess", "c.guess"):
        await signin.sign_in(store, deps(clock, SMALL_CAP), name, "x1234567890", HERE)
    refused = await signin.sign_in(store, deps(clock, SMALL_CAP), "li.s1", "right-password-1",
                                   HERE)
    assert refused.address_locked and not refused.ok
    assert refused.wait_seconds == pytest.approx(120)
    assert ("user:li.s1", HERE) not in store.attempt_rows  # refused before its name's gate
    other = await signin.sign_in(store, deps(clock, SMALL_CAP), "li.s1", "right-password-1",
                                 ELSEWHERE)
    assert other.ok
    clock.advance(120)
    assert (await signin.sign_in(store, deps(clock, SMALL_CAP), "li.s1", "right-password-1",
                                 HERE)).ok


def test_a_success_between_failures_does_not_reset_the_address_count() -> None:
    clock = FakeClock()
    state = rules.AddressAttempts()
    for _ in range(2):
        state = rules.after_address_failure(state, clock(), SMALL_CAP)
        clock.advance(1)  # a success here changes nothing: only failures are counted
    state = rules.after_address_failure(state, clock(), SMALL_CAP)
    assert state.failures == 3 and state.locked_until is not None
    assert rules.address_gate(state, clock()) is Gate.LOCKED


def test_the_address_count_starts_again_when_its_window_has_passed() -> None:
    clock = FakeClock()
    state = rules.after_address_failure(rules.AddressAttempts(), clock(), SMALL_CAP)
    state = rules.after_address_failure(state, clock(), SMALL_CAP)
    clock.advance(60)
    state = rules.after_address_failure(state, clock(), SMALL_CAP)
    assert state.failures == 1 and state.locked_until is None
    assert state.window_started_at == clock()
    assert rules.address_gate(state, clock()) is Gate.OPEN


def test_an_address_lock_ends_after_its_time_and_the_count_starts_again() -> None:
    clock = FakeClock()
    state = rules.AddressAttempts()
    for _ in range(3):
        state = rules.after_address_failure(state, clock(), SMALL_CAP)
    clock.advance(120)
    assert rules.address_gate(state, clock()) is Gate.OPEN
    again = rules.after_address_failure(state, clock(), SMALL_CAP)
    assert again.failures == 1 and again.locked_until is None
