"""How our own HTTP clients retry a service that is briefly away: one policy, on stamina.

The simulator (`tmis simulate`, `tmis demo`), `tmis import` and the web front's backend calls
send a request again when the answer says "not now" — 502, 503 (our services' answer while
PostgreSQL or Kafka is away, shared/unavailable.py), 504 — or when the connection was refused,
reset or timed out, with exponential backoff and jitter, honouring `Retry-After`. The request is
sent again unchanged: with the SAME Idempotency-Key, so a POST the service had already
committed is answered from its idempotency record, not done twice.

We use stamina (PyPI `stamina`) rather than tenacity or a hand-written loop: it is small, typed,
async-native, has sane defaults (exponential backoff with jitter, a total time bound), takes a
predicate that can return a custom wait (how we honour Retry-After), logs every retry through
structlog and counts them in Prometheus, both of which we already use.

    RetryableAnswer     raised by a client for an answer worth sending again (holds it)
"""

from __future__ import annotations

import httpx

RETRY_STATUSES = frozenset({502, 503, 504})
MAX_RETRY_AFTER = 30.0
# A request that never reached the service: safe to send again whatever its method.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class RetryableAnswer(Exception):
    """The service answered, but with "try again later" (or a caller's own retryable case)."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


def retry_after(response: httpx.Response) -> float | None:
    """The answer's Retry-After in seconds (the delta form; dates are not used by us)."""
    raw = response.headers.get("Retry-After", "").strip()
    try:
        return min(MAX_RETRY_AFTER, max(0.0, float(raw)))
    except ValueError:
        return None


def backoff(exc: Exception) -> bool | float:
    """stamina's `on=`: retry a retryable answer (waiting what it asks) or a transport error."""
    if isinstance(exc, RetryableAnswer):
        wait = retry_after(exc.response)
        return True if wait is None else wait
    return isinstance(exc, httpx.TransportError)


def backoff_unsent_only(exc: Exception) -> bool | float:
    """For a request that must not be sent twice (a POST without an Idempotency-Key):
    retry only an answer that says it was not done, or a connection that never opened."""
    if isinstance(exc, RetryableAnswer):
        return backoff(exc)
    return isinstance(exc, NOT_SENT)
