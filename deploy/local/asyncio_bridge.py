"""Run a coroutine to completion from synchronous stack code.

The stack's probes (aiokafka, asyncpg) are async, while ``tmis up`` and the pytest fixture are
not. A fixture may nevertheless be set up while an event loop runs in this thread; then the
coroutine runs on a fresh loop in a worker thread instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run_coroutine(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(coro)``, also when the calling thread already runs a loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()
