"""structlog set-up: JSON lines when not on a TTY, coloured console when on one.

Handlers bind event_id / correlation_id with `structlog.contextvars.bind_contextvars`, and log
one canonical line per handled message or request.

The libraries' own logs (uvicorn, aiokafka, asyncpg, faststream: anything through the standard
`logging` module) go through the same renderer by structlog's ProcessorFormatter on the root
logger, so an operator's log pipeline sees one JSON shape with `service`, `level`, `logger` and
`timestamp` on every line. uvicorn is started with `log_config=None` so it keeps no handlers of
its own and its records reach the root logger.
"""

from __future__ import annotations

import logging
import sys

import structlog

LIBRARY_LEVEL = logging.WARNING  # the libraries' INFO chatter (each fetch, connection) stays out


def configure_logging(service: str, level: str = "INFO") -> None:
    processors: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.types.Processor
    if sys.stderr.isatty():
        renderer = structlog.dev.ConsoleRenderer()
    else:
        processors.append(structlog.processors.format_exc_info)
        renderer = structlog.processors.JSONRenderer(ensure_ascii=False)
    structlog.configure(
        processors=[*processors, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping().get(level.upper(), logging.INFO)),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)
    route_library_logs(processors, renderer)


def route_library_logs(processors: list[structlog.types.Processor],
                       renderer: structlog.types.Processor) -> None:
    """The root logger's one handler renders standard-library records like our own lines."""
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.add_logger_name, *processors],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer])
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(LIBRARY_LEVEL)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        # uvicorn's own dictConfig (when someone starts it with the default log_config) leaves
        # handlers here and stops propagation; undo that so its lines are JSON too.
        library = logging.getLogger(name)
        library.handlers[:] = []
        library.propagate = True


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(name)
