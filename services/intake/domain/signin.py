"""Sign-in throttling: repeated failures are slowed, then locked for a while.

Keyed by sign-in name (a username, or a teacher) AND client address, so that failures from one
address never lock the name for someone signing in from another: a guesser cannot lock an
administrator out from elsewhere. Per (name, address), intake keeps the failures in a row,
when the next attempt may come, and the end of a lock. After a failure the pair must wait
before its next attempt is even checked: 0.2 s after the first failure in a row, doubling with
each one (0.4 s, 0.8 s, ...), capped at 2 s. An attempt that comes sooner is refused at once
(429, with how long to wait), without checking the password and without counting as a
failure. The fifth failure in a row locks the name at that address for 15 minutes, during which
even the right password is refused there. The lock is released by the first attempt after it
ends (that is when it is noticed and recorded). A success clears the pair.

Per address, across names, a cap: `address_max_failures` failures within
`address_window_seconds` (counted from the window's first failure) lock the address for
`address_lock_seconds`, whatever name it tries; a success does not reset the count (else one
valid account would launder a guesser's attempts). The cap is high because a school's staff
may share one address (NAT). All numbers are settings (TMIS_INTAKE_SIGNIN_*).

Why the wait is a throttle and not a sleep: holding each failed request open for its delay
would let a guesser tie up the server with parallel attempts; refusing early costs nothing.
Pure: time comes in as an argument.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


@dataclass(frozen=True)
class SignInPolicy:
    max_failures: int = 5
    lock_seconds: float = 15 * 60
    delay_base_seconds: float = 0.2
    delay_cap_seconds: float = 2.0
    address_max_failures: int = 100
    address_window_seconds: float = 15 * 60
    address_lock_seconds: float = 15 * 60

    def delay_after(self, failures: int) -> float:
        """How long the name waits after its `failures`-th failure in a row."""
        if failures <= 0:
            return 0.0
        return min(self.delay_base_seconds * 2 ** (failures - 1), self.delay_cap_seconds)


@dataclass(frozen=True)
class Attempts:
    failures: int = 0
    locked_until: datetime | None = None
    next_attempt_at: datetime | None = None


class Gate(StrEnum):
    OPEN = "open"  # check the password
    THROTTLED = "throttled"  # too soon after a failure: refuse without checking or counting
    LOCKED = "locked"  # refuse without checking
    RELEASED = "released"  # a lock just ended: record the release, then check the password


def before_attempt(state: Attempts, now: datetime) -> tuple[Attempts, Gate]:
    """May this attempt check a password at all?"""
    if state.locked_until is not None:
        if now < state.locked_until:
            return state, Gate.LOCKED
        return Attempts(), Gate.RELEASED
    if state.next_attempt_at is not None and now < state.next_attempt_at:
        return state, Gate.THROTTLED
    return state, Gate.OPEN


def wait_seconds(state: Attempts, now: datetime) -> float:
    """How long until the name may try again (0: now)."""
    until = state.locked_until or state.next_attempt_at
    return max(0.0, (until - now).total_seconds()) if until else 0.0


@dataclass(frozen=True)
class Failure:
    state: Attempts
    delay_seconds: float
    locked: bool


def after_failure(state: Attempts, now: datetime, policy: SignInPolicy) -> Failure:
    failures = state.failures + 1
    delay = policy.delay_after(failures)
    if failures >= policy.max_failures:
        until = now + timedelta(seconds=policy.lock_seconds)
        return Failure(Attempts(failures, until, until), delay, True)
    return Failure(Attempts(failures, None, now + timedelta(seconds=delay)), delay, False)


def after_success() -> Attempts:
    return Attempts()


# ------------------------------------------------------------------ per address, across names


@dataclass(frozen=True)
class AddressAttempts:
    failures: int = 0  # within the window
    window_started_at: datetime | None = None
    locked_until: datetime | None = None


def address_gate(state: AddressAttempts, now: datetime) -> Gate:
    """May an attempt from this address go on to its name's gate? (LOCKED or OPEN.)"""
    if state.locked_until is not None and now < state.locked_until:
        return Gate.LOCKED
    return Gate.OPEN


def after_address_failure(state: AddressAttempts, now: datetime,
                          policy: SignInPolicy) -> AddressAttempts:
    """Count a failure from the address; lock it at the cap. A window (or a lock) that has
    ended starts a new count."""
    start = state.window_started_at
    ended = start is None or now >= start + timedelta(seconds=policy.address_window_seconds)
    if state.locked_until is not None and now >= state.locked_until:
        ended = True
    failures, start = (1, now) if ended else (state.failures + 1, start)
    if failures >= policy.address_max_failures:
        return AddressAttempts(failures, start, now + timedelta(
            seconds=policy.address_lock_seconds))
    return AddressAttempts(failures, start, None)
