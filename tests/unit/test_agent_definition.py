"""The seed agent_definition: what parses, and errors that name the offending field."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from workers.agent_executor.agent.definition import (
    AgentDefinition,
    parse_definition,
    tool_names_offered,
)
from workers.agent_executor.agent.ports import InvalidAgentDefinitionError


def _node(node_id: str, kind: str, name: str, tools: list[str] | None = None) -> dict[str, Any]:
    return {
        "id": node_id,
        "type": kind,
        "config": {
            "name": name,
            "description": f"the {name}",
            "system_prompt": f"You are the {name}.",
            "model": {"provider": "openai", "model": "gpt-4o-mini"},
            "tools": tools or [],
        },
    }


VALID: dict[str, Any] = {
    "tool_definitions": [{"name": "lookup", "runtime": {"script": "print('x')"}}],
    "nodes": [
        _node("orch", "Orchestrator", "lead", ["write_todos", "write_file", "task", "lookup"]),
        _node("res", "Specialist", "researcher", ["read_file", "ls", "edit_file"]),
    ],
}


def _invalid(raw: Any) -> str:
    with pytest.raises(InvalidAgentDefinitionError) as caught:
        parse_definition(raw)
    assert caught.value.type == "InvalidAgentDefinition"
    return str(caught.value)


def _variant() -> dict[str, Any]:
    return copy.deepcopy(VALID)


def test_a_valid_definition_parses_with_its_orchestrator_and_specialists() -> None:
    definition = parse_definition(VALID)
    assert definition.orchestrator.id == "orch"
    assert [n.id for n in definition.specialists] == ["res"]
    assert definition.tool_definition("lookup") is not None


def test_tool_definitions_are_optional_and_unknown_keys_are_ignored() -> None:
    raw = {"nodes": [_node("o", "Orchestrator", "lead")], "edges": [], "layout": {"x": 1}}
    assert parse_definition(raw).orchestrator.config.name == "lead"


def test_an_unknown_tool_names_its_path() -> None:
    raw = _variant()
    raw["nodes"][1]["config"]["tools"] = ["foo"]
    assert "agent_definition.nodes[1].config.tools[0]: unknown tool 'foo'" in _invalid(raw)


def test_a_bad_provider_names_its_path() -> None:
    raw = _variant()
    raw["nodes"][0]["config"]["model"]["provider"] = "mistral"
    assert _invalid(raw).startswith("agent_definition.nodes[0].config.model.provider:")


def test_a_missing_model_names_its_path() -> None:
    raw = _variant()
    del raw["nodes"][1]["config"]["model"]
    assert "agent_definition.nodes[1].config.model: Field required" in _invalid(raw)


def test_a_bad_node_type_names_its_path() -> None:
    raw = _variant()
    raw["nodes"][1]["type"] = "Worker"
    assert _invalid(raw).startswith("agent_definition.nodes[1].type:")


def test_no_orchestrator_is_rejected() -> None:
    raw = {"nodes": [_node("a", "Specialist", "a")]}
    assert "agent_definition.nodes: exactly one node must have type 'Orchestrator'" in _invalid(raw)


def test_two_orchestrators_are_rejected() -> None:
    raw = {"nodes": [_node("a", "Orchestrator", "a"), _node("b", "Orchestrator", "b")]}
    assert "found 2: nodes[0], nodes[1]" in _invalid(raw)


def test_duplicate_node_ids_are_rejected() -> None:
    raw = _variant()
    raw["nodes"][1]["id"] = "orch"
    assert "agent_definition.nodes[1].id: duplicate node id 'orch'" in _invalid(raw)


def test_duplicate_node_names_are_rejected() -> None:
    raw = _variant()
    raw["nodes"][1]["config"]["name"] = "lead"
    assert "agent_definition.nodes[1].config.name: duplicate node name 'lead'" in _invalid(raw)


def test_listing_builtins_or_task_is_allowed_anywhere() -> None:
    # deepagents-runtime skipped such names (they had no tool_definition); they do no harm.
    raw = _variant()
    raw["nodes"][1]["config"]["tools"] = ["ls", "task", "glob", "grep"]
    lone = {"nodes": [_node("o", "Orchestrator", "lead", ["task", "write_file"])]}
    assert parse_definition(raw).specialists[0].config.tools == ["ls", "task", "glob", "grep"]
    assert parse_definition(lone).orchestrator.config.tools == ["task", "write_file"]


def test_a_tool_definition_may_not_shadow_a_builtin() -> None:
    raw = _variant()
    raw["tool_definitions"][0]["name"] = "read_file"
    assert "agent_definition.tool_definitions[0].name: 'read_file' is a built-in" in _invalid(raw)


def test_a_tool_definition_needs_a_script() -> None:
    raw = _variant()
    raw["tool_definitions"][0]["runtime"] = {}
    assert "agent_definition.tool_definitions[0].runtime.script: Field required" in _invalid(raw)


def test_every_error_is_reported_at_once() -> None:
    raw = _variant()
    raw["nodes"][0]["config"]["tools"] = ["nope"]
    raw["nodes"][1]["config"]["tools"] = ["ls", "ls"]
    message = _invalid(raw)
    assert "nodes[0].config.tools[0]" in message
    assert "nodes[1].config.tools[1]: tool 'ls' is listed twice" in message


def test_a_non_object_is_rejected() -> None:
    assert _invalid(["nodes"]) == "agent_definition: must be an object, got list"


BUILTINS = ["write_todos", "ls", "read_file", "write_file", "edit_file", "glob", "grep"]


def test_every_agent_is_offered_the_builtins_unlisted_then_its_own_tools() -> None:
    raw = _variant()
    raw["nodes"][0]["config"]["tools"] = ["lookup", "ls"]
    raw["nodes"][1]["config"]["tools"] = ["lookup", "task"]
    definition = parse_definition(raw)
    orchestrator, specialist = definition.orchestrator, definition.specialists[0]
    assert tool_names_offered(orchestrator) == [*BUILTINS, "task", "lookup"]
    assert tool_names_offered(specialist) == [*BUILTINS, "lookup"]  # no task for a specialist
    assert definition.tools_of(orchestrator) == tool_names_offered(orchestrator)


def test_a_listed_name_without_a_tool_definition_is_not_offered() -> None:
    # parse_definition refuses such a name today; AgentDefinition alone lets it through,
    # as a definition with warnings instead of errors would.
    raw = _variant()
    raw["nodes"][0]["config"]["tools"] = ["lookup", "missing"]
    definition = AgentDefinition.model_validate(raw)
    assert tool_names_offered(definition.orchestrator)[-2:] == ["lookup", "missing"]
    assert definition.tools_of(definition.orchestrator) == [*BUILTINS, "task", "lookup"]


def test_the_orchestrator_is_offered_task_without_specialists() -> None:
    lone = parse_definition({"nodes": [_node("o", "Orchestrator", "lead")]})
    assert tool_names_offered(lone.orchestrator) == [*BUILTINS, "task"]


def test_a_tool_definition_may_not_take_a_new_builtin_name() -> None:
    raw = _variant()
    raw["tool_definitions"][0]["name"] = "grep"
    assert "agent_definition.tool_definitions[0].name: 'grep' is a built-in" in _invalid(raw)


def test_a_specialist_is_found_by_display_name_or_id() -> None:
    raw = _variant()
    raw["nodes"][1]["config"]["name"] = "Guardrail Agent"
    definition = parse_definition(raw)
    found = definition.specialist("Guardrail Agent")
    assert found is not None and found.id == "res"
    assert definition.specialist("res") is found
    assert definition.specialist("guardrail agent") is None
