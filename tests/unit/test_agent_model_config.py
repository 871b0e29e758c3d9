"""A node's `config.model`: the shapes deepagents-runtime read, providers, and fallback chains."""

from __future__ import annotations

from typing import Any

import pytest

from workers.agent_executor.agent.definition import parse_definition
from workers.agent_executor.agent.model_config import (
    FallbackModel,
    ModelConfig,
    parse_fallback_list,
)
from workers.agent_executor.agent.ports import InvalidAgentDefinitionError

PATH = "agent_definition.nodes[0].config.model"


def _definition(model: Any) -> dict[str, Any]:
    return {
        "nodes": [{"id": "o", "type": "Orchestrator", "config": {"name": "lead", "model": model}}]
    }


def _model(model: Any) -> ModelConfig:
    return parse_definition(_definition(model)).orchestrator.config.model


def _invalid(model: Any) -> str:
    with pytest.raises(InvalidAgentDefinitionError) as caught:
        parse_definition(_definition(model))
    return str(caught.value)


# --- model / model_name ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        {"provider": "openai", "model": "gpt-4o"},
        {"provider": "openai", "model_name": "gpt-4o"},
        {"provider": "openai", "model": "gpt-4o", "model_name": "gpt-4o"},
        {"provider": "openai", "model_name": "  gpt-4o "},
    ],
    ids=["model", "model_name", "both-equal", "padded"],
)
def test_the_model_is_read_from_model_or_model_name(raw: dict[str, Any]) -> None:
    assert _model(raw).model == "gpt-4o"


def test_model_and_model_name_that_differ_are_an_error_naming_model_name() -> None:
    message = _invalid({"provider": "openai", "model": "gpt-4o", "model_name": "gpt-4.1"})
    assert message.startswith(f"{PATH}.model_name: ")
    assert "'gpt-4.1'" in message and "'gpt-4o'" in message


def test_a_missing_model_name_names_the_model_field() -> None:
    assert f"{PATH}.model: Field required" in _invalid({"provider": "openai"})


# --- providers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "provider"),
    [
        ("openai", "openai"),
        ("OpenAI", "openai"),
        ("Anthropic", "anthropic"),
        (" OLLAMA ", "ollama"),
    ],
)
def test_the_provider_compares_case_insensitively(given: str, provider: str) -> None:
    assert _model({"provider": given, "model": "m"}).provider == provider


def test_an_unknown_provider_is_named_with_the_providers_there_are() -> None:
    message = _invalid({"provider": "Mistral", "model": "m"})
    assert message == (
        f"{PATH}.provider: unknown provider 'Mistral' (providers: openai, anthropic, ollama)"
    )


# --- fallbacks -------------------------------------------------------------------------------


def _chain(model: dict[str, Any], default: str = "") -> str:
    config = _model({"provider": "openai", "model": "gpt-4.1", **model})
    return " → ".join(f"{c.provider}:{c.model}" for c in config.chain(parse_fallback_list(default)))


P = pytest.param


# (the node's model config, LLM_FALLBACK_MODELS, the chain tried); one case a row.
# fmt: off
CHAINS = [
    P({}, "", "openai:gpt-4.1", id="none"),
    P({"fallbacks": ["o3", "o1-pro"]}, "", "openai:gpt-4.1 → openai:o3 → openai:o1-pro",
      id="names-use-the-node-provider"),
    P({"fallbacks": ["anthropic:claude-x"]}, "", "openai:gpt-4.1 → anthropic:claude-x",
      id="provider-prefix"),
    P({"fallbacks": ["Ollama:llama3.1:8b"]}, "", "openai:gpt-4.1 → ollama:llama3.1:8b",
      id="any-case-prefix-and-a-colon-in-the-name"),
    P({"fallbacks": ["llama3.1:8b"]}, "", "openai:gpt-4.1 → openai:llama3.1:8b",
      id="a-prefix-that-is-no-provider-is-part-of-the-name"),
    P({"fallbacks": [{"provider": "Anthropic", "model_name": "c"}]}, "",
      "openai:gpt-4.1 → anthropic:c", id="object-entry"),
    P({}, "o3, anthropic:c", "openai:gpt-4.1 → openai:o3 → anthropic:c",
      id="env-chain-when-the-node-has-none"),
    P({"fallbacks": ["o1"]}, "o3", "openai:gpt-4.1 → openai:o1", id="node-chain-wins-over-env"),
    P({"fallbacks": []}, "o3", "openai:gpt-4.1", id="empty-node-chain-opts-out-of-env"),
    P({}, "gpt-4.1,o3,o3", "openai:gpt-4.1 → openai:o3", id="repeats-and-the-primary-dropped"),
]
# fmt: on


@pytest.mark.parametrize(("model", "env", "chain"), CHAINS)
def test_the_fallback_chain(model: dict[str, Any], env: str, chain: str) -> None:
    assert _chain(model, env) == chain


def test_a_fallback_inherits_the_node_settings_unless_it_sets_its_own() -> None:
    config = _model(
        {
            "provider": "openai",
            "model": "gpt-4.1",
            "temperature": 0.2,
            "max_tokens": 500,
            "fallbacks": ["o3", {"model": "o1-pro", "temperature": None, "max_tokens": 900}],
        }
    )
    _, o3, o1_pro = config.chain(())
    assert (o3.temperature, o3.max_tokens) == (0.2, 500)
    assert (o1_pro.temperature, o1_pro.max_tokens) == (None, 900)


@pytest.mark.parametrize(
    ("fallbacks", "path"),
    [
        (["openai:"], f"{PATH}.fallbacks[0].model:"),
        (
            [{"provider": "mistral", "model": "m"}],
            f"{PATH}.fallbacks[0].provider: unknown provider",
        ),
        ([{"model": "a", "model_name": "b"}], f"{PATH}.fallbacks[0].model_name:"),
        ([42], f"{PATH}.fallbacks[0]:"),
    ],
    ids=["empty-name", "unknown-provider", "model-and-model_name-differ", "not-a-name-or-object"],
)
def test_a_bad_fallback_names_its_path(fallbacks: list[Any], path: str) -> None:
    assert path in _invalid({"provider": "openai", "model": "m", "fallbacks": fallbacks})


def test_the_env_list_skips_empty_entries() -> None:
    assert parse_fallback_list(" o3 ,, anthropic:c ,") == (
        FallbackModel(model="o3"),
        FallbackModel(provider="anthropic", model="c"),
    )


def test_a_bad_env_entry_is_a_value_error_naming_it() -> None:
    with pytest.raises(ValueError, match="'ollama:'"):
        parse_fallback_list("o3,ollama:")
