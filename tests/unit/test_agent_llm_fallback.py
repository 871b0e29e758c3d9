"""The model fallback chain: which failures move on to the next model, against the fake server."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx2
import openai
import pytest
from prometheus_client import REGISTRY
from structlog.testing import capture_logs

from testbed.fake_openai import FakeOpenAI, error, text
from testbed.servers import free_port
from workers.agent_executor.agent.fallback import fallback_reason
from workers.agent_executor.agent.llm import LLMClient, LLMConfigurationError, LLMResult
from workers.agent_executor.agent.model_config import ModelConfig
from workers.agent_executor.metered_llm import MeteredLLMClient

USER = [{"role": "user", "content": "hi"}]
KEY = "sk-secret-key-0123456789"


def _model(**fields: Any) -> ModelConfig:
    return ModelConfig.model_validate({"provider": "openai", "model": "primary", **fields})


def _complete(client: LLMClient, model: ModelConfig, deltas: list[str] | None = None) -> LLMResult:
    async def on_delta(delta: str, raw: dict[str, Any]) -> None:
        if deltas is not None:
            deltas.append(delta)

    async def call() -> LLMResult:
        try:
            return await client.complete(model, USER, [], on_delta)
        finally:
            await client.aclose()

    return asyncio.run(call())


def _client(fake: FakeOpenAI, cls: type[LLMClient] = LLMClient, **kwargs: Any) -> LLMClient:
    return cls(openai_api_key=KEY, openai_base_url=fake.base_url, **kwargs)


def _models(fake: FakeOpenAI) -> list[str]:
    return [body["model"] for body in fake.requests]


# --- the decision: which failures fall back ------------------------------------------------------

# The SDK sends through its own fork of httpx, and its errors carry that fork's types.
REQUEST = httpx2.Request("POST", "http://llm.test/v1/chat/completions")


def _status(cls: type[openai.APIStatusError], status: int, code: str | None = None) -> Exception:
    body = {"message": "m", "type": "t", "code": code}
    return cls("m", response=httpx2.Response(status, request=REQUEST), body=body)


P = pytest.param

# (the error a call ended with, the fallback reason or None: no fallback); one case a row.
# fmt: off
DECISIONS = [
    P(_status(openai.RateLimitError, 429), "rate_limited", id="429"),
    P(_status(openai.InternalServerError, 500), "server_error", id="500"),
    P(_status(openai.InternalServerError, 503), "server_error", id="503"),
    P(_status(openai.APIStatusError, 529), "server_error", id="529-any-5xx"),
    P(openai.APIConnectionError(request=REQUEST), "connection_error", id="unreachable"),
    P(openai.APITimeoutError(request=REQUEST), "timeout", id="timeout"),
    P(_status(openai.NotFoundError, 404, "model_not_found"), "model_not_found", id="404-code"),
    P(_status(openai.NotFoundError, 404), "model_not_found", id="404-bare-as-ollama-sends"),
    P(_status(openai.BadRequestError, 400, "model_not_found"), "model_not_found",
      id="400-with-model_not_found-code"),
    P(openai.APIError("m", REQUEST, body={"code": "model_not_found"}), "model_not_found",
      id="in-stream-model_not_found"),
    P(_status(openai.BadRequestError, 400), None, id="400-bad-request"),
    P(_status(openai.AuthenticationError, 401), None, id="401-bad-key"),
    P(_status(openai.PermissionDeniedError, 403), None, id="403"),
    P(_status(openai.UnprocessableEntityError, 422), None, id="422"),
    P(openai.APIError("m", REQUEST, body=None), None, id="in-stream-other-error"),
    P(LLMConfigurationError("no key"), None, id="provider-without-key"),
    P(ValueError("bug"), None, id="a-bug"),
]
# fmt: on


@pytest.mark.parametrize(("exc", "reason"), DECISIONS)
def test_which_failures_fall_back(exc: Exception, reason: str | None) -> None:
    assert fallback_reason(exc) == reason


# --- the chain against the fake server -----------------------------------------------------------


def test_a_503_on_the_primary_is_answered_by_the_fallback(fake: FakeOpenAI) -> None:
    fake.script(error(503, model="primary"), text("from backup", model="backup", usage=(7, 2)))
    result = _complete(_client(fake), _model(fallbacks=["backup"]))
    assert (result.content, result.answered_by) == ("from backup", "backup")
    assert result.usage == {"prompt_tokens": 7, "completion_tokens": 2}
    assert _models(fake) == ["primary", "backup"]


def test_the_primary_answers_when_it_can(fake: FakeOpenAI) -> None:
    result = _complete(_client(fake), _model(fallbacks=["backup"]))
    assert result.answered_by == "primary"
    assert _models(fake) == ["primary"]


def test_an_unknown_model_is_answered_by_the_fallback(fake: FakeOpenAI) -> None:
    fake.script(error(404, model="primary"), text("from backup", model="backup"))
    result = _complete(_client(fake), _model(fallbacks=["backup"]))
    assert result.answered_by == "backup"


def test_a_429_falls_back_when_there_is_a_fallback(fake: FakeOpenAI) -> None:
    fake.script(error(429, model="primary", retry_after=5), text("from backup", model="backup"))
    assert _complete(_client(fake), _model(fallbacks=["backup"])).answered_by == "backup"


def test_a_429_without_a_fallback_is_still_a_rate_limit_error(fake: FakeOpenAI) -> None:
    fake.fail_next(1, status=429, retry_after=7)
    with pytest.raises(openai.RateLimitError):
        _complete(_client(fake), _model())
    assert fake.request_count == 1


def test_the_chain_is_tried_in_order_until_one_answers(fake: FakeOpenAI) -> None:
    fake.script(error(503, model="primary"), error(502, model="second"))
    result = _complete(_client(fake), _model(fallbacks=["second", "third"]))
    assert result.answered_by == "third"
    assert _models(fake) == ["primary", "second", "third"]


def test_when_every_model_fails_the_error_class_is_kept(fake: FakeOpenAI) -> None:
    fake.fail_next(3, status=503)
    with pytest.raises(openai.InternalServerError) as caught:
        _complete(_client(fake), _model(fallbacks=["second", "third"]))
    assert caught.value.status_code == 503
    assert fake.request_count == 3


def test_a_retryable_error_wins_over_a_later_unknown_model(fake: FakeOpenAI) -> None:
    # The primary may come back: the job must stay retryable, not fail on the fallback's 404.
    fake.script(error(503, model="primary"), error(404, model="backup"))
    with pytest.raises(openai.InternalServerError):
        _complete(_client(fake), _model(fallbacks=["backup"]))


def test_every_model_unknown_raises_not_found(fake: FakeOpenAI) -> None:
    fake.fail_next(2, status=404)
    with pytest.raises(openai.NotFoundError):
        _complete(_client(fake), _model(fallbacks=["backup"]))


def test_a_request_error_does_not_fall_back(fake: FakeOpenAI) -> None:
    fake.script(error(400, model="primary"))
    with pytest.raises(openai.BadRequestError):
        _complete(_client(fake), _model(fallbacks=["backup"]))
    assert _models(fake) == ["primary"]


def test_an_unreachable_primary_falls_back_to_another_provider(fake: FakeOpenAI) -> None:
    client = LLMClient(
        openai_api_key=KEY,
        openai_base_url=f"http://127.0.0.1:{free_port()}/v1",
        ollama_base_url=fake.base_url,
    )
    result = _complete(client, _model(fallbacks=["ollama:llama3"]))
    assert result.answered_by == "llama3"
    assert fake.request_headers[0]["authorization"] == "Bearer not-needed"  # not the OpenAI key


def test_a_stream_broken_before_the_first_delta_falls_back(fake: FakeOpenAI) -> None:
    fake.script(text("lost", model="primary", cut_after=0), text("whole", model="backup"))
    deltas: list[str] = []
    result = _complete(_client(fake), _model(fallbacks=["backup"]), deltas)
    assert (result.answered_by, "".join(deltas)) == ("backup", "whole")


def test_a_stream_broken_after_a_delta_is_not_repeated(fake: FakeOpenAI) -> None:
    # The caller has shown the first delta already: a second answer would be spliced onto it.
    fake.script(text("abcdef", model="primary", chunks=3, cut_after=1))
    deltas: list[str] = []
    with pytest.raises(openai.APIConnectionError):
        _complete(_client(fake), _model(fallbacks=["backup"]), deltas)
    assert (deltas, _models(fake)) == (["ab"], ["primary"])


# --- the env chain -------------------------------------------------------------------------------


def test_the_env_chain_applies_to_a_node_without_fallbacks(fake: FakeOpenAI) -> None:
    fake.script(error(503, model="primary"), text("from env backup", model="backup"))
    result = _complete(_client(fake, fallback_models="backup"), _model())
    assert result.answered_by == "backup"


def test_a_node_chain_replaces_the_env_chain(fake: FakeOpenAI) -> None:
    fake.script(error(503, model="primary"))
    result = _complete(_client(fake, fallback_models="env-backup"), _model(fallbacks=["own"]))
    assert _models(fake) == ["primary", "own"]
    assert result.answered_by == "own"


def test_an_empty_node_chain_opts_out_of_the_env_chain(fake: FakeOpenAI) -> None:
    fake.script(error(503, model="primary"))
    with pytest.raises(openai.InternalServerError):
        _complete(_client(fake, fallback_models="backup"), _model(fallbacks=[]))
    assert _models(fake) == ["primary"]


def test_a_fallback_on_a_provider_without_a_key_fails_before_any_request(
    fake: FakeOpenAI,
) -> None:
    with pytest.raises(LLMConfigurationError, match="ANTHROPIC_API_KEY"):
        _complete(_client(fake), _model(fallbacks=["anthropic:claude"]))
    assert fake.request_count == 0


# --- what a fallback leaves behind: a counter and a log line without secrets ---------------------


def _fallbacks_counted(from_model: str, to_model: str, reason: str) -> float:
    labels = {"from_model": from_model, "to_model": to_model, "reason": reason}
    return REGISTRY.get_sample_value("agent_executor_llm_fallbacks_total", labels) or 0.0


def test_a_fallback_is_counted_by_models_and_reason(fake: FakeOpenAI) -> None:
    before = _fallbacks_counted("primary", "backup", "server_error")
    fake.script(error(503, model="primary"))
    _complete(_client(fake, MeteredLLMClient), _model(fallbacks=["backup"]))
    assert _fallbacks_counted("primary", "backup", "server_error") == before + 1


def test_a_fallback_is_logged_without_the_api_key(fake: FakeOpenAI) -> None:
    fake.script(error(503, model="primary"))
    with capture_logs() as logs:
        _complete(_client(fake), _model(fallbacks=["backup"]))
    [entry] = [e for e in logs if e["event"] == "llm fallback"]
    assert (entry["from_model"], entry["to_model"], entry["reason"]) == (
        "primary",
        "backup",
        "server_error",
    )
    assert KEY not in repr(logs)
