"""The LLM client against the fake OpenAI server over HTTP: streaming, tool calls, errors."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace
from typing import Any

import openai
import pytest
from pydantic import SecretStr

from testbed.fake_openai import FakeOpenAI, ToolCall, error, text, tool_calls
from testbed.servers import free_port
from workers.agent_executor.agent.definition import ModelConfig
from workers.agent_executor.agent.llm import (
    LANE_CALLS,
    LLMClient,
    LLMConfigurationError,
    LLMResult,
)

OPENAI_MODEL = ModelConfig(provider="openai", model="gpt-test", temperature=0.1, max_tokens=64)
ANTHROPIC_MODEL = ModelConfig(provider="anthropic", model="claude-test", max_tokens=64)
USER = [{"role": "user", "content": "hi"}]


def _complete(
    client: LLMClient,
    model: ModelConfig = OPENAI_MODEL,
    deltas: list[tuple[str, dict[str, Any]]] | None = None,
    tools: list[dict[str, Any]] | None = None,
) -> LLMResult:
    async def on_delta(delta: str, raw: dict[str, Any]) -> None:
        if deltas is not None:
            deltas.append((delta, raw))

    async def call() -> LLMResult:
        try:
            return await client.complete(model, USER, tools or [], on_delta)
        finally:
            await client.aclose()

    return asyncio.run(call())


def _client(fake: FakeOpenAI) -> LLMClient:
    return LLMClient(openai_api_key="sk-openai", openai_base_url=fake.base_url)


def test_text_is_streamed_in_deltas_and_assembled(fake: FakeOpenAI) -> None:
    fake.script(text("Hello streaming world", usage=(12, 3), chunks=3))
    deltas: list[tuple[str, dict[str, Any]]] = []
    result = _complete(_client(fake), deltas=deltas)
    assert result.content == "Hello streaming world"
    assert len(deltas) == 3
    assert "".join(d for d, _ in deltas) == "Hello streaming world"
    assert deltas[0][1]["object"] == "chat.completion.chunk"
    assert deltas[0][1]["choices"][0]["delta"]["content"] == deltas[0][0]
    assert result.usage == {"prompt_tokens": 12, "completion_tokens": 3}
    assert result.model == "gpt-test"


def test_the_request_streams_with_usage_and_the_model_settings(fake: FakeOpenAI) -> None:
    _complete(_client(fake))
    body = fake.requests[0]
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert (body["model"], body["temperature"], body["max_completion_tokens"]) == (
        "gpt-test",
        0.1,
        64,
    )
    assert "tools" not in body
    assert fake.request_headers[0]["authorization"] == "Bearer sk-openai"


def test_streamed_tool_call_fragments_are_assembled(fake: FakeOpenAI) -> None:
    args = {"file_path": "/report.md", "content": "a fairly long body " * 5}
    fake.script(tool_calls(ToolCall("write_file", args, id="call_1"), ToolCall("ls", id="call_2")))
    offered = [
        {"type": "function", "function": {"name": name, "parameters": {"type": "object"}}}
        for name in ("ls", "write_file")
    ]
    result = _complete(_client(fake), tools=offered)
    assert [c["id"] for c in result.tool_calls] == ["call_1", "call_2"]
    assert result.tool_calls[0]["function"]["name"] == "write_file"
    assert result.tool_calls[0]["function"]["arguments"] == json.dumps(args)
    assert result.tool_calls[1]["function"] == {"name": "ls", "arguments": "{}"}
    assert result.finish_reason == "tool_calls"


def test_anthropic_uses_its_own_key_endpoint_and_max_tokens(fake: FakeOpenAI) -> None:
    client = LLMClient(
        openai_api_key="sk-openai",
        anthropic_api_key="sk-ant",
        anthropic_base_url=fake.base_url,
    )
    _complete(client, ANTHROPIC_MODEL)
    assert fake.request_headers[0]["authorization"] == "Bearer sk-ant"
    assert fake.requests[0]["max_tokens"] == 64
    assert "max_completion_tokens" not in fake.requests[0]


def test_anthropic_defaults_to_its_openai_compatible_endpoint() -> None:
    client = LLMClient(anthropic_api_key="sk-ant")
    assert str(client.client_for("anthropic").base_url) == "https://api.anthropic.com/v1/"


def test_a_429_surfaces_as_rate_limit_error_without_sdk_retries(fake: FakeOpenAI) -> None:
    fake.fail_next(1, status=429, retry_after=7)
    with pytest.raises(openai.RateLimitError) as caught:
        _complete(_client(fake))
    assert caught.value.response.headers["retry-after"] == "7"
    assert fake.request_count == 1


def test_a_500_surfaces_as_an_api_status_error(fake: FakeOpenAI) -> None:
    fake.script(error(500))
    with pytest.raises(openai.APIStatusError) as caught:
        _complete(_client(fake))
    assert caught.value.status_code == 500
    assert fake.request_count == 1


def test_an_unreachable_endpoint_surfaces_as_a_connection_error() -> None:
    client = LLMClient(openai_api_key="k", openai_base_url=f"http://127.0.0.1:{free_port()}/v1")
    with pytest.raises(openai.APIConnectionError):
        _complete(client)


def test_a_provider_without_a_key_is_a_configuration_error() -> None:
    with pytest.raises(LLMConfigurationError, match="OPENAI_API_KEY"):
        LLMClient().client_for("openai")


def test_one_sdk_client_is_shared_per_endpoint() -> None:
    client = LLMClient.from_env({"OPENAI_API_KEY": "a", "ANTHROPIC_API_KEY": "b"})
    assert client.client_for("openai") is client.client_for("openai")
    assert client.client_for("openai") is not client.client_for("anthropic")
    assert client.client_for("openai").max_retries == 0


def test_calls_beyond_a_lane_go_to_another_client_of_the_same_endpoint() -> None:
    # Each SDK client's connection pool is walked per request: many calls at once are spread
    # over clients of LANE_CALLS calls each, and a freed lane is used again first.
    client = LLMClient.from_env({"OPENAI_API_KEY": "a"})
    first = client.client_for("openai")
    client._calls[first] = LANE_CALLS - 1
    assert client.client_for("openai") is first
    client._calls[first] = LANE_CALLS
    second = client.client_for("openai")
    assert second is not first
    assert client.client_for("openai") is second
    assert second.api_key == first.api_key and second.base_url == first.base_url
    client._calls[first] = 1
    assert client.client_for("openai") is first
    client._calls.clear()
    assert asyncio.run(client.flush()) == 1, "one endpoint's clients, counted once"
    assert first.is_closed() and second.is_closed()


def test_a_settings_object_configures_the_client(fake: FakeOpenAI) -> None:
    settings = SimpleNamespace(
        OPENAI_API_KEY=SecretStr("sk-from-settings"),
        OPENAI_BASE_URL=fake.base_url,
        ANTHROPIC_API_KEY=None,
        ANTHROPIC_BASE_URL=None,
        LLM_TIMEOUT_SECONDS=5,
    )
    client = LLMClient(settings)
    assert client.client_for("openai").timeout == 5
    _complete(client)
    assert fake.request_headers[0]["authorization"] == "Bearer sk-from-settings"
    with pytest.raises(LLMConfigurationError, match="ANTHROPIC_API_KEY"):
        client.client_for("anthropic")


def test_replies_can_be_scripted_per_model(fake: FakeOpenAI) -> None:
    fake.script(text("for claude", model="claude-test"), text("for gpt", model="gpt-test"))
    client = LLMClient(
        openai_api_key="a",
        openai_base_url=fake.base_url,
        anthropic_api_key="b",
        anthropic_base_url=fake.base_url,
    )
    assert _complete(client).content == "for gpt"
    assert _complete(client, ANTHROPIC_MODEL).content == "for claude"


def test_ollama_defaults_to_its_local_openai_compatible_endpoint_without_a_key() -> None:
    client = LLMClient().client_for("ollama")
    assert str(client.base_url) == "http://localhost:11434/v1/"
    assert client.api_key == "not-needed"


def test_ollama_uses_its_own_base_url_and_sends_max_tokens(fake: FakeOpenAI) -> None:
    client = LLMClient.from_env({"OPENAI_API_KEY": "sk-openai", "OLLAMA_BASE_URL": fake.base_url})
    _complete(client, ModelConfig(provider="ollama", model="llama3.1:8b", max_tokens=64))
    assert (fake.requests[0]["model"], fake.requests[0]["max_tokens"]) == ("llama3.1:8b", 64)
    assert fake.request_headers[0]["authorization"] == "Bearer not-needed"


def test_an_ollama_key_is_sent_when_one_is_set(fake: FakeOpenAI) -> None:
    client = LLMClient.from_env({"OLLAMA_BASE_URL": fake.base_url, "OLLAMA_API_KEY": "olk"})
    _complete(client, ModelConfig(provider="ollama", model="llama3"))
    assert fake.request_headers[0]["authorization"] == "Bearer olk"


def test_the_env_fallback_list_is_read_by_from_env(fake: FakeOpenAI) -> None:
    fake.script(error(503, model="gpt-test"))
    env = {"OPENAI_API_KEY": "k", "OPENAI_BASE_URL": fake.base_url, "LLM_FALLBACK_MODELS": "o3"}
    assert _complete(LLMClient.from_env(env)).answered_by == "o3"


def test_flush_drops_the_clients_and_closes_one_in_use_only_after_its_call(
    fake: FakeOpenAI,
) -> None:
    # flush_cache while a job streams a reply: that reply completes, its client is closed
    # after it, and the next call gets a new client.
    fake.script(text("slow answer", latency=1.0), text("next"))
    client = _client(fake)

    async def on_delta(delta: str, raw: dict[str, Any]) -> None:
        return None

    async def scenario() -> tuple[str, bool, bool, str, bool]:
        try:
            running = asyncio.create_task(client.complete(OPENAI_MODEL, USER, [], on_delta))
            for _ in range(500):  # until the request is at the server
                if fake.request_count:
                    break
                await asyncio.sleep(0.01)
            in_use = client.client_for("openai")
            dropped = await client.flush()
            closed_during = in_use.is_closed()
            first = await running
            closed_after = in_use.is_closed()
            second = await client.complete(OPENAI_MODEL, USER, [], on_delta)
            rebuilt = client.client_for("openai") is not in_use
            assert dropped == 1
            return first.content, closed_during, closed_after, second.content, rebuilt
        finally:
            await client.aclose()

    first, closed_during, closed_after, second, rebuilt = asyncio.run(scenario())
    assert (first, closed_during, closed_after) == ("slow answer", False, True)
    assert (second, rebuilt) == ("next", True)


def test_flush_closes_idle_clients_at_once(fake: FakeOpenAI) -> None:
    fake.script(text("done"))
    client = _client(fake)

    async def scenario() -> tuple[int, bool, int]:
        try:
            await client.complete(OPENAI_MODEL, USER, [], _ignore)
            idle = client.client_for("openai")
            return await client.flush(), idle.is_closed(), await client.flush()
        finally:
            await client.aclose()

    assert asyncio.run(scenario()) == (1, True, 0)


async def _ignore(delta: str, raw: dict[str, Any]) -> None:
    return None
