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
    wrong = await signin.sign_in(store, deps(clock), "li.s1", "wrong-password-1")
    assert not wrong.ok and wrong.wait_seconds == 0.2
    too_soon = await signin.sign_in(store, deps(clock), "li.s1", "right-password-1")
    assert too_soon.throttled and not too_soon.ok
    clock.advance(0.2)
    right = await signin.sign_in(store, deps(clock), "li.s1", "right-password-1")
    assert right.ok and right.account is not None and right.account.role == "school_admin"
    assert store.attempt_rows["user:li.s1"] == Attempts()


async def test_while_locked_even_the_right_password_is_refused_and_the_release_is_recorded(
        ) -> None:
    store, clock = FakeAccountStore(), FakeClock()
    account_id = await _admin(store)
    outcomes = []
    for i in range(5):
        outcomes.append(await signin.sign_in(store, deps(clock), "li.s1", f"guess-{i}-abcdef"))
        clock.advance(outcomes[-1].wait_seconds if i < 4 else 0)
    assert [o.wait_seconds for o in outcomes] == [0.2, 0.4, 0.8, 1.6, 15 * 60]
    assert outcomes[-1].locked_until is not None
    assert any(isinstance(e, SignInLocked) for e in store.events_of(account_id))
    clock.advance(60)
    during = await signin.sign_in(store, deps(clock), "li.s1", "right-password-1")
    assert not during.ok and during.locked_until == outcomes[-1].locked_until
    clock.advance(15 * 60)
    after = await signin.sign_in(store, deps(clock), "li.s1", "right-password-1")
    assert after.ok
    assert isinstance(store.events_of(account_id)[-1], SignInUnlocked)


async def test_an_unknown_username_is_throttled_and_locked_like_a_known_one() -> None:
    store, clock = FakeAccountStore(), FakeClock()
    outcomes = []
    for _ in range(5):
        outcomes.append(await signin.sign_in(store, deps(clock), "nobody.here", "x1234567890"))
        clock.advance(2)
    assert outcomes[-1].locked_until is not None and not store.streams


async def test_a_disabled_accounts_right_password_does_not_sign_in() -> None:
    store, clock = FakeAccountStore(), FakeClock()
    account_id = await _admin(store)
    await accounts.disable_account(store, principal("school_sysadmin", school_code="S1"),
                                   account_id)
    assert not (await signin.sign_in(store, deps(clock), "li.s1", "right-password-1")).ok


async def test_a_teacher_signs_in_with_their_id_number_and_the_schools_credential() -> None:
    store, clock = FakeAccountStore(), FakeClock()
    store.add_school("S1")
    number = synthetic_id_number(random.Random(7), "620102", date(1985, 3, 4), "female")
    teacher = store.add_teacher(str(uuid4()), "S1", number)
    issued = await self_service.issue_credential(
        store, deps(clock), principal("school_admin", school_code="S1"), teacher.teacher_id)
    typed = issued.credential.upper().replace("-", " ")  # as people type it
    ok = await signin.teacher_sign_in(store, deps(clock), number, typed, "secret")
    assert ok.ok and ok.account is not None and ok.account.teacher_id == teacher.teacher_id
    bad = await signin.teacher_sign_in(store, deps(clock), number, "abcd-efgh", "secret")
    assert not bad.ok and f"teacher:{teacher.teacher_id}" in store.attempt_rows
    assert number not in "".join(store.attempt_rows)
