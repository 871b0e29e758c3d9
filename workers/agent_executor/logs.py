"""Structured JSON logs for every logger; secrets are SecretStr, so they never reach them."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import structlog
import structlog.tracebacks
from structlog.typing import EventDict, Processor, WrappedLogger

_SHARED: list[Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.processors.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", key="ts"),
]


def _with_service(service: str) -> Processor:
    """A processor naming the service on every line (seed 000's logging standard)."""

    def add(_: WrappedLogger, __: str, event: EventDict) -> EventDict:
        event.setdefault("service", service)
        return event

    return add


@contextmanager
def job_context(job_id: str | None, trace_id: str | None) -> Iterator[None]:
    """Every line logged inside the block (this task and tasks it starts) names the job.

    Nothing is bound without a job id: a message that names no job has no job context.
    """
    if job_id is None:
        yield
        return
    with structlog.contextvars.bound_contextvars(job_id=job_id, trace_id=trace_id):
        yield


def configure(level: str = "INFO", service: str = "agent-executor") -> None:
    """JSON lines on stdout, from structlog and from stdlib loggers (uvicorn, libraries) alike.

    Every line has `service`; inside a job (`job_context`) also `job_id` and `trace_id`.
    """
    shared = [*_SHARED, _with_service(service)]
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        numeric = logging.INFO
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            # Tracebacks as data, WITHOUT frame locals: a frame that holds a password, a token
            # or a key (the NATS connect, the LLM client) would otherwise be logged whole.
            structlog.processors.ExceptionRenderer(
                structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
            ),
            structlog.processors.EventRenamer(to="msg"),
            structlog.processors.JSONRenderer(),
        ],
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
    # Request-level chatter from HTTP clients would drown job logs (the openai SDK ships its
    # own fork of httpx under the `httpx2` names).
    for noisy in ("httpx", "httpcore", "httpx2", "httpcore2"):
        logging.getLogger(noisy).setLevel(max(numeric, logging.WARNING))
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
