"""Review's settings beyond the shared ones (shared.settings.Settings), from the environment.

    TMIS_INTAKE_URL         where reviewers open proof documents: intake serves them at
                            <url>/v1/documents/{sha256}; empty gives a path relative to intake
    TMIS_REVIEW_BATCH_MAX   most decisions one POST /v1/decisions may carry
    TMIS_REVIEW_DECISION_CHUNK  decisions of a batch decided in one transaction
    TMIS_REVIEW_SCHEMA_NAME review's PostgreSQL schema (default review; also names the
                            consumer group): lets a second instance run apart, e.g. a bench
"""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict


class ReviewConfig(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TMIS_", extra="ignore")

    intake_url: str = ""
    review_batch_max: int = 5000
    review_decision_chunk: int = 1000
    review_schema_name: str = "review"

    def proof_url(self, sha256: str) -> str:
        return f"{self.intake_url.rstrip('/')}/v1/documents/{sha256}"


@lru_cache(maxsize=1)
def review_config() -> ReviewConfig:
    return ReviewConfig()
