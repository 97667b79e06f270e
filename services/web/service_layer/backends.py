"""The four backends a page can call, built once per app (bootstrap) and shared by requests."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from services.web.adapters.http import Backend
from services.web.adapters.intake import IntakeClient
from services.web.adapters.orgsync import OrgsyncClient
from services.web.adapters.reporting import ReportingClient
from services.web.adapters.review import ReviewClient


@dataclass(frozen=True)
class Backends:
    intake: IntakeClient
    review: ReviewClient
    orgsync: OrgsyncClient
    reporting: ReportingClient

    async def health(self) -> dict[str, bool]:
        """Which backends answer their own /healthz (asked at once, not one after another)."""
        parts: list[Backend] = [self.intake.backend, self.review.backend,
                                self.orgsync.backend, self.reporting.backend]
        answers = await asyncio.gather(*(b.healthy() for b in parts))
        return {b.name: ok for b, ok in zip(parts, answers, strict=True)}
