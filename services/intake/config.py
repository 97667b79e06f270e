"""Intake's own settings (env prefix TMIS_INTAKE_), beside the shared TMIS_* settings."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

MiB = 1024 * 1024


class IntakeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TMIS_INTAKE_", extra="ignore")

    schema_name: str = Field("intake", description="PostgreSQL schema of intake's store")
    max_document_bytes: int = Field(5 * MiB, description="largest proof document accepted")
    max_import_bytes: int = Field(64 * MiB, description="largest import file accepted")
    import_batch_size: int = Field(1000, ge=1, le=10000, description="rows per transaction")


@lru_cache(maxsize=1)
def intake_settings() -> IntakeSettings:
    return IntakeSettings()
