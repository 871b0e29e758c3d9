"""An OpenAI-compatible chat completions server over real HTTP, scripted by tests.

```python
with fake_openai() as fake:
    fake.script(
        tool_calls(ToolCall("write_file", {"file_path": "/a.md", "content": "hi"})),
        text("All done", usage=(30, 4)),
    )
    fake.fail_next(1, status=429, retry_after=2)
    client = AsyncOpenAI(base_url=fake.base_url, api_key="test")
    ...
    assert len(fake.requests) == 3
```

`POST /v1/chat/completions` answers in streaming form (SSE chunks, a usage chunk when
`stream_options.include_usage` is set, then `data: [DONE]`) or as one JSON body. Each request
takes the first scripted reply meant for its model (replies without `model` match any); an
empty script answers "done", so a run never hangs. `fail_next` injects HTTP errors for the
next N requests before the script is consulted. A 404 answers like OpenAI for an unknown model
(code `model_not_found`); `text(..., cut_after=n)` drops the connection after n content chunks,
as a stream that breaks midway. Every counter is guarded by a lock: the server runs in its own
thread and event loop.

Strict (the default), the fake behaves like a real model in one respect: it only calls tools the
request offered. A scripted tool call whose name is not among the request's `tools` is answered
with HTTP 400 and recorded in `violations`, so a test cannot pass with a tool the runtime never
offered. `ToolCall(..., hallucinated=True)` marks a call that a test makes on purpose although
it was not offered (a model inventing a tool); strict mode lets that one through.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

DEFAULT_TEXT = "done"


@dataclass(frozen=True)
class ToolCall:
    """A tool call the fake model makes; `arguments` is sent as JSON (a str is sent as is)."""

    name: str
    arguments: dict[str, Any] | str = field(default_factory=dict)
    id: str | None = None
    # True: the test means the model to call a tool it was not offered (strict mode allows it).
    hallucinated: bool = False


@dataclass(frozen=True)
class Reply:
    """One scripted answer: text and/or tool calls with usage, or an HTTP error."""

    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    prompt_tokens: int = 10
    completion_tokens: int = 5
    latency: float = 0.0
    model: str | None = None
    status: int | None = None
    retry_after: float | None = None
    chunks: int = 3
    cut_after: int | None = None


class StreamCutError(Exception):
    """Raised inside a streamed reply so the server drops the connection midway."""


def text(
    content: str,
    *,
    usage: tuple[int, int] = (10, 5),
    model: str | None = None,
    latency: float = 0.0,
    chunks: int = 3,
    cut_after: int | None = None,
) -> Reply:
    """A text answer, streamed in `chunks` pieces; `cut_after` breaks the stream after that many."""
    return Reply(
        text=content,
        prompt_tokens=usage[0],
        completion_tokens=usage[1],
        model=model,
        latency=latency,
        chunks=chunks,
        cut_after=cut_after,
    )


def tool_calls(
    *calls: ToolCall,
    content: str = "",
    usage: tuple[int, int] = (10, 5),
    model: str | None = None,
    latency: float = 0.0,
) -> Reply:
    """An answer that calls tools (arguments streamed in fragments), optionally with text."""
    return Reply(
        text=content,
        tool_calls=tuple(calls),
        prompt_tokens=usage[0],
        completion_tokens=usage[1],
        model=model,
        latency=latency,
    )


def error(
    status: int, *, retry_after: float | None = None, model: str | None = None, latency: float = 0
) -> Reply:
    """An HTTP error answer at this point of the script."""
    return Reply(status=status, retry_after=retry_after, model=model, latency=latency)


def _split(value: str, parts: int) -> list[str]:
    if not value:
        return []
    parts = max(1, min(parts, len(value)))
    size = -(-len(value) // parts)
    return [value[i : i + size] for i in range(0, len(value), size)]


@dataclass
class _Failure:
    remaining: int
    status: int
    retry_after: float | None


class FakeOpenAI:
    """The scripted server's state; use it through `fake_openai()`."""

    def __init__(self, *, strict: bool = True) -> None:
        self.base_url = ""
        self.strict = strict
        self._lock = threading.Lock()
        self._violations: list[str] = []
        self._script: list[Reply] = []
        self._failures: list[_Failure] = []
        self._requests: list[dict[str, Any]] = []
        self._headers: list[dict[str, str]] = []
        self._ids = 0
        self.app = self._build_app()

    # --- the test-facing API ------------------------------------------------------------------

    def script(self, *replies: Reply) -> None:
        """Append replies; requests take them in order (per model when a reply names one)."""
        with self._lock:
            self._script.extend(replies)

    def fail_next(self, count: int, *, status: int = 429, retry_after: float | None = 1) -> None:
        """Answer the next `count` requests with HTTP `status` (429 carries Retry-After)."""
        with self._lock:
            self._failures.append(_Failure(count, status, retry_after))

    def reset(self) -> None:
        """Forget the script, injected failures and recorded requests."""
        with self._lock:
            self._script.clear()
            self._failures.clear()
            self._requests.clear()
            self._headers.clear()
            self._violations.clear()

    @property
    def requests(self) -> list[dict[str, Any]]:
        """The JSON bodies received so far, oldest first (a copy)."""
        with self._lock:
            return list(self._requests)

    @property
    def violations(self) -> list[str]:
        """Scripted tool calls refused in strict mode because the request did not offer them."""
        with self._lock:
            return list(self._violations)

    @property
    def request_headers(self) -> list[dict[str, str]]:
        """The headers of each received request (lower-case names)."""
        with self._lock:
            return list(self._headers)

    @property
    def request_count(self) -> int:
        """How many chat completion requests arrived."""
        with self._lock:
            return len(self._requests)

    @property
    def pending(self) -> int:
        """Scripted replies not used yet."""
        with self._lock:
            return len(self._script)

    # --- the server ---------------------------------------------------------------------------

    def _next_reply(self, body: dict[str, Any], headers: dict[str, str]) -> tuple[Reply, str]:
        with self._lock:
            self._requests.append(body)
            self._headers.append(headers)
            self._ids += 1
            request_id = f"chatcmpl-fake{self._ids}"
            while self._failures and self._failures[0].remaining <= 0:
                self._failures.pop(0)
            if self._failures:
                failure = self._failures[0]
                failure.remaining -= 1
                return Reply(status=failure.status, retry_after=failure.retry_after), request_id
            model = body.get("model")
            for index, reply in enumerate(self._script):
                if reply.model is None or reply.model == model:
                    return self._script.pop(index), request_id
            return Reply(text=DEFAULT_TEXT), request_id

    def _unoffered(self, body: dict[str, Any], reply: Reply) -> str | None:
        """Why a real model could not have made `reply`'s tool calls; None when it could."""
        if not self.strict or not reply.tool_calls:
            return None
        offered = [
            str((tool.get("function") or {}).get("name"))
            for tool in body.get("tools") or []
            if isinstance(tool, dict)
        ]
        missing = [c.name for c in reply.tool_calls if c.name not in offered and not c.hallucinated]
        if not missing:
            return None
        problem = f"scripted tool call(s) {missing} not offered by the request; offered: {offered}"
        with self._lock:
            self._violations.append(problem)
        return problem

    def _build_app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/chat/completions")
        async def chat_completions(request: Request) -> Response:
            body: dict[str, Any] = await request.json()
            headers = {k.lower(): v for k, v in request.headers.items()}
            reply, request_id = self._next_reply(body, headers)
            if reply.latency:
                await asyncio.sleep(reply.latency)
            model = str(body.get("model", "fake-model"))
            if reply.status is not None:
                return _error_response(reply, model)
            problem = self._unoffered(body, reply)
            if problem is not None:
                return JSONResponse(
                    {"error": {"message": problem, "type": "invalid_request_error", "code": None}},
                    status_code=400,
                )
            if body.get("stream"):
                include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
                return StreamingResponse(
                    _sse(reply, request_id, model, include_usage),
                    media_type="text/event-stream",
                )
            return JSONResponse(_completion(reply, request_id, model))

        return app


# The error `code` OpenAI sends with a status (404 on chat completions: an unknown model).
_ERROR_CODES = {429: "rate_limit_exceeded", 404: "model_not_found"}


def _error_response(reply: Reply, model: str) -> JSONResponse:
    status = reply.status or 500
    headers = {}
    if reply.retry_after is not None:
        headers["retry-after"] = f"{reply.retry_after:g}"
    kind = _ERROR_CODES.get(status, "server_error")
    message = f"fake error {status}"
    if status == 404:
        message = f"The model `{model}` does not exist or you do not have access to it."
    return JSONResponse(
        {"error": {"message": message, "type": kind, "code": kind}},
        status_code=status,
        headers=headers,
    )


def _call_arguments(call: ToolCall) -> str:
    return call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments)


def _call_id(request_id: str, index: int, call: ToolCall) -> str:
    return call.id or f"call_{request_id[-8:]}_{index}"


def _usage(reply: Reply) -> dict[str, int]:
    return {
        "prompt_tokens": reply.prompt_tokens,
        "completion_tokens": reply.completion_tokens,
        "total_tokens": reply.prompt_tokens + reply.completion_tokens,
    }


def _completion(reply: Reply, request_id: str, model: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
    if reply.tool_calls:
        message["tool_calls"] = [
            {
                "id": _call_id(request_id, i, call),
                "type": "function",
                "function": {"name": call.name, "arguments": _call_arguments(call)},
            }
            for i, call in enumerate(reply.tool_calls)
        ]
    return {
        "id": request_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if reply.tool_calls else "stop",
                "logprobs": None,
            }
        ],
        "usage": _usage(reply),
    }


async def _sse(
    reply: Reply, request_id: str, model: str, include_usage: bool
) -> AsyncIterator[bytes]:
    created = int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        payload: dict[str, Any] = {
            "id": request_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return f"data: {json.dumps(payload)}\n\n".encode()

    yield chunk({"role": "assistant", "content": ""})
    for sent, piece in enumerate(_split(reply.text, reply.chunks)):
        if sent == reply.cut_after:
            raise StreamCutError(f"stream cut after {sent} chunks")
        yield chunk({"content": piece})
        await asyncio.sleep(0)
    if reply.cut_after is not None:
        raise StreamCutError("stream cut before it finished")
    for index, call in enumerate(reply.tool_calls):
        yield chunk(
            {
                "tool_calls": [
                    {
                        "index": index,
                        "id": _call_id(request_id, index, call),
                        "type": "function",
                        "function": {"name": call.name, "arguments": ""},
                    }
                ]
            }
        )
        arguments = _call_arguments(call)
        for fragment in _split(arguments, max(1, len(arguments) // 8)):
            yield chunk({"tool_calls": [{"index": index, "function": {"arguments": fragment}}]})
    yield chunk({}, "tool_calls" if reply.tool_calls else "stop")
    if include_usage:
        payload = {
            "id": request_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [],
            "usage": _usage(reply),
        }
        yield f"data: {json.dumps(payload)}\n\n".encode()
    yield b"data: [DONE]\n\n"


@contextmanager
def fake_openai(fake: FakeOpenAI | None = None) -> Iterator[FakeOpenAI]:
    """Serve a FakeOpenAI (or the given one, e.g. a subclass) on a free 127.0.0.1 port."""
    fake = FakeOpenAI() if fake is None else fake
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        fake.app, log_level="warning", lifespan="off", access_log=False, timeout_graceful_shutdown=2
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="fake-openai", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError("the fake OpenAI server did not start")
        time.sleep(0.01)
    fake.base_url = f"http://127.0.0.1:{port}/v1"
    try:
        yield fake
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
