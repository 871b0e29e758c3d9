"""Relaying a job's events over a WebSocket, as deepagents-runtime's stream did.

Each event is one text frame of `{"event_type", "data"}` JSON, the form of the Redis
channel; the socket is closed after `end`. Whatever the client sends is read and dropped
(ide-orchestrator's proxy forwards its own client's messages), which is also how a client
that goes away is noticed at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

import structlog
from fastapi import WebSocket

from workers.agent_executor.event_replay import END, JobEvent

log = structlog.get_logger()

NORMAL = 1000
GOING_AWAY = 1001  # the follow ended without `end` (deadline, draining): reconnect
INTERNAL_ERROR = 1011


async def relay(websocket: WebSocket, job_id: str, events: AsyncIterator[JobEvent | None]) -> None:
    """Send `events` until `end` and close, or stop when the client disconnects."""
    sender = asyncio.create_task(_send(websocket, events))
    listener = asyncio.create_task(_until_disconnect(websocket))
    done, pending = await asyncio.wait({sender, listener}, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    if sender not in done:
        return  # the client left
    failure = sender.exception()
    if failure is not None:
        log.warning(
            "event relay failed", job_id=job_id, error=f"{type(failure).__name__}: {failure}"
        )
        code = INTERNAL_ERROR
    else:
        code = NORMAL if sender.result() else GOING_AWAY
    with contextlib.suppress(Exception):  # the client may be gone already
        await websocket.close(code)


async def _send(websocket: WebSocket, events: AsyncIterator[JobEvent | None]) -> bool:
    """Send each event; True when the last one was `end`."""
    async for event in events:
        if event is None:
            continue  # a heartbeat: the server's WebSocket pings keep the connection open
        frame = {"event_type": event.event_type, "data": event.data}
        await websocket.send_text(json.dumps(frame, default=str))
        if event.event_type == END:
            return True
    return False


async def _until_disconnect(websocket: WebSocket) -> None:
    while (await websocket.receive())["type"] != "websocket.disconnect":
        pass
