"""A small text progress bar on stderr (no dependency): redrawn in place on a terminal, a line
every tenth of the way otherwise (logs stay readable). `Silent` is the same thing, quiet.
"""

from __future__ import annotations

import sys
import time
from typing import Protocol, TextIO

WIDTH = 28


class Progress(Protocol):
    def advance(self, n: int = 1) -> None: ...
    def note(self, text: str) -> None: ...
    def close(self, summary: str = "") -> None: ...


class ProgressFactory(Protocol):
    def __call__(self, label: str, total: int | None = None) -> Progress: ...


class Bar:
    def __init__(self, label: str, total: int | None = None, stream: TextIO | None = None
                 ) -> None:
        self.label = label
        self.total = total
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.done = 0
        self.extra = ""
        self.started = time.monotonic()
        self._drawn = 0.0
        self._tenth = -1
        self._draw(force=True)

    def advance(self, n: int = 1) -> None:
        self.done += n
        self._draw()

    def note(self, text: str) -> None:
        self.extra = text
        self._draw()

    def close(self, summary: str = "") -> None:
        if summary:
            self.extra = summary
        self._draw(force=True, final=True)

    def _line(self) -> str:
        seconds = time.monotonic() - self.started
        if self.total:
            share = min(1.0, self.done / self.total)
            filled = int(share * WIDTH)
            bar = "#" * filled + "." * (WIDTH - filled)
            rate = self.done / seconds if seconds > 0 else 0.0
            left = (self.total - self.done) / rate if rate > 0 else 0.0
            eta = f" eta {left:.0f}s" if self.done < self.total and rate > 0 else ""
            head = f"{self.label:<22} [{bar}] {self.done}/{self.total} {share:4.0%}"
            return f"{head} {seconds:.0f}s{eta} {self.extra}".rstrip()
        return f"{self.label:<22} {self.done} {seconds:.0f}s {self.extra}".rstrip()

    def _draw(self, force: bool = False, final: bool = False) -> None:
        now = time.monotonic()
        if self.tty:
            if not force and now - self._drawn < 0.2:
                return
            self._drawn = now
            self.stream.write("\r\x1b[K" + self._line() + ("\n" if final else ""))
            self.stream.flush()
            return
        tenth = int(10 * self.done / self.total) if self.total else -1
        if final or force or (tenth > self._tenth and now - self._drawn > 1.0) or \
                (not self.total and now - self._drawn > 30):
            self._tenth = max(tenth, self._tenth)
            self._drawn = now
            self.stream.write(self._line() + "\n")
            self.stream.flush()


def bars(stream: TextIO | None = None) -> ProgressFactory:
    def make(label: str, total: int | None = None) -> Progress:
        return Bar(label, total, stream)
    return make


class Silent:
    def __init__(self, label: str = "", total: int | None = None) -> None:
        self.done = 0

    def advance(self, n: int = 1) -> None:
        self.done += n

    def note(self, text: str) -> None:
        pass

    def close(self, summary: str = "") -> None:
        pass


def silent(label: str, total: int | None = None) -> Progress:
    return Silent(label, total)
