"""A stand-in for bizmatters/ide-orchestrator's calls to deepagents-runtime, as its code makes them.

From its snapshot b2980de: `services/deepagents_client.py` (invoke with a 30 s timeout and
only 200 accepted; state polled every 2 s for at most 60 s until completed or failed;
cleanup where 200, 204 and 404 all mean done) and `api/routers/websockets.py` (the stream,
keeping `data.files` of the last `on_state_update` and stopping at `end`). The base URL is
its DEEPAGENTS_RUNTIME_URL, with or without `/deepagents-runtime`.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import httpx
import websockets

INVOKE_TIMEOUT = 30.0
STATE_TIMEOUT = 10.0
POLL_SECONDS = 2.0
MAX_WAIT_SECONDS = 60.0


class RuntimeCallError(Exception):
    """What ide-orchestrator raises when deepagents-runtime answers unexpectedly."""


@dataclass
class StreamCapture:
    """What ide-orchestrator's WebSocket proxy keeps: every event, the last files, `end`."""

    events: list[dict[str, Any]] = field(default_factory=list)
    final_files: dict[str, Any] = field(default_factory=dict)
    ended: bool = False
    close_code: int | None = None


@dataclass
class IdeOrchestrator:
    """ide-orchestrator's client of deepagents-runtime at `base_url`."""

    base_url: str

    async def invoke_job(self, payload: dict[str, Any]) -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=INVOKE_TIMEOUT) as client:
            response = await client.post(f"{self.base_url}/invoke", json=payload)
        if response.status_code != 200:
            raise RuntimeCallError(f"Deepagents-runtime invoke failed: {response.status_code}")
        return dict(response.json())

    async def get_execution_state(self, thread_id: str) -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=STATE_TIMEOUT) as client:
            response = await client.get(f"{self.base_url}/state/{thread_id}")
        if response.status_code != 200:
            raise RuntimeCallError(f"Failed to get execution state: {response.status_code}")
        return dict(response.json())

    async def wait_for_completion(self, thread_id: str) -> dict[str, Any]:
        """process_refinement_job's loop: poll until completed (returned) or failed (raised)."""
        elapsed = 0.0
        while elapsed < MAX_WAIT_SECONDS:
            await asyncio.sleep(POLL_SECONDS)
            elapsed += POLL_SECONDS
            try:
                state = await self.get_execution_state(thread_id)
            except RuntimeCallError:
                continue  # ide-orchestrator keeps polling through errors
            if state.get("status") == "completed":
                return state
            if state.get("status") == "failed":
                raise RuntimeCallError(f"Deepagents-runtime job failed: {state.get('error')}")
        raise RuntimeCallError(f"Job did not complete within {MAX_WAIT_SECONDS:g} seconds")

    async def cleanup_thread_data(self, thread_id: str) -> bool:
        async with httpx.AsyncClient(timeout=STATE_TIMEOUT) as client:
            response = await client.delete(f"{self.base_url}/cleanup/{thread_id}")
        return response.status_code in (200, 204, 404)

    async def stream(self, thread_id: str) -> StreamCapture:
        """The proxy's deepagents_to_client loop, without a client to forward to."""
        url = self.base_url.replace("http://", "ws://").replace("https://", "wss://")
        capture = StreamCapture()
        async with websockets.connect(f"{url}/stream/{thread_id}") as socket:
            try:
                async for message in socket:
                    event = json.loads(message)
                    capture.events.append(event)
                    if event.get("event_type") == "on_state_update" and "files" in event.get(
                        "data", {}
                    ):
                        capture.final_files = event["data"]["files"]
                    if event.get("event_type") == "end":
                        capture.ended = True
                        break
            except websockets.ConnectionClosed:
                pass  # closed before `end`: the proxy's loop ends the same way
            # Not ide-orchestrator's: wait for the server to close, to learn its close code.
            await asyncio.wait_for(socket.wait_closed(), 10)
            capture.close_code = socket.close_code
        return capture
