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
    import_writers: int = Field(2, ge=1, le=8, description="batches of one import written "
                                "at once, each its own transaction")
    group_commit_max_batch: int = Field(256, ge=1, le=5000, description="most registrations "
                                        "gathered into one transaction (1: no group commit)")
    group_commit_in_flight: int = Field(2, ge=1, le=32, description="batches written at once "
                                        "per process; arrivals meanwhile form the next batch")
    signin_token_ttl_seconds: int = Field(30 * 60, ge=60, le=24 * 3600,
                                          description="lifetime of a token issued at sign-in")
    signin_max_failures: int = Field(5, ge=1, description="failures in a row before a lock")
    signin_lock_seconds: float = Field(15 * 60, gt=0, description="how long a lock lasts")
    signin_delay_base_seconds: float = Field(0.2, ge=0, description="first failure's delay")
    signin_delay_cap_seconds: float = Field(2.0, ge=0, description="longest failure delay")
    signin_address_max_failures: int = Field(100, ge=1, description="failures from one "
                                             "client address, across names, that lock it")
    signin_address_window_seconds: float = Field(15 * 60, gt=0, description="the window those "
                                                 "failures are counted in")
    signin_address_lock_seconds: float = Field(15 * 60, gt=0, description="how long an "
                                               "address lock lasts")
    argon2_time_cost: int | None = Field(None, ge=1, description="argon2id passes (default: "
                                                                  "OWASP's 2)")
    argon2_memory_kib: int | None = Field(None, ge=8, description="argon2id memory in KiB "
                                                                   "(default: OWASP's 19456)")


@lru_cache(maxsize=1)
def intake_settings() -> IntakeSettings:
    return IntakeSettings()
