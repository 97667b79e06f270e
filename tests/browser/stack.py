"""The browser suite's stack: the end-to-end suite's fresh province (tests/e2e/province.py: the
four services as subprocesses on free ports, empty `tmis.*` topics, a database of their own)
plus the web front (`python -m services.web`) on a free port of its own, told where the four
answer. Everything it starts it stops, failed tests or not.

The web front holds no data: like `tmis up`, this gives it the broker and database every
service gets, but it uses only the peers' URLs (TMIS_<NAME>_URL).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from tests.e2e.province import (
    REPO,
    Province,
    ServiceProcess,
    _wait_healthy,
    free_port,
    province_stack,
)


@dataclass
class WebStack:
    """Where everything answers, and the processes (their logs explain a failure)."""

    province: Province
    web: ServiceProcess

    @property
    def web_url(self) -> str:
        return self.web.url

    def url(self, service: str) -> str:
        return self.web.url if service == "web" else self.province.endpoints.url(service)

    @property
    def processes(self) -> list[ServiceProcess]:
        return [*self.province.processes, self.web]

    def logs(self, lines: int = 12) -> str:
        """The last lines of every service's log, for an assertion message."""
        return "\n".join(f"--- {p.name} ---\n{p.tail(lines)}" for p in self.processes)


def start_web(province: Province, logs: Path) -> ServiceProcess:
    port = free_port()
    peers = {f"TMIS_{name.upper()}_URL": url for name, url in province.endpoints.urls.items()}
    env = {**os.environ, **peers, "TMIS_HTTP_PORT": str(port), "TMIS_ENV": "test",
           "TMIS_KAFKA_BOOTSTRAP": province.endpoints.kafka_bootstrap,
           "TMIS_DATABASE_URL": province.database_url, "TMIS_LOG_LEVEL": "WARNING",
           "PYTHONUNBUFFERED": "1"}
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / "web.log"
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "services.web"], cwd=REPO, env=env,
                                   stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    return ServiceProcess("web", port, process, log)


@contextlib.asynccontextmanager
async def web_stack(kafka_bootstrap: str, database_url: str, logs: Path
                    ) -> AsyncIterator[WebStack]:
    async with province_stack(kafka_bootstrap, database_url, logs) as province:
        web = start_web(province, logs)
        try:
            await _wait_healthy(web)
            yield WebStack(province, web)
        finally:
            web.stop()
