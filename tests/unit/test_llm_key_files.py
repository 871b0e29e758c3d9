"""LLM keys from a mounted Secret's files: a rotated key is used without a restart, and a
missing or empty file leaves the variable's key in force."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from testbed.fake_openai import FakeOpenAI, text
from testbed.secret_volume import kubelet_writes
from workers.agent_executor.agent.definition import ModelConfig
from workers.agent_executor.agent.key_files import KeyFiles
from workers.agent_executor.agent.llm import LLMClient

MODEL = ModelConfig(provider="openai", model="gpt-test", max_tokens=16)
USER = [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize(
    ("content", "expected"),
    [("sk-file\n", "sk-file"), ("  sk-spaced  ", "sk-spaced"), ("", None), ("\n", None)],
)
def test_a_key_file_is_read_stripped_and_an_empty_one_is_no_key(
    tmp_path: Path, content: str, expected: str | None
) -> None:
    (tmp_path / "OPENAI_API_KEY").write_text(content)
    assert KeyFiles(tmp_path).get("OPENAI_API_KEY") == expected


def test_a_missing_file_or_folder_is_no_key(tmp_path: Path) -> None:
    assert KeyFiles(tmp_path).get("OPENAI_API_KEY") is None
    assert KeyFiles(tmp_path / "absent").get("OPENAI_API_KEY") is None
    assert KeyFiles(None).get("OPENAI_API_KEY") is None


def test_a_key_swapped_in_by_the_kubelet_is_read_again(tmp_path: Path) -> None:
    files = KeyFiles(tmp_path)
    kubelet_writes(tmp_path, "OPENAI_API_KEY", "sk-old")
    assert files.get("OPENAI_API_KEY") == "sk-old"
    kubelet_writes(tmp_path, "OPENAI_API_KEY", "sk-new")
    assert files.get("OPENAI_API_KEY") == "sk-new"


def _authorizations(fake: FakeOpenAI) -> list[str]:
    return [h["authorization"] for h in fake.request_headers]


async def _ignore(delta: str, raw: dict[str, Any]) -> None:
    return None


def test_the_client_uses_a_rotated_key_file_from_the_next_call_and_closes_the_old_client(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    fake.script(text("one"), text("two"))
    kubelet_writes(tmp_path, "OPENAI_API_KEY", "sk-before")
    client = LLMClient(
        openai_api_key="sk-variable", openai_base_url=fake.base_url, key_files=KeyFiles(tmp_path)
    )

    async def scenario() -> bool:
        try:
            await client.complete(MODEL, USER, [], _ignore)
            before = client.client_for("openai")
            kubelet_writes(tmp_path, "OPENAI_API_KEY", "sk-after")
            await client.complete(MODEL, USER, [], _ignore)
            return before.is_closed()
        finally:
            await client.aclose()

    assert asyncio.run(scenario())
    assert _authorizations(fake) == ["Bearer sk-before", "Bearer sk-after"]


def test_without_a_key_file_the_variable_key_is_used(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.script(text("one"))
    client = LLMClient(
        openai_api_key="sk-variable", openai_base_url=fake.base_url, key_files=KeyFiles(tmp_path)
    )

    async def scenario() -> None:
        try:
            await client.complete(MODEL, USER, [], _ignore)
        finally:
            await client.aclose()

    asyncio.run(scenario())
    assert _authorizations(fake) == ["Bearer sk-variable"]


def test_a_worker_refuses_key_files_while_tool_scripts_may_read_them(tmp_path: Path) -> None:
    from pydantic import ValidationError

    from workers.agent_executor.settings import Settings

    stores = {"DATABASE_URL": "postgresql://db/x", "REDIS_URL": "redis://cache:6379/0"}
    with pytest.raises(ValidationError, match="tool scripts run as this user"):
        Settings.model_validate(
            {**stores, "ALLOW_TOOL_SCRIPTS": "true", "LLM_KEYS_DIR": str(tmp_path)}
        )
    assert Settings.model_validate({**stores, "LLM_KEYS_DIR": str(tmp_path)}).LLM_KEYS_DIR
