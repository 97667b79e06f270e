"""Processes, ports and logs for the local stack.

Components run detached (their own session, so a Ctrl-C in the terminal that ran `tmis up`
does not reach them, and a whole process group can be stopped at once). Their pids are kept
in ``stack.json``; before signalling a pid read back from there we check that its command
line still names our component, so a recycled pid is never killed.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from deploy.local.errors import StackError

# Written to a log before each start; error messages show the log from the last one only.
START_BANNER = "=== tmis: started "

# Popen objects of the children this process started: holding them lets us reap the child
# (no zombie that still "looks alive") and keeps Popen from warning about a running child.
_children: dict[int, subprocess.Popen[bytes]] = {}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def port_is_free(port: int) -> bool:
    """True when a server could bind ``port`` on 127.0.0.1 now.

    SO_REUSEADDR as Kafka and PostgreSQL set it: connections of a stopped server lingering in
    TIME_WAIT do not make its port look taken.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def port_accepts(port: int, timeout: float = 0.5) -> bool:
    """True when something accepts TCP connections on 127.0.0.1:``port``."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def spawn(
    cmd: Sequence[str],
    *,
    log: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> int:
    """Start ``cmd`` detached in a new session, stdout and stderr appended to ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        out.write(f"{START_BANNER}{time.strftime('%Y-%m-%d %H:%M:%S')} ===\n".encode())
        out.flush()
        try:
            proc = subprocess.Popen(
                list(cmd),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=dict(env) if env is not None else None,
                cwd=cwd,
                start_new_session=True,
            )
        except OSError as exc:
            raise StackError(f"could not start {cmd[0]}: {exc}") from exc
    _children[proc.pid] = proc
    return proc.pid


def pid_alive(pid: int | None) -> bool:
    """True when ``pid`` runs (a zombie child counts as dead, and is reaped)."""
    if not pid:
        return False
    child = _children.get(pid)
    if child is not None:
        return child.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _proc_state(pid) != "Z"


def _proc_state(pid: int) -> str | None:
    """The one-letter state from /proc/<pid>/stat, or None where /proc is missing."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rpartition(")")[2].split()[0]


def pid_matches(pid: int | None, marker: str) -> bool:
    """True when ``pid`` runs and its command line contains ``marker``.

    Without /proc (macOS) the command line cannot be read cheaply; the pid alone decides.
    """
    if not pid_alive(pid):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return not Path("/proc/self").exists()
    except OSError:
        return False
    return marker.encode() in cmdline.replace(b"\0", b" ")


def find_pids(marker: str, environ_marker: str | None = None) -> list[int]:
    """Pids whose command line contains ``marker`` (and environment ``environ_marker``).

    Finds what a lost or stale ``stack.json`` no longer names; empty without /proc.
    """
    found: list[int] = []
    for entry in Path("/proc").glob("[0-9]*"):
        pid = int(entry.name)
        if pid == os.getpid() or not pid_matches(pid, marker):
            continue
        if environ_marker is not None and not _environ_has(pid, environ_marker):
            continue
        found.append(pid)
    return found


def _environ_has(pid: int, entry: str) -> bool:
    try:
        return entry.encode() in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return False


def stop_pid(pid: int | None, marker: str, *, grace: float) -> None:
    """SIGTERM the process (its group when it leads one), SIGKILL it after ``grace`` seconds.

    Does nothing when ``pid`` is not ours any more (see ``pid_matches``).
    """
    if pid is None or not pid_matches(pid, marker):
        return
    _signal(pid, signal.SIGTERM)
    if wait_dead(pid, grace):
        return
    _signal(pid, signal.SIGKILL)
    if not wait_dead(pid, 10):
        raise StackError(f"process {pid} ({marker}) survived SIGKILL")


def _signal(pid: int, sig: signal.Signals) -> None:
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass


def wait_dead(pid: int, timeout: float) -> bool:
    """Wait up to ``timeout`` seconds for ``pid`` to end; True when it has."""
    deadline = time.monotonic() + timeout
    while pid_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    _children.pop(pid, None)
    return True


def wait_until(
    ready: Callable[[], bool],
    *,
    what: str,
    timeout: float,
    logs: Sequence[Path] = (),
    alive: Callable[[], bool] | None = None,
    interval: float = 0.25,
) -> None:
    """Poll ``ready`` until it is true; fail with the logs' tails after ``timeout`` seconds
    or as soon as ``alive`` says the process behind it has died."""
    deadline = time.monotonic() + timeout
    while not ready():
        if alive is not None and not alive():
            raise StackError(f"{what} exited while starting{tails(logs)}")
        if time.monotonic() > deadline:
            raise StackError(f"{what} was not ready after {timeout:.0f} s{tails(logs)}")
        time.sleep(interval)


def tails(logs: Sequence[Path], lines: int = 20) -> str:
    """The last lines of each existing log, formatted to append to an error message."""
    parts = [f"\n--- last lines of {log} ---\n{log_tail(log, lines)}" for log in logs]
    return "".join(part for part in parts if not part.endswith("---\n"))


def log_tail(path: Path, lines: int = 20) -> str:
    """The last ``lines`` lines of ``path`` since the last start ('' when it does not exist)."""
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 64 * 1024))
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    text = text.rpartition(START_BANNER)[2].partition("\n")[2] if START_BANNER in text else text
    return "\n".join(text.splitlines()[-lines:])


def run(
    cmd: Sequence[str], *, what: str, cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run a short command to completion; a non-zero exit becomes a StackError with its output."""
    try:
        done = subprocess.run(
            list(cmd),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise StackError(f"{what} failed: {exc}") from exc
    if done.returncode != 0:
        output = (done.stdout + done.stderr).strip().splitlines()[-20:]
        raise StackError(f"{what} failed (exit {done.returncode}):\n" + "\n".join(output))
    return done
