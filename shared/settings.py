"""Settings every service and program reads from the environment (prefix TMIS_).

`tmis status` prints TMIS_KAFKA_BOOTSTRAP and TMIS_DATABASE_URL; a service started by
`tmis up` gets them, plus TMIS_HTTP_PORT. In production the signing key must be set and at
least 32 bytes long (HS256 keys shorter than the hash can be guessed offline from one token);
a service whose settings fail these checks refuses to start (shared/runtime.py `serve`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-only-signing-key-change-me-0123456789abcdef"
MIN_SECRET_BYTES = 32


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TMIS_", extra="ignore")

    env: Literal["dev", "test", "production"] = "dev"
    kafka_bootstrap: str = "127.0.0.1:9092"
    database_url: str = "postgresql://tmis@127.0.0.1:5432/tmis"
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    jwt_secret: str = DEV_SECRET
    jwt_ttl_seconds: int = 8 * 3600
    state_dir: str = ".tmis"
    log_level: str = "INFO"
    db_pool_size: int = 10
    http_workers: int = Field(1, ge=1, le=64, description="uvicorn worker processes")
    http_keep_alive_seconds: int = Field(75, ge=1, description="idle keep-alive (a client "
                                         "starved of CPU for a moment keeps its connection)")
    db_command_timeout: float = 120.0  # seconds a statement may take before it is given up
    db_connect_timeout: float = 10.0
    startup_wait_seconds: float = 180.0  # how long a starting service waits for PG and Kafka

    @model_validator(mode="after")
    def _no_default_secret_in_production(self) -> Settings:
        if self.env == "production" and self.jwt_secret == DEV_SECRET:
            raise ValueError("TMIS_JWT_SECRET must be set to a real secret in production")
        if self.env == "production" and len(self.jwt_secret.encode()) < MIN_SECRET_BYTES:
            raise ValueError(f"TMIS_JWT_SECRET is {len(self.jwt_secret.encode())} bytes; in "
                             f"production it must be at least {MIN_SECRET_BYTES} bytes "
                             "(for example: openssl rand -hex 32)")
        return self


def load_settings() -> Settings:
    return Settings()
