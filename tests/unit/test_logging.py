"""The libraries' logs (aiokafka, asyncpg, uvicorn) come out as the same JSON lines as ours,
with the service, level, logger name and timestamp, so one log pipeline reads them all."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from shared.logging import configure_logging, get_logger


@pytest.fixture
def json_logs(capsys: pytest.CaptureFixture[str]) -> Iterator[pytest.CaptureFixture[str]]:
    """Our logging, set up in the test itself (pytest swaps stderr between a fixture's set-up
    and the test); stderr is captured, not a TTY, so the lines are JSON. Put back afterwards."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    yield capsys
    root.handlers[:], level = saved
    root.setLevel(level)
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


def lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    return [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.strip()]


def test_a_library_warning_is_a_json_line_with_the_service_and_the_logger_name(
        json_logs: pytest.CaptureFixture[str]) -> None:
    configure_logging("intake")
    logging.getLogger("aiokafka.consumer").warning("heartbeat failed for group %s", "g1")
    [line] = lines(json_logs)
    assert line["event"] == "heartbeat failed for group g1"
    assert (line["service"], line["level"], line["logger"]) == (
        "intake", "warning", "aiokafka.consumer")
    assert str(line["timestamp"]).endswith("Z")


def test_uvicorn_lines_are_json_even_after_uvicorn_set_up_its_own_handlers(
        json_logs: pytest.CaptureFixture[str]) -> None:
    uvicorn_error = logging.getLogger("uvicorn.error")
    uvicorn_error.addHandler(logging.StreamHandler())  # what uvicorn's default dictConfig does
    uvicorn_error.propagate = False
    configure_logging("intake")
    uvicorn_error.error("Application startup failed")
    [line] = lines(json_logs)
    assert (line["event"], line["logger"], line["level"]) == (
        "Application startup failed", "uvicorn.error", "error")


def test_a_library_exception_keeps_its_traceback_in_the_json_line(
        json_logs: pytest.CaptureFixture[str]) -> None:
    configure_logging("intake")
    try:
        raise ConnectionResetError("peer went away")
    except ConnectionResetError:
        logging.getLogger("asyncpg.pool").exception("connection lost")
    [line] = lines(json_logs)
    assert line["event"] == "connection lost"
    assert "ConnectionResetError: peer went away" in str(line["exception"])


def test_library_info_chatter_stays_out_while_our_own_info_lines_stay_in(
        json_logs: pytest.CaptureFixture[str]) -> None:
    configure_logging("intake")
    logging.getLogger("aiokafka").info("fetching offsets")
    get_logger().info("command", path="/v1/teachers")
    [line] = lines(json_logs)
    assert (line["event"], line["path"]) == ("command", "/v1/teachers")
