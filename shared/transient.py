"""Which failures are the infrastructure's (retry later) and which are the message's (give up).

One question, asked by everyone who must decide whether to try again: the idempotent consumer
(retry and commit no offset, or dead-letter), the HTTP exception handler (503 + Retry-After,
or a real 500), the services' start (wait for PostgreSQL and Kafka, or crash) and our own
clients. An error is transient when trying the very same thing again later can succeed
without anybody changing code or data:

    by SQLSTATE (asyncpg's PostgresError.sqlstate)
      08xxx   connection exception (08000, 08003 connection does not exist, 08006 failure)
      53xxx   insufficient resources (53300 too many connections, 53100 disk full, ...)
      57xxx   operator intervention (57P01 admin shutdown: pg_terminate_backend or a restart,
              57P02 crash shutdown, 57P03 cannot connect now: starting up / shutting down,
              57014 query cancelled: our own command_timeout or statement_timeout)
      40001   serialization failure;  40P01 deadlock detected
      55P03   lock not available
    by type
      asyncpg InterfaceError (a closed or broken connection: ConnectionDoesNotExistError ...)
              and InternalClientError ("cannot switch to state ..; another operation is in
              progress": the rollback after the server terminated the connection mid-query)
      OSError (refused, reset, unreachable, broken pipe ...)
      TimeoutError (asyncio's, asyncpg's command_timeout, aiokafka request timeouts)
      aiokafka KafkaError whose class says `retriable` (NodeNotReadyError,
              KafkaConnectionError, RequestTimedOutError, NotLeaderForPartition ...), and
              KafkaTimeoutError (a send that found no broker in time)

PoisonEvent is never transient, whatever caused it: a projection that raised it has decided.
A wrapper exception counts as transient when what it was raised `from` is (the `__cause__`
chain), and an ExceptionGroup when all of its members are.
"""

from __future__ import annotations

import asyncpg
from aiokafka.errors import KafkaError, KafkaTimeoutError

from shared.errors import PoisonEvent

TRANSIENT_SQLSTATE_CLASSES = frozenset({"08", "53", "57"})
TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "55P03"})
RETRY_AFTER_SECONDS = 5  # what an HTTP 503 tells the caller: a restart takes a few seconds

_TRANSIENT_TYPES: tuple[type[BaseException], ...] = (
    asyncpg.InterfaceError, asyncpg.exceptions.InternalClientError, OSError, TimeoutError,
    KafkaTimeoutError)


def transient_sqlstate(sqlstate: str | None) -> bool:
    """True for the SQLSTATEs whose failure is the server's condition, not the statement's."""
    if not sqlstate:
        return False
    return sqlstate[:2] in TRANSIENT_SQLSTATE_CLASSES or sqlstate in TRANSIENT_SQLSTATES


def is_transient(exc: BaseException) -> bool:
    """Would the same operation, tried again later, likely succeed? (see the module doc)"""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _transient_itself(current):
            return True
        if isinstance(current, PoisonEvent):
            return False
        current = current.__cause__
    return False


def _transient_itself(exc: BaseException) -> bool:
    if isinstance(exc, PoisonEvent):
        return False
    if isinstance(exc, BaseExceptionGroup):
        return bool(exc.exceptions) and all(is_transient(e) for e in exc.exceptions)
    if isinstance(exc, asyncpg.PostgresError):
        return transient_sqlstate(getattr(exc, "sqlstate", None))
    if isinstance(exc, KafkaError) and not isinstance(exc, KafkaTimeoutError):
        return bool(getattr(exc, "retriable", False))
    return isinstance(exc, _TRANSIENT_TYPES)
