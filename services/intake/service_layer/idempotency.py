"""Idempotency-Key: a retried POST gets the first answer and appends nothing.

The key (per principal) is claimed inside the same transaction as the command: a retry that
arrives while the first attempt is still running waits on the key's row and then replays the
stored answer. A failed attempt rolls back with its key, so a retry runs again (and, being the
same request, fails the same way). Reusing a key for a different request is a 422, as the IETF
Idempotency-Key draft says.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from services.intake.service_layer.ports import Registry, StoredResponse
from shared.auth import Principal
from shared.errors import Problem, ValidationProblem


def request_hash(method: str, path: str, body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


async def once(repo: Registry, who: Principal, key: str | None, fingerprint: str,
               run: Callable[[], Awaitable[StoredResponse]]) -> tuple[StoredResponse, bool]:
    """(the answer, whether it is a replay of an earlier one)."""
    if key is None:
        return await run(), False
    stored = await repo.begin_request(who.subject, key, fingerprint)
    if stored is not None:
        first_hash, answer = stored
        if first_hash != fingerprint:
            raise ValidationProblem([Problem(
                "Idempotency-Key", "this key was already used for a different request; a "
                                   "retry must repeat the request exactly, a new request needs "
                                   "a new key")])
        return answer, True
    response = await run()
    await repo.finish_request(who.subject, key, response)
    return response, False
