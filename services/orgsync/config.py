"""Orgsync's configuration: the shared TMIS_* settings plus its own (prefix TMIS_ORGSYNC_)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

SERVICE = "orgsync"
SCHEMA = "orgsync"


class OrgsyncSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TMIS_ORGSYNC_", extra="ignore")

    # A quarter's batch for the whole province is a few thousand lines (~0.5 MB); refuse
    # anything far larger before reading it into memory.
    max_upload_bytes: int = 20 * 1024 * 1024


def load_orgsync_settings() -> OrgsyncSettings:
    return OrgsyncSettings()
