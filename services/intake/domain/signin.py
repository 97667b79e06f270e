"""Sign-in throttling: repeated failures are slowed, then locked for a while.

Per sign-in name (a username, or a teacher), intake keeps the failures in a row, when the next
attempt may come, and the end of a lock. After a failure the name must wait before its next
attempt is even checked: 0.2 s after the first failure in a row, doubling with each one (0.4 s,
0.8 s, ...), capped at 2 s. An attempt that comes sooner is refused at once (429, with how long
to wait), without checking the password and without counting as a failure. The fifth failure
in a row locks the name for 15 minutes, during which even the right password is refused. The
lock is released by the first attempt after it ends (that is when it is noticed and recorded).
A success clears everything. All numbers are settings (TMIS_INTAKE_SIGNIN_*).

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
