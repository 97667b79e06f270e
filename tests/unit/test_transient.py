"""Which failures are the infrastructure's: real asyncpg and aiokafka exception classes."""

from __future__ import annotations

import asyncpg
import pytest
from aiokafka import errors as kafka_errors

from shared.errors import PoisonEvent, ValidationProblem
from shared.transient import is_transient, transient_sqlstate

pg = asyncpg.exceptions


@pytest.mark.parametrize("error", [
    pg.AdminShutdownError("terminating connection due to administrator command"),  # 57P01
    pg.CrashShutdownError("terminating connection because of crash"),  # 57P02
    pg.CannotConnectNowError("the database system is starting up"),  # 57P03
    pg.QueryCanceledError("canceling statement due to statement timeout"),  # 57014
    pg.TooManyConnectionsError("sorry, too many clients already"),  # 53300
    pg.OutOfMemoryError("out of memory"),  # 53200
    pg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
    pg.ConnectionFailureError("connection failure"),  # 08006
    pg.SerializationError("could not serialize access"),  # 40001
    pg.DeadlockDetectedError("deadlock detected"),  # 40P01
    pg.LockNotAvailableError("could not obtain lock"),  # 55P03
], ids=lambda e: type(e).__name__)
def test_a_database_condition_that_passes_is_transient(error: Exception) -> None:
    assert is_transient(error)


@pytest.mark.parametrize("error", [
    asyncpg.InterfaceError("connection is closed"),
    asyncpg.exceptions.InternalClientError(
        "cannot switch to state 15; another operation (2) is in progress"),
    ConnectionRefusedError(111, "Connection refused"),
    ConnectionResetError(104, "Connection reset by peer"),
    TimeoutError(),
    kafka_errors.NodeNotReadyError("node 1 not ready"),
    kafka_errors.KafkaConnectionError("connection refused"),
    kafka_errors.RequestTimedOutError(),
    kafka_errors.NotLeaderForPartitionError(),
    kafka_errors.KafkaTimeoutError(),
], ids=lambda e: type(e).__name__)
def test_a_broken_connection_or_a_timeout_is_transient(error: Exception) -> None:
    assert is_transient(error)


@pytest.mark.parametrize("error", [
    pg.UniqueViolationError("duplicate key value violates unique constraint"),  # 23505
    pg.UndefinedTableError("relation does not exist"),  # 42P01
    pg.InvalidTextRepresentationError("invalid input syntax for type uuid"),  # 22P02
    pg.CheckViolationError("violates check constraint"),
    kafka_errors.MessageSizeTooLargeError(),
    kafka_errors.TopicAuthorizationFailedError(),
    ValueError("bad payload"),
    KeyError("teacher_id"),
    PoisonEvent("school S never registered"),
    ValidationProblem([]),
], ids=lambda e: type(e).__name__)
def test_an_error_of_the_message_or_the_code_is_not_transient(error: Exception) -> None:
    assert not is_transient(error)


def test_a_wrapper_raised_from_a_transient_error_is_transient() -> None:
    try:
        try:
            raise pg.AdminShutdownError("terminating connection")
        except pg.AdminShutdownError as cause:
            raise RuntimeError("projection failed") from cause
    except RuntimeError as wrapper:
        assert is_transient(wrapper)


def test_a_poison_event_stays_poison_even_when_raised_from_a_timeout() -> None:
    try:
        try:
            raise TimeoutError()
        except TimeoutError as cause:
            raise PoisonEvent("can never apply") from cause
    except PoisonEvent as poison:
        assert not is_transient(poison)


def test_an_exception_group_is_transient_only_when_every_member_is() -> None:
    assert is_transient(ExceptionGroup("both", [TimeoutError(), OSError("reset")]))
    assert not is_transient(ExceptionGroup("mixed", [TimeoutError(), ValueError("bad")]))


@pytest.mark.parametrize(("sqlstate", "transient"), [
    ("08000", True), ("08P01", True), ("53300", True), ("57P01", True), ("57P03", True),
    ("40001", True), ("40P01", True), ("55P03", True), ("55000", False), ("40002", False),
    ("23505", False), ("42P01", False), ("", False), (None, False),
])
def test_sqlstates_are_classified_by_class_and_by_code(sqlstate: str | None,
                                                        transient: bool) -> None:
    assert transient_sqlstate(sqlstate) is transient
