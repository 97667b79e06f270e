"""Password hashing with argon2id (argon2-cffi), off the event loop.

argon2id is the current recommendation for password storage (OWASP, RFC 9106). The default
parameters are OWASP's for argon2id (19 MiB of memory, 2 passes, 1 lane): a verification takes
tens of milliseconds on one core, so sign-in stays cheap for the server and costly to guess at
scale; settings can raise them (TMIS_INTAKE_ARGON2_*). Hashing and verifying run in a worker
thread. The hash string carries its parameters: after raising them, a password is rehashed at
its holder's next successful sign-in. `verify(None, ...)` checks against a dummy hash, so an
unknown name is refused in the same time as a known one.
"""

from __future__ import annotations

import asyncio
import secrets

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# OWASP Password Storage Cheat Sheet, argon2id: m=19 MiB, t=2, p=1.
OWASP_MEMORY_KIB, OWASP_TIME_COST, OWASP_PARALLELISM = 19 * 1024, 2, 1


class Argon2Hasher:
    def __init__(self, time_cost: int | None = None, memory_kib: int | None = None,
                 parallelism: int | None = None) -> None:
        self._hasher = argon2.PasswordHasher(
            time_cost=time_cost or OWASP_TIME_COST, memory_cost=memory_kib or OWASP_MEMORY_KIB,
            parallelism=parallelism or OWASP_PARALLELISM)
        self._dummy = self._hasher.hash(secrets.token_urlsafe(16))

    async def hash(self, secret: str) -> str:
        return await asyncio.to_thread(self._hasher.hash, secret)

    async def verify(self, hashed: str | None, secret: str) -> bool:
        target = hashed or self._dummy
        try:
            ok = await asyncio.to_thread(self._hasher.verify, target, secret)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        return bool(ok) and hashed is not None

    def needs_rehash(self, hashed: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(hashed)
        except InvalidHashError:
            return True
