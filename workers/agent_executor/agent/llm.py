"""Streaming chat completions through the `openai` SDK, for OpenAI and OpenAI-compatible APIs.

Every provider is an OpenAI-compatible endpoint with its own base URL and key:

- `openai`: OPENAI_BASE_URL (else OpenAI's API) and OPENAI_API_KEY;
- `anthropic`: ANTHROPIC_BASE_URL (else https://api.anthropic.com/v1/) and ANTHROPIC_API_KEY;
- `ollama`: OLLAMA_BASE_URL (else http://localhost:11434/v1/) and OLLAMA_API_KEY, which Ollama
  itself does not need.

A self-hosted endpoint may need no key: one given a base URL but no key gets a placeholder.

A node's model is tried first, then its fallback chain (`fallback.py`; the node's own, else
LLM_FALLBACK_MODELS). The SDK's own retries are off: a call that fails for good raises the
SDK's error (RateLimitError, APIStatusError, APIConnectionError, ...) unchanged, and the job
queue decides whether to redeliver.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openai import AsyncOpenAI, AsyncStream
from openai.types.chat import ChatCompletion

from workers.agent_executor.agent.fallback import first_available
from workers.agent_executor.agent.key_files import KeyFiles
from workers.agent_executor.agent.model_config import (
    FallbackModel,
    ModelConfig,
    parse_fallback_list,
)
from workers.agent_executor.agent.ports import AgentError

ANTHROPIC_OPENAI_BASE_URL = "https://api.anthropic.com/v1/"
# Ollama's OpenAI-compatible API (https://ollama.com/blog/openai-compatibility).
OLLAMA_OPENAI_BASE_URL = "http://localhost:11434/v1/"
DEFAULT_TIMEOUT_SECONDS = 120.0
# Sent where an endpoint needs no key: the SDK refuses an empty one. Not a secret.
NO_KEY = "not-needed"
# Calls in progress per SDK client before another client (a "lane") of the same endpoint and
# key takes the next one. The SDK's connection pool walks every one of its connections on
# each request and each response's end, polling the idle ones: with hundreds of calls in
# one pool that walk was an eighth of the worker's CPU. Lanes keep each pool small, and
# under the SDK's 100 kept-alive connections, so no call opens a connection another closed.
LANE_CALLS = 32

OnDelta = Callable[[str, dict[str, Any]], Awaitable[None]]


class LLMConfigurationError(AgentError):
    """A node names a provider this worker has no API key for; never retried."""

    type = "LLMConfiguration"


def _setting(settings: object | None, name: str) -> str | None:
    value = getattr(settings, name, None)
    if value is None:
        return None
    secret = getattr(value, "get_secret_value", None)
    return str(secret() if callable(secret) else value) or None


@dataclass
class LLMResult:
    """One finished completion: text, OpenAI-format tool calls, token usage, serving model."""

    content: str
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    usage: dict[str, int] = field(
        default_factory=lambda: {"prompt_tokens": 0, "completion_tokens": 0}
    )
    model: str = ""
    finish_reason: str | None = None
    # The configured name of the model that answered: the node's, or a fallback's. Usage is
    # counted under it (`model` is what the server reports, e.g. a dated snapshot name).
    answered_by: str = ""


@dataclass
class _ToolCallParts:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


class LLMClient:
    """Chat completions for every provider; one `AsyncOpenAI` per (base URL, API key)."""

    def __init__(
        self,
        settings: object | None = None,
        /,
        *,
        openai_api_key: str | None = None,
        openai_base_url: str | None = None,
        anthropic_api_key: str | None = None,
        anthropic_base_url: str | None = None,
        ollama_api_key: str | None = None,
        ollama_base_url: str | None = None,
        fallback_models: Sequence[FallbackModel] | str | None = None,
        timeout: float | None = None,
        key_files: KeyFiles | None = None,
    ) -> None:
        """Configure from keywords, or from a settings object.

        `settings` is any object with the OPENAI_*, ANTHROPIC_* and OLLAMA_* API_KEY and
        BASE_URL, LLM_FALLBACK_MODELS and LLM_TIMEOUT_SECONDS attributes, such as the worker's
        Settings (SecretStr values are unwrapped); keywords win over it. `fallback_models`
        (a `[provider:]model` comma list, or parsed) is the chain of nodes without their own.
        `key_files` (default: the folder LLM_KEYS_DIR names) holds keys that win over the
        configured ones and are re-read when they change.
        """
        openai_api_key = openai_api_key or _setting(settings, "OPENAI_API_KEY")
        openai_base_url = openai_base_url or _setting(settings, "OPENAI_BASE_URL")
        anthropic_api_key = anthropic_api_key or _setting(settings, "ANTHROPIC_API_KEY")
        anthropic_base_url = anthropic_base_url or _setting(settings, "ANTHROPIC_BASE_URL")
        ollama_api_key = ollama_api_key or _setting(settings, "OLLAMA_API_KEY")
        ollama_base_url = ollama_base_url or _setting(settings, "OLLAMA_BASE_URL")
        if fallback_models is None:
            fallback_models = _setting(settings, "LLM_FALLBACK_MODELS") or ()
        if isinstance(fallback_models, str):
            fallback_models = parse_fallback_list(fallback_models)
        self._fallbacks: tuple[FallbackModel, ...] = tuple(fallback_models)
        if timeout is None:
            configured = getattr(settings, "LLM_TIMEOUT_SECONDS", None)
            timeout = float(configured) if configured is not None else DEFAULT_TIMEOUT_SECONDS
        # A self-hosted OpenAI-compatible endpoint may need no key: it gets a placeholder.
        self._endpoints: dict[str, tuple[str | None, str | None]] = {
            "openai": (
                openai_base_url or None,
                openai_api_key or (NO_KEY if openai_base_url else None),
            ),
            "anthropic": (
                anthropic_base_url or ANTHROPIC_OPENAI_BASE_URL,
                anthropic_api_key or (NO_KEY if anthropic_base_url else None),
            ),
            # Ollama needs no key; one is sent only when a proxy in front of it wants one.
            "ollama": (ollama_base_url or OLLAMA_OPENAI_BASE_URL, ollama_api_key or NO_KEY),
        }
        self._timeout = timeout
        if key_files is None:
            directory = _setting(settings, "LLM_KEYS_DIR")
            key_files = KeyFiles(Path(directory) if directory else None)
        self._key_files = key_files
        # The client each provider used last: replaced when its key file changes.
        self._current: dict[str, tuple[str | None, str]] = {}
        # The clients (lanes, LANE_CALLS calls each) of each (base URL, API key).
        self._clients: dict[tuple[str | None, str], list[AsyncOpenAI]] = {}
        # Calls in progress per client, and the clients `flush` dropped while they were in
        # use: those are closed when their last call ends, never under a running call.
        self._calls: dict[AsyncOpenAI, int] = {}
        self._retired: set[AsyncOpenAI] = set()

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, *, timeout: float = DEFAULT_TIMEOUT_SECONDS
    ) -> LLMClient:
        """A client configured from OPENAI_*, ANTHROPIC_*, OLLAMA_* and LLM_FALLBACK_MODELS."""
        env = os.environ if env is None else env
        return cls(
            openai_api_key=env.get("OPENAI_API_KEY"),
            openai_base_url=env.get("OPENAI_BASE_URL"),
            anthropic_api_key=env.get("ANTHROPIC_API_KEY"),
            anthropic_base_url=env.get("ANTHROPIC_BASE_URL"),
            ollama_api_key=env.get("OLLAMA_API_KEY"),
            ollama_base_url=env.get("OLLAMA_BASE_URL"),
            fallback_models=env.get("LLM_FALLBACK_MODELS"),
            timeout=timeout,
        )

    def client_for(self, provider: str) -> AsyncOpenAI:
        """A shared SDK client for `provider` (LLMConfigurationError without an API key): the
        first of its lanes with fewer than LANE_CALLS calls in progress, or a new lane."""
        if provider not in self._endpoints:
            raise LLMConfigurationError(f"unknown LLM provider '{provider}'")
        base_url, configured = self._endpoints[provider]
        # A mounted key file wins: it is where a rotated key arrives without a restart.
        api_key = self._key_files.get(f"{provider.upper()}_API_KEY") or configured
        if api_key is None:
            raise LLMConfigurationError(
                f"no API key for provider '{provider}': set {provider.upper()}_API_KEY"
            )
        key = (base_url, api_key)
        previous = self._current.get(provider)
        if previous is not None and previous != key and previous in self._clients:
            # The key was rotated: the old clients go once their calls in progress end.
            for old in self._clients.pop(previous):
                self._retire(old)
        self._current[provider] = key
        lanes = self._clients.setdefault(key, [])
        for client in lanes:
            if self._calls.get(client, 0) < LANE_CALLS:
                return client
        client = AsyncOpenAI(
            api_key=api_key, base_url=base_url, max_retries=0, timeout=self._timeout
        )
        lanes.append(client)
        return client

    def _retire(self, client: AsyncOpenAI) -> None:
        """Mark `client` for closing once no call uses it (`_close_idle_retired`)."""
        self._retired.add(client)

    async def _close_idle_retired(self) -> None:
        for client in [c for c in self._retired if not self._calls.get(c)]:
            self._retired.discard(client)
            await client.close()

    async def flush(self) -> int:
        """Drop every cached SDK client (and its connections); return for how many endpoints
        (base URL and key) they were.

        The next call builds a new client. A client still serving a call is closed when
        that call ends, so a flush never breaks a running job.
        """
        dropped, self._clients = list(self._clients.values()), {}
        for client in (lane for lanes in dropped for lane in lanes):
            if self._calls.get(client):
                self._retired.add(client)
            else:
                await client.close()
        return len(dropped)

    async def aclose(self) -> None:
        """Close every SDK client's connection pool."""
        lanes = [client for clients in self._clients.values() for client in clients]
        clients, self._clients = [*lanes, *self._retired], {}
        self._retired = set()
        for client in clients:
            await client.close()

    async def complete(
        self,
        model_cfg: ModelConfig,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]],
        on_delta: OnDelta,
    ) -> LLMResult:
        """Stream one chat completion from `model_cfg`, or the first of its fallbacks that can.

        `on_delta(text, raw_chunk)` is awaited per content delta; `answered_by` names the model
        that answered.
        """
        chain = model_cfg.chain(self._fallbacks)
        for model in chain:
            # A fallback whose provider has no key is found on the first call, not only on the
            # day the primary is down.
            self.client_for(model.provider)

        async def attempt(model: ModelConfig, relay: OnDelta) -> LLMResult:
            return await self.complete_once(model, messages, tools, relay)

        model, result = await first_available(chain, attempt, on_delta, self.on_fallback)
        result.answered_by = model.model
        return result

    def on_fallback(self, failed: ModelConfig, following: ModelConfig, reason: str) -> None:
        """Called when `failed` is unavailable (`reason`) and `following` is tried next."""

    async def complete_once(
        self,
        model_cfg: ModelConfig,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]],
        on_delta: OnDelta,
    ) -> LLMResult:
        """Stream one chat completion from exactly `model_cfg`, no fallback."""
        client = self.client_for(model_cfg.provider)
        self._calls[client] = self._calls.get(client, 0) + 1
        try:
            return await self._stream(client, model_cfg, messages, tools, on_delta)
        finally:
            self._calls[client] -= 1
            if not self._calls[client]:
                del self._calls[client]
            # The client itself once flushed or rotated away, or one a rotation left idle.
            await self._close_idle_retired()

    async def _stream(
        self,
        client: AsyncOpenAI,
        model_cfg: ModelConfig,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]],
        on_delta: OnDelta,
    ) -> LLMResult:
        body: dict[str, Any] = {
            "model": model_cfg.model,
            "messages": messages,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if tools:
            body["tools"] = tools
        if model_cfg.temperature is not None:
            body["temperature"] = model_cfg.temperature
        if model_cfg.max_tokens is not None:
            # OpenAI's reasoning models refuse max_tokens; Anthropic's endpoint expects it.
            limit = "max_completion_tokens" if model_cfg.provider == "openai" else "max_tokens"
            body[limit] = model_cfg.max_tokens
        # The SDK's generic `post` (its documented way to send a body as is), not
        # `chat.completions.create`: the body is plain JSON already, and create's type-driven
        # walk over every message and tool schema was the largest single CPU cost of a job.
        # Transport, auth headers, error types and the SSE parser (which raises the error an
        # endpoint sends mid-stream) are the SDK's own. Each chunk stays the JSON object the
        # endpoint sent (`AsyncStream[object]`): building a ChatCompletionChunk model per
        # token, and dumping it again for `raw_event`, cost more than the rest of a token's
        # way to a listener, and the object is exactly that dump.
        stream = await client.post(
            "/chat/completions",
            cast_to=ChatCompletion,
            body=body,
            stream=True,
            stream_cls=AsyncStream[object],
        )
        text: list[str] = []
        calls: dict[int, _ToolCallParts] = {}
        usage = {"prompt_tokens": 0, "completion_tokens": 0}
        served_model = ""
        finish_reason: str | None = None
        async with stream:
            async for chunk in stream:
                if not isinstance(chunk, dict):
                    continue
                served_model = chunk.get("model") or served_model
                counted = chunk.get("usage")
                if isinstance(counted, dict):
                    usage = {
                        "prompt_tokens": counted.get("prompt_tokens") or 0,
                        "completion_tokens": counted.get("completion_tokens") or 0,
                    }
                for choice in chunk.get("choices") or ():
                    if choice.get("index", 0) != 0:
                        continue
                    finish_reason = choice.get("finish_reason") or finish_reason
                    delta = choice.get("delta") or {}
                    for tc in delta.get("tool_calls") or ():
                        parts = calls.setdefault(tc.get("index", 0), _ToolCallParts())
                        parts.id = tc.get("id") or parts.id
                        function = tc.get("function")
                        if function:
                            parts.name = function.get("name") or parts.name
                            if function.get("arguments"):
                                parts.arguments.append(function["arguments"])
                    content = delta.get("content")
                    if content:
                        text.append(content)
                        await on_delta(content, chunk)
        tool_calls = [
            {
                "id": parts.id,
                "type": "function",
                "function": {"name": parts.name, "arguments": "".join(parts.arguments)},
            }
            for _, parts in sorted(calls.items())
        ]
        return LLMResult(
            content="".join(text),
            tool_calls=tool_calls,
            usage=usage,
            model=served_model or model_cfg.model,
            finish_reason=finish_reason,
        )
