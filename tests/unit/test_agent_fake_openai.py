"""The fake OpenAI server itself, through the real SDK: forms, script order, errors, latency."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletion

from testbed.fake_openai import FakeOpenAI, ToolCall, fake_openai, text, tool_calls

USER = [{"role": "user", "content": "hi"}]


def _tool(name: str) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name, "parameters": {"type": "object"}}}


def _create(
    fake: FakeOpenAI, model: str = "m", tools: list[dict[str, Any]] | None = None
) -> ChatCompletion:
    offered: dict[str, Any] = {"tools": tools} if tools else {}

    async def call() -> ChatCompletion:
        async with openai.AsyncOpenAI(base_url=fake.base_url, api_key="k", max_retries=0) as client:
            return await client.chat.completions.create(model=model, messages=USER, **offered)  # type: ignore[arg-type]

    return asyncio.run(call())


def test_the_base_url_ends_in_v1(fake: FakeOpenAI) -> None:
    assert fake.base_url.startswith("http://127.0.0.1:")
    assert fake.base_url.endswith("/v1")


def test_a_non_streaming_text_reply(fake: FakeOpenAI) -> None:
    fake.script(text("plain answer", usage=(7, 2)))
    completion = _create(fake)
    assert completion.choices[0].message.content == "plain answer"
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (7, 2)
    assert fake.requests[0]["messages"] == USER


def test_a_non_streaming_tool_call_reply(fake: FakeOpenAI) -> None:
    fake.script(tool_calls(ToolCall("ls", {"a": 1}, id="c1")))
    completion = _create(fake, tools=[_tool("ls")])
    calls = completion.choices[0].message.tool_calls
    assert calls is not None
    assert calls[0].id == "c1"
    assert completion.choices[0].finish_reason == "tool_calls"
    assert json.loads(calls[0].function.arguments) == {"a": 1}  # type: ignore[union-attr]


def test_injected_errors_apply_to_the_next_n_calls_then_the_script_resumes(
    fake: FakeOpenAI,
) -> None:
    fake.script(text("after the errors"))
    fake.fail_next(2, status=500)
    for _ in range(2):
        with pytest.raises(openai.InternalServerError):
            _create(fake)
    assert _create(fake).choices[0].message.content == "after the errors"
    assert fake.request_count == 3


def test_latency_delays_the_answer(fake: FakeOpenAI) -> None:
    fake.script(text("slow", latency=0.3))
    started = time.monotonic()
    _create(fake)
    assert time.monotonic() - started >= 0.3


def test_a_reply_for_another_model_waits_for_that_model(fake: FakeOpenAI) -> None:
    fake.script(text("for b", model="b"), text("for anyone"))
    assert _create(fake, "a").choices[0].message.content == "for anyone"
    assert fake.pending == 1
    assert _create(fake, "b").choices[0].message.content == "for b"


def test_an_empty_script_answers_done(fake: FakeOpenAI) -> None:
    assert _create(fake).choices[0].message.content == "done"


def test_strict_mode_refuses_a_scripted_call_of_a_tool_the_request_did_not_offer(
    fake: FakeOpenAI,
) -> None:
    fake.script(tool_calls(ToolCall("write_file", {"file_path": "/a", "content": "x"})))
    with pytest.raises(openai.BadRequestError, match="write_file"):
        _create(fake, tools=[_tool("ls"), _tool("read_file")])
    assert fake.violations == [
        "scripted tool call(s) ['write_file'] not offered by the request; "
        "offered: ['ls', 'read_file']"
    ]
    fake.reset()  # the violation was the point; the fixture checks for none


def test_strict_mode_refuses_tool_calls_when_no_tools_were_offered(fake: FakeOpenAI) -> None:
    fake.script(tool_calls(ToolCall("ls", {"path": "/"})))
    with pytest.raises(openai.BadRequestError):
        _create(fake)
    assert len(fake.violations) == 1
    fake.reset()


def test_a_hallucinated_call_passes_strict_mode_on_purpose(fake: FakeOpenAI) -> None:
    fake.script(tool_calls(ToolCall("no_such_tool", {}, hallucinated=True)))
    calls = _create(fake, tools=[_tool("ls")]).choices[0].message.tool_calls
    assert calls is not None
    assert calls[0].function.name == "no_such_tool"  # type: ignore[union-attr]
    assert fake.violations == []


def test_a_lenient_fake_answers_any_scripted_call() -> None:
    with fake_openai(FakeOpenAI(strict=False)) as lenient:
        lenient.script(tool_calls(ToolCall("write_file", {})))
        calls = _create(lenient).choices[0].message.tool_calls
    assert calls is not None
    assert lenient.violations == []
