"""The LLM client, measured: per-model latency and fallbacks for Prometheus."""

from __future__ import annotations

import time
from typing import Any

from workers.agent_executor.agent.llm import LLMClient, LLMResult, OnDelta
from workers.agent_executor.agent.model_config import ModelConfig
from workers.agent_executor.metrics import LLM_FALLBACKS, LLM_LATENCY


class MeteredLLMClient(LLMClient):
    """Observes every request's duration, failed ones included, and counts every fallback."""

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
            return await super().complete_once(model_cfg, messages, tools, on_delta)
        finally:
            LLM_LATENCY.labels(model=model_cfg.model).observe(time.monotonic() - began)

    def on_fallback(self, failed: ModelConfig, following: ModelConfig, reason: str) -> None:
        LLM_FALLBACKS.labels(from_model=failed.model, to_model=following.model, reason=reason).inc()
