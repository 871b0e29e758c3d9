"""The model fallback chain: when one model is unavailable, the same call goes to the next.

A model is unavailable when its call fails with HTTP 429, a 5xx, a timeout or a connection
error, or because the endpoint does not know the model (404, or error code
`model_not_found`). Any other failure (a bad request, a bad key) ends the chain: another model
would not fix it.

A call is never repeated once a content delta reached the caller: the deltas are streamed on
as they come, and a second answer would be spliced onto the first one's beginning. So a stream
that breaks midway raises; one that breaks before its first delta falls back.

When the chain ends in failure the caller gets the error that best says what to do: the last
one a later retry could get past (429, 5xx, timeout, connection) if there was one, else the
last error. A fallback that does not know its model must not turn a primary's passing 503 into
a failed job.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import openai
import structlog

from workers.agent_executor.agent.model_config import ModelConfig

T = TypeVar("T")
OnDelta = Callable[[str, dict[str, Any]], Awaitable[None]]
# (the model that failed, the model tried next, the reason)
OnFallback = Callable[[ModelConfig, ModelConfig, str], None]

MODEL_NOT_FOUND = "model_not_found"

log = structlog.get_logger(__name__)


def fallback_reason(exc: BaseException) -> str | None:
    """Why `exc` makes its model unavailable (a metric label), or None when it does not."""
    if isinstance(exc, openai.APIError) and exc.code == MODEL_NOT_FOUND:
        return MODEL_NOT_FOUND
    if isinstance(exc, openai.RateLimitError):
        return "rate_limited"
    if isinstance(exc, openai.APIStatusError):
        if exc.status_code == 404:
            # Ollama and Anthropic's endpoint answer an unknown model with a bare 404.
            return MODEL_NOT_FOUND
        return "server_error" if exc.status_code >= 500 else None
    if isinstance(exc, openai.APITimeoutError):  # before its base class, APIConnectionError
        return "timeout"
    if isinstance(exc, openai.APIConnectionError):
        return "connection_error"
    return None


def _described(exc: Exception) -> dict[str, Any]:
    """The error's class and status, never its message: a 401's message quotes the key."""
    return {"error": type(exc).__name__, "status": getattr(exc, "status_code", None)}


def is_retryable(reason: str | None) -> bool:
    """Whether a failure for `reason` may pass if the same model is asked again later."""
    return reason is not None and reason != MODEL_NOT_FOUND


async def first_available(
    chain: Sequence[ModelConfig],
    attempt: Callable[[ModelConfig, OnDelta], Awaitable[T]],
    on_delta: OnDelta,
    on_fallback: OnFallback,
) -> tuple[ModelConfig, T]:
    """`attempt` each model of `chain` in turn; the first that answers, with its answer."""
    streamed = False

    async def relay(text: str, raw: dict[str, Any]) -> None:
        nonlocal streamed
        streamed = True
        await on_delta(text, raw)

    retryable: Exception | None = None
    for index, model in enumerate(chain):
        try:
            return model, await attempt(model, relay)
        except Exception as exc:
            if streamed:
                raise  # the caller has part of this answer: another must not be spliced on
            reason = fallback_reason(exc)
            if is_retryable(reason):
                retryable = exc
            following = chain[index + 1] if index + 1 < len(chain) else None
            if reason is None or following is None:
                if retryable is None or retryable is exc:
                    raise
                log.warning(
                    "llm fallback chain failed",
                    model=model.model,
                    raising=type(retryable).__name__,
                    **_described(exc),
                )
                raise retryable from None
            log.warning(
                "llm fallback",
                from_model=model.model,
                to_model=following.model,
                to_provider=following.provider,
                reason=reason,
                **_described(exc),
            )
            on_fallback(model, following, reason)
    raise AssertionError("a model chain is never empty")  # pragma: no cover
