"""The web front's configuration, from the environment (prefix TMIS_).

The backends' URLs are the same variables `tmis up` gives every service
(TMIS_INTAKE_URL, ...). The CSRF key defaults to a random one per process: forms rendered by an
earlier process are refused after a restart, which is safe and only costs a reload.
"""

from __future__ import annotations

import secrets
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

SERVICE = "web"


class WebSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TMIS_", extra="ignore")

    env: Literal["dev", "test", "production"] = "dev"
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    log_level: str = "INFO"
    intake_url: str = "http://127.0.0.1:8001"
    review_url: str = "http://127.0.0.1:8002"
    orgsync_url: str = "http://127.0.0.1:8003"
    reporting_url: str = "http://127.0.0.1:8004"
    web_csrf_secret: str = Field(default_factory=lambda: secrets.token_hex(32))
    web_cookie_secure: bool = False
    web_backend_timeout: float = 30.0
    web_backend_retry_seconds: float = 10.0  # how long a page call retries a backend away

    def peer_urls(self) -> dict[str, str]:
        return {"intake": self.intake_url, "review": self.review_url,
                "orgsync": self.orgsync_url, "reporting": self.reporting_url}


def load_web_settings() -> WebSettings:
    return WebSettings()
