"""The worker's HTTP API: `POST /jobs`, `GET /jobs/{id}`, `DELETE /jobs/{id}` and the job's
Server-Sent Events at `GET /jobs/{id}/events`, with the bearer token when one is set."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from functions.jobs_cli.cloudevent import CONTENT_TYPE, encode
from functions.jobs_cli.errors import JobsError
from functions.jobs_cli.models import Accepted, CancelReply, LedgerRow, StreamEvent
from functions.jobs_cli.sse import SseMessage, SseParser
from functions.jobs_cli.targets import API_TOKEN_ENV, ApiTarget

M = TypeVar("M", bound=BaseModel)

REQUEST_TIMEOUT_SECONDS = 10.0
# An event stream this long silent is read as "check the ledger" (see over_http.follow): longer
# than two of the 15 s keep-alive comments the API sends, so only a stream that died counts.
IDLE_SECONDS = 35.0


class UnreachableError(JobsError):
    """The API did not answer at all (refused, reset, timed out): maybe only for a while."""


class ApiClient:
    """One HTTP connection pool to the API; every failure is a JobsError naming the API."""

    def __init__(self, target: ApiTarget) -> None:
        self.target = target
        headers = {"Authorization": f"Bearer {target.token}"} if target.token else {}
        self.http = httpx.AsyncClient(
            base_url=target.url,
            headers=headers,
            timeout=httpx.Timeout(REQUEST_TIMEOUT_SECONDS, read=IDLE_SECONDS),
        )

    async def close(self) -> None:
        """Close the connection pool."""
        await self.http.aclose()

    async def submit(self, event: Mapping[str, Any]) -> Accepted:
        """`POST /jobs` with a structured CloudEvent; the 202 answer."""
        response = await self._send(
            "POST", "/jobs", content=encode(event), headers={"Content-Type": CONTENT_TYPE}
        )
        if response.status_code not in (200, 201, 202):
            raise self._refused(response, "POST /jobs")
        return _model(Accepted, response, "POST /jobs")

    async def get(self, job_id: str) -> LedgerRow | None:
        """`GET /jobs/{id}`: the ledger row, or None when the worker has no such job."""
        path = _job_path(job_id)
        response = await self._send("GET", path)
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise self._refused(response, f"GET {path}")
        return _model(LedgerRow, response, f"GET {path}")

    async def cancel(self, job_id: str) -> CancelReply:
        """`DELETE /jobs/{id}`: requested (202) or too late (409, the job has finished)."""
        path = _job_path(job_id)
        response = await self._send("DELETE", path)
        if response.status_code not in (202, 409):
            raise self._refused(response, f"DELETE {path}")
        return _model(CancelReply, response, f"DELETE {path}")

    async def events(self, job_id: str, last_id: str | None) -> AsyncIterator[StreamEvent]:
        """The job's events after `last_id` (all kept ones without it), as the server sends them.

        Raises httpx.ReadTimeout after IDLE_SECONDS of silence and httpx.TransportError when
        the stream breaks or cannot be opened: the caller decides whether to resume.
        """
        path = f"{_job_path(job_id)}/events"
        headers = {"Accept": "text/event-stream"}
        if last_id:
            headers["Last-Event-ID"] = last_id
        async with self.http.stream("GET", path, headers=headers) as response:
            if response.status_code != 200:
                await response.aread()
                raise self._refused(response, f"GET {path}")
            parser = SseParser(last_id=last_id)
            async for line in response.aiter_lines():
                message = parser.feed(line)
                if message is not None:
                    yield stream_event(message)

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return await self.http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise UnreachableError(f"cannot reach {self.target.describe()}: {exc}") from exc

    def _refused(self, response: httpx.Response, request: str) -> JobsError:
        status = response.status_code
        if status in (401, 403):
            hint = "check" if self.target.token else "set"
            return JobsError(
                f"{self.target.describe()} refused {request} ({status}): {hint} {API_TOKEN_ENV}"
            )
        if status == 404 and request.startswith("POST"):
            return JobsError(f"{self.target.describe()} has no POST /jobs (an older worker?)")
        retry = response.headers.get("Retry-After")
        later = f"; retry after {retry} s" if retry else ""
        return JobsError(
            f"{self.target.describe()}: {request} answered {status}: "
            f"{_error_message(response)}{later}"
        )


def stream_event(message: SseMessage) -> StreamEvent:
    """An SSE message as a progress event: `event` is its type, `data` its JSON data."""
    try:
        data: Any = json.loads(message.data)
    except ValueError:
        data = {"text": message.data}
    if not isinstance(data, dict):
        data = {"value": data}
    return StreamEvent(id=message.id or "", event_type=message.event, data=data)


def _job_path(job_id: str) -> str:
    return f"/jobs/{quote(job_id, safe='')}"


def _model(model: type[M], response: httpx.Response, request: str) -> M:
    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        raise JobsError(f"{request} answered something unexpected: {exc}") from exc


def _error_message(response: httpx.Response) -> str:
    """The `error.message` (or `error`) of a JSON error body, else the body's start."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("message", error))
    return str(error if error is not None else body)[:200]
