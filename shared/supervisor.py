"""A service's processes and the small supervisor that keeps them running.

`python -m services.<name>` starts the supervisor; it runs the service's parts as child
processes of their own, each `python -m services.<name> <role>`:

    http    uvicorn serving the FastAPI app with TMIS_HTTP_WORKERS worker processes (uvloop,
            httptools), and the service's consumers
    relay   the outbox relay (services that write events): one leader per schema by advisory
            lock, so a second relay anywhere is a hot standby

A child that exits is started again after a backoff (1 s doubling to 30 s, reset after a minute
of good running); SIGTERM/SIGINT stop every child and then the supervisor. Children ask the
kernel to kill them when the supervisor dies (PR_SET_PDEATHSIG), so `kill -9` of the
supervisor leaves no orphan holding a port. The same supervisor runs in docker-compose's
containers: one container per service, its relay a process of its own inside it.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from shared.logging import configure_logging, get_logger

log = get_logger(__name__)

BACKOFF_START, BACKOFF_CAP, HEALTHY_AFTER = 1.0, 30.0, 60.0
_PR_SET_PDEATHSIG = 1


@dataclass
class Child:
    role: str
    argv: list[str]
    proc: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    backoff: float = BACKOFF_START
    next_start: float = 0.0
    restarts: int = field(default=0)


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the supervisor dies (Linux; elsewhere a no-op)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def supervise(module: str, roles: Sequence[str]) -> int:
    """Run `python -m module <role>` for each role until told to stop; returns the exit code."""
    configure_logging(f"{module.rsplit('.', 1)[-1]}-supervisor",
                      os.environ.get("TMIS_LOG_LEVEL", "INFO"))
    children = [Child(role, [sys.executable, "-m", module, role]) for role in roles]
    stopping = False

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("supervisor_started", module=module, roles=list(roles), pid=os.getpid())
    while not stopping:
        now = time.monotonic()
        for child in children:
            _tend(child, now)
        time.sleep(0.2)
    _stop_all(children)
    log.info("supervisor_stopped", module=module)
    return 0


def _tend(child: Child, now: float) -> None:
    if child.proc is not None:
        code = child.proc.poll()
        if code is None:
            if now - child.started > HEALTHY_AFTER:
                child.backoff = BACKOFF_START
            return
        log.warning("child_exited", role=child.role, pid=child.proc.pid, code=code,
                    restart_in_s=child.backoff)
        child.proc = None
        child.next_start = now + child.backoff
        child.backoff = min(BACKOFF_CAP, child.backoff * 2)
        child.restarts += 1
    if now >= child.next_start:
        child.proc = subprocess.Popen(child.argv, preexec_fn=_die_with_parent)
        child.started = now
        log.info("child_started", role=child.role, pid=child.proc.pid, restarts=child.restarts)


def _stop_all(children: list[Child], grace: float = 20.0) -> None:
    running = [c.proc for c in children if c.proc is not None and c.proc.poll() is None]
    for proc in running:
        proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for proc in running:
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
