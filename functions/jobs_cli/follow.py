"""Following a job over NATS: its Redis events as they come, ended by its outcome.

The outcome, not the `end` event, ends the following: progress events are best effort (a
worker drops them when Redis is down), the result is not. A worker writes a run's events
before it publishes the result, so once the result is in, whatever events are left are
already in Redis: they are read without waiting, then the result is shown.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any

from redis.exceptions import RedisError

from contract.events import END_EVENT
from functions.jobs_cli.models import JobOutcome
from functions.jobs_cli.replay import ReplayReader
from functions.jobs_cli.view import Sink

RETRY_SECONDS = 1.0


async def follow(
    reader: ReplayReader | None, outcome: Coroutine[Any, Any, JobOutcome], sink: Sink
) -> JobOutcome:
    """Show events until the outcome arrives, then the rest of the events, then the outcome."""
    result = asyncio.create_task(outcome, name="outcome")
    events = asyncio.create_task(show_events(reader, sink), name="events") if reader else None
    try:
        if events is not None:
            await asyncio.wait({result, events}, return_when=asyncio.FIRST_COMPLETED)
            if events.done():
                events.result()  # an error other than Redis's own is a bug: raise it
            else:
                events.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await events
                assert reader is not None
                await show_remaining(reader, sink)
        finished = await result
    finally:
        for task in (result, events):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
    sink.result(finished)
    return finished


async def show_events(reader: ReplayReader, sink: Sink) -> None:
    """Show each event as Redis has it, until `end`; a Redis outage only pauses them."""
    failing = False
    while True:
        try:
            batch = await reader.read()
        except (RedisError, OSError) as exc:
            if not failing:
                sink.note(f"progress events unavailable ({exc}); still waiting for the result")
            failing = True
            await asyncio.sleep(RETRY_SECONDS)
            continue
        failing = False
        for event in batch:
            sink.event(event)
            if event.event_type == END_EVENT:
                return


async def show_remaining(reader: ReplayReader, sink: Sink) -> None:
    """Show the events already in Redis, without waiting for more."""
    with contextlib.suppress(RedisError, OSError):
        while batch := await reader.read(block_ms=None):
            for event in batch:
                sink.event(event)
                if event.event_type == END_EVENT:
                    return
