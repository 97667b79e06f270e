"""Start-up that waits for PostgreSQL and Kafka instead of crashing when they are not up yet.

A service started together with (or just before) its database and broker, or restarted while
one of them restarts, meets refused connections, "the database system is starting up" (57P03)
or a broker without metadata. `until_up` repeats one start-up step with exponential backoff
(stamina: well kept, typed, async-native, logs each retry through structlog) as long as the
failure is transient (shared.transient) and the bound `Settings.startup_wait_seconds` is not
reached; a failure that is not transient (a wrong password, a broken migration) ends the start
at once, as before.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import stamina

from shared.logging import get_logger
from shared.transient import is_transient

log = get_logger(__name__)
T = TypeVar("T")


async def until_up(what: str, step: Callable[[], Awaitable[T]], seconds: float, *,
                   wait_initial: float = 0.5, wait_max: float = 5.0) -> T:
    """`await step()` until it succeeds, retrying transient failures for up to `seconds`."""
    started = time.monotonic()
    async for attempt in stamina.retry_context(on=is_transient, attempts=None, timeout=seconds,
                                               wait_initial=wait_initial, wait_max=wait_max,
                                               wait_jitter=wait_initial):
        with attempt:
            if attempt.num > 1:
                log.warning("waiting_for_infrastructure", what=what, attempt=attempt.num,
                            waited_s=round(time.monotonic() - started, 1), bound_s=seconds)
            result = await step()
            if attempt.num > 1:
                log.info("infrastructure_up", what=what,
                         waited_s=round(time.monotonic() - started, 1))
            return result
    raise AssertionError("unreachable: stamina raises when it gives up")  # pragma: no cover
