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


def test_a_non_object_is_rejected() -> None:
    assert _invalid(["nodes"]) == "agent_definition: must be an object, got list"


BUILTINS = ["write_todos", "ls", "read_file", "write_file", "edit_file", "glob", "grep"]


def test_every_agent_is_offered_the_builtins_unlisted_then_its_own_tools() -> None:
    raw = _variant()
    raw["nodes"][0]["config"]["tools"] = ["lookup", "ls"]
    raw["nodes"][1]["config"]["tools"] = ["lookup", "task"]
    definition = parse_definition(raw)
    orchestrator, specialist = definition.orchestrator, definition.specialists[0]
    assert tool_names_offered(orchestrator, orchestrator=True) == [*BUILTINS, "task", "lookup"]
    # no task for a specialist
    assert tool_names_offered(specialist, orchestrator=False) == [*BUILTINS, "lookup"]
    assert definition.tools_of(orchestrator) == [*BUILTINS, "task", "lookup"]
    assert definition.tools_of(specialist) == [*BUILTINS, "lookup"]


# --- read as deepagents-runtime read it: lenient where it ran, with a warning ----------------


def test_an_unknown_tool_is_skipped_with_a_warning_naming_its_path() -> None:
    raw = _variant()
    raw["nodes"][1]["config"]["tools"] = ["foo", "ls"]
    definition = parse_definition(raw)
    assert definition.tools_of(definition.nodes[1]) == BUILTINS
    assert any(
        w.startswith("agent_definition.nodes[1].config.tools[0]: unknown tool 'foo' was skipped")
        for w in definition.warnings
    )


def test_task_listed_by_a_specialist_is_skipped_with_a_warning() -> None:
    raw = _variant()
    raw["nodes"][1]["config"]["tools"] = ["ls", "task"]
    definition = parse_definition(raw)
    assert "task" not in definition.tools_of(definition.nodes[1])
    assert any("nodes[1].config.tools[1]: unknown tool 'task'" in w for w in definition.warnings)


@pytest.mark.parametrize("kind", ["orchestrator", "ORCHESTRATOR", "Orchestrator", "oRcHeStRaToR"])
def test_node_types_compare_case_insensitively(kind: str) -> None:
    raw = {"nodes": [_node("o", kind, "lead"), _node("s", "specialist", "helper")]}
    definition = parse_definition(raw)
    assert definition.orchestrator.id == "o"
    assert [n.id for n in definition.specialists] == ["s"]
    assert definition.warnings == ()


def test_a_node_without_a_type_is_a_specialist() -> None:
    raw = {"nodes": [_node("o", "Orchestrator", "lead"), _node("s", "x", "helper")]}
    del raw["nodes"][1]["type"]
    assert [n.id for n in parse_definition(raw).specialists] == ["s"]


def test_an_unknown_node_type_names_its_path() -> None:
    raw = {"nodes": [_node("o", "Manager", "lead")]}
    assert _invalid(raw).startswith("agent_definition.nodes[0].type:")


def test_with_several_orchestrators_the_last_runs_and_the_result_says_so() -> None:
    raw = {
        "nodes": [
            _node("start_node", "Orchestrator", "Start"),
            _node("OrchestratorAgent", "Orchestrator", "Orchestrator Agent"),
            _node("GreetingAgent", "Specialist", "Greeting Agent"),
        ]
    }
    definition = parse_definition(raw)
    assert definition.orchestrator.id == "OrchestratorAgent"
    assert [n.id for n in definition.specialists] == ["GreetingAgent"]
    assert definition.warnings == (
        "agent_definition.nodes: 2 nodes have type Orchestrator; nodes[1] ('Orchestrator Agent') "
        "ran, as in deepagents-runtime, and nodes[0] ('Start') did not run",
    )


def test_without_an_orchestrator_the_first_node_runs_as_one() -> None:
    raw = {"nodes": [_node("a", "Specialist", "first"), _node("b", "Specialist", "second")]}
    definition = parse_definition(raw)
    assert definition.orchestrator.id == "a"
    assert [n.id for n in definition.specialists] == ["b"]
    assert "no node has type Orchestrator; nodes[0] ('first') ran" in definition.warnings[0]


def test_a_tool_listed_twice_is_offered_once() -> None:
    raw = _variant()
    raw["nodes"][1]["config"]["tools"] = ["ls", "ls"]
    definition = parse_definition(raw)
    assert definition.tools_of(definition.nodes[1]).count("ls") == 1


IDE_ORCHESTRATOR_TEMPLATE: dict[str, Any] = {
    "graph": {
        "nodes": [
            {
                "id": "orchestrator",
                "type": "AgentNode",
                "data": {
                    "displayRole": "Orchestrator",
                    "name": "Lead",
                    "llm_config": {"provider": "ollama", "model": "llama3.1:8b"},
                },
            }
        ],
        "edges": [],
        "entryPoint": "orchestrator",
    }
}


@pytest.mark.parametrize(
    "raw",
    [
        IDE_ORCHESTRATOR_TEMPLATE,
        {"definition": IDE_ORCHESTRATOR_TEMPLATE},
        {"nodes": IDE_ORCHESTRATOR_TEMPLATE["graph"]["nodes"]},
    ],
    ids=["graph", "template", "agent-nodes"],
)
def test_an_ide_orchestrator_workflow_specification_is_named_as_such(raw: dict[str, Any]) -> None:
    assert _invalid(raw).startswith(
        "agent_definition: this is an ide-orchestrator workflow specification "
        "(graph.nodes[].data with llm_config), not an agent_definition"
    )


def test_an_empty_definition_says_what_it_needs() -> None:
    assert _invalid({}).startswith("agent_definition: is empty; it needs nodes[")


def test_a_listed_name_without_a_tool_definition_is_not_offered() -> None:
    # parse_definition warns about such a name (see the unknown-tool warning test).
    raw = _variant()
    raw["nodes"][0]["config"]["tools"] = ["lookup", "missing"]
    definition = AgentDefinition.model_validate(raw)
    assert tool_names_offered(definition.orchestrator, orchestrator=True)[-2:] == [
        "lookup",
        "missing",
    ]
    assert definition.tools_of(definition.orchestrator) == [*BUILTINS, "task", "lookup"]


def test_the_orchestrator_is_offered_task_without_specialists() -> None:
    lone = parse_definition({"nodes": [_node("o", "Orchestrator", "lead")]})
    assert tool_names_offered(lone.orchestrator, orchestrator=True) == [*BUILTINS, "task"]


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
