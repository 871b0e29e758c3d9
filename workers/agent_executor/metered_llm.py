"""The LLM client with its latency measured for `agent_executor_llm_request_duration_seconds`."""

from __future__ import annotations

import time
from typing import Any

from workers.agent_executor.agent.definition import ModelConfig
from workers.agent_executor.agent.llm import LLMClient, LLMResult, OnDelta
from workers.agent_executor.metrics import LLM_LATENCY


class MeteredLLMClient(LLMClient):
    """Observes every call's duration, failed calls included, labelled by the configured model."""

    async def complete(
        self,
        model_cfg: ModelConfig,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]],
        on_delta: OnDelta,
    ) -> LLMResult:
        began = time.monotonic()
        try:
            return await super().complete(model_cfg, messages, tools, on_delta)
        finally:
            LLM_LATENCY.labels(model=model_cfg.model).observe(time.monotonic() - began)
