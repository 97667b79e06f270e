"""The TMIS services as local processes: ``<venv python> -m services.<name>``.

Each is a small supervisor (shared/supervisor.py) running the service's HTTP workers and, for
services that write events, its outbox relay as processes of their own; it restarts a child
that dies. Stopping signals the whole process group.

A service takes everything from the environment (TMIS_KAFKA_BOOTSTRAP, TMIS_DATABASE_URL,
TMIS_HTTP_PORT, TMIS_ENV, TMIS_STATE_DIR) and is ready when ``GET /healthz`` answers 200.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

from deploy.local import procs

# The services with a database schema and a Kafka principal (kafka_security, the ACL tests and
# docker-compose's kafka-init iterate these), then the processes `tmis up` starts: those plus
# the web front, which holds no data and talks only HTTP to the four (services/web).
SERVICES = ("intake", "review", "orgsync", "reporting")
FRONTS = ("web",)
PROCESSES = (*SERVICES, *FRONTS)
# Health checks go to 127.0.0.1: never through an http_proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
READY_TIMEOUT = 60.0
# uvicorn worker processes per service (TMIS_HTTP_WORKERS): intake takes the province's
# submissions; the others serve people's pages and reports and keep one.
HTTP_WORKERS = {"intake": 2}
STOP_GRACE = 10.0


def available(repo: Path) -> list[str]:
    """The processes whose code exists yet (``services/<name>/__main__.py``), web last."""
    return [name for name in PROCESSES if (repo / "services" / name / "__main__.py").exists()]


def python(repo: Path) -> str:
    """The repo's venv interpreter when there is one, else the one running us."""
    venv = repo / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def marker(name: str) -> str:
    """What the service's command line contains."""
    return f"-m {module(name)}"


def module(name: str) -> str:
    return f"services.{name}"


def log_path(state_dir: Path, name: str) -> Path:
    return state_dir / "logs" / f"{name}.log"


def url(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def start(
    name: str, *, repo: Path, state_dir: Path, port: int, kafka: str, database_url: str
) -> int:
    """Start one service detached; returns its pid."""
    env = {
        **os.environ,
        "TMIS_KAFKA_BOOTSTRAP": kafka,
        "TMIS_DATABASE_URL": database_url,
        "TMIS_HTTP_PORT": str(port),
        "TMIS_ENV": "dev",
        "TMIS_STATE_DIR": str(state_dir),
        "TMIS_HTTP_WORKERS": os.environ.get("TMIS_HTTP_WORKERS", str(HTTP_WORKERS.get(name, 1))),
        "PYTHONUNBUFFERED": "1",
    }
    return procs.spawn(
        [python(repo), "-m", module(name)], log=log_path(state_dir, name), env=env, cwd=repo
    )


def is_healthy(port: int, timeout: float = 2.0) -> bool:
    """True when ``GET /healthz`` answers 200."""
    try:
        with _OPENER.open(f"{url(port)}/healthz", timeout=timeout) as response:
            return int(response.status) == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def wait_healthy(name: str, state_dir: Path, pid: int, port: int) -> None:
    """Block until the service is healthy, or fail with its log tail."""
    procs.wait_until(
        lambda: is_healthy(port),
        what=f"service {name} on {url(port)}",
        timeout=READY_TIMEOUT,
        logs=[log_path(state_dir, name)],
        alive=lambda: procs.pid_alive(pid),
    )


def stop(name: str, pid: int | None) -> None:
    """SIGTERM the service's process group, SIGKILL it after 10 s."""
    procs.stop_pid(pid, marker(name), grace=STOP_GRACE)
