"""The fake OpenAI server itself, through the real SDK: forms, script order, errors, latency."""

from __future__ import annotations

import asyncio
import json
import time

import openai
import pytest
from openai.types.chat import ChatCompletion

from testbed.fake_openai import FakeOpenAI, ToolCall, text, tool_calls

USER = [{"role": "user", "content": "hi"}]


def _create(fake: FakeOpenAI, model: str = "m") -> ChatCompletion:
    async def call() -> ChatCompletion:
        async with openai.AsyncOpenAI(base_url=fake.base_url, api_key="k", max_retries=0) as client:
            return await client.chat.completions.create(model=model, messages=USER)  # type: ignore[arg-type]

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
    completion = _create(fake)
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
