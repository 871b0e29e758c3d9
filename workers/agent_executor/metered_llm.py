"""The LLM client, measured: per-model latency and fallbacks for Prometheus, a span per request."""

from __future__ import annotations

import time
from typing import Any

from workers.agent_executor.agent.llm import LLMClient, LLMResult, OnDelta
from workers.agent_executor.agent.model_config import ModelConfig
from workers.agent_executor.agent.telemetry import chat_span, response_attributes
from workers.agent_executor.metrics import LLM_FALLBACKS, LLM_LATENCY


class MeteredLLMClient(LLMClient):
    """Observes every request's duration, failed ones included, and counts every fallback.

    Each request is also a `chat <model>` span (a fallback's under its own model), a child of
    the current span: the job's, when it runs inside one.
    """

    async def complete_once(
        self,
        model_cfg: ModelConfig,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]],
        on_delta: OnDelta,
    ) -> LLMResult:
        # Per request, not per chain: each request is timed under the model it asked.
        began = time.monotonic()
        try:
            with chat_span(
                model_cfg.provider, model_cfg.model, model_cfg.temperature, model_cfg.max_tokens
            ) as span:
                result = await super().complete_once(model_cfg, messages, tools, on_delta)
                if span.is_recording():
                    span.set_attributes(
                        response_attributes(result.model, result.usage, result.finish_reason)
                    )
                return result
        finally:
            LLM_LATENCY.labels(model=model_cfg.model).observe(time.monotonic() - began)

    def on_fallback(self, failed: ModelConfig, following: ModelConfig, reason: str) -> None:
        LLM_FALLBACKS.labels(from_model=failed.model, to_model=following.model, reason=reason).inc()
