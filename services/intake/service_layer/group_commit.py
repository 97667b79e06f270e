"""The group-commit batcher: gathers concurrent registrations and writes them together.

No timer and no fixed window: a submission is written at once when fewer than `in_flight`
batches are in the database; otherwise it waits, and everything that arrived meanwhile goes
in the next batch (up to `max_batch`). So a quiet system answers one submission in one
transaction with no added latency, and a busy one writes batches as large as the load makes
them: the batch size follows the arrival rate times the time a batch takes to write.

A batch whose transaction fails as a whole (a deadlock, a serialisation failure, a bug) is run
again one submission per transaction, so each caller gets the answer it would have had alone;
only that caller sees an error its own submission causes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from services.intake.service_layer.ports import UnitOfWork
from services.intake.service_layer.registrations import Render, Submission, register_teachers
from shared.logging import get_logger
from shared.metrics import GROUP_COMMIT_BATCH

log = get_logger(__name__)


class GroupCommit:
    def __init__(self, uow: Callable[[], UnitOfWork], render: Render, *, max_batch: int = 256,
                 in_flight: int = 2) -> None:
        self._uow = uow
        self._render = render
        self.max_batch = max_batch
        self.in_flight = in_flight
        self._waiting: list[tuple[Submission, asyncio.Future[Submission]]] = []
        self._running = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, submission: Submission) -> Submission:
        """Queue one submission; returns it with its answer or error once its batch committed
        (or raises what its own transaction raised when run alone)."""
        future: asyncio.Future[Submission] = asyncio.get_running_loop().create_future()
        self._waiting.append((submission, future))
        self._start_batches()
        return await asyncio.shield(future)

    def _start_batches(self) -> None:
        while self._waiting and self._running < self.in_flight:
            batch, self._waiting = (self._waiting[:self.max_batch],
                                    self._waiting[self.max_batch:])
            self._running += 1
            task = asyncio.create_task(self._write(batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _write(self, batch: list[tuple[Submission, asyncio.Future[Submission]]]) -> None:
        try:
            GROUP_COMMIT_BATCH.observe(len(batch))
            try:
                async with self._uow() as repo:
                    await register_teachers(repo, [s for s, _ in batch], self._render)
            except Exception as exc:
                if len(batch) == 1:
                    _settle(batch[0][1], exc)
                    return
                log.warning("group_commit_batch_failed_running_alone", size=len(batch),
                            error=f"{type(exc).__name__}: {str(exc)[:200]}")
                await asyncio.gather(*(self._alone(s, f) for s, f in batch))
                return
            for s, f in batch:
                _settle(f, s)
        finally:
            self._running -= 1
            self._start_batches()

    async def _alone(self, s: Submission, future: asyncio.Future[Submission]) -> None:
        fresh = Submission(s.who, s.cmd, s.key, s.fingerprint, s.correlation_id)
        try:
            async with self._uow() as repo:
                await register_teachers(repo, [fresh], self._render)
        except Exception as exc:
            _settle(future, exc)
        else:
            _settle(future, fresh)


def _settle(future: asyncio.Future[Submission], outcome: Submission | BaseException) -> None:
    if future.done():
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
