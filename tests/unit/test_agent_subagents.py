"""The task tool's roster: general-purpose first, specialists by config.name, ids accepted."""

from __future__ import annotations

from typing import Any

from workers.agent_executor.agent import prompts, subagents
from workers.agent_executor.agent.definition import parse_definition


def _node(node_id: str, kind: str, name: str, **config: Any) -> dict[str, Any]:
    return {
        "id": node_id,
        "type": kind,
        "config": {
            "name": name,
            "model": {"provider": "openai", "model": "m"},
            "system_prompt": f"You are {name}.",
            **config,
        },
    }


TEAM = parse_definition(
    {
        "tool_definitions": [{"name": "pre_work", "runtime": {"script": "print(1)"}}],
        "nodes": [
            _node("orch", "Orchestrator", "Builder", tools=["pre_work", "write_file"]),
            _node("guardrail-agent", "Specialist", "Guardrail Agent", description="Checks."),
            _node("general-purpose", "Specialist", "Long Prompt", system_prompt="p" * 201),
            _node("short", "Specialist", "Short Prompt", system_prompt="Be brief."),
        ],
    }
)


def test_the_roster_starts_with_general_purpose_then_specialists_by_name() -> None:
    assert [(s.name, s.node.id, s.general_purpose) for s in subagents.roster(TEAM)] == [
        ("general-purpose", "orch", True),
        ("Guardrail Agent", "guardrail-agent", False),
        ("Long Prompt", "general-purpose", False),
        ("Short Prompt", "short", False),
    ]


def test_a_description_falls_back_to_the_prompt_like_deepagents_runtime() -> None:
    descriptions = [s.description for s in subagents.roster(TEAM)]
    assert descriptions[1:] == ["Checks.", "p" * 200 + "...", "Be brief."]


def test_a_subagent_is_found_by_name_then_by_node_id() -> None:
    found = {
        kind: (s.node.id, s.general_purpose) if (s := subagents.find(TEAM, kind)) else None
        for kind in ("Guardrail Agent", "guardrail-agent", "general-purpose", "Nobody")
    }
    assert found == {
        "Guardrail Agent": ("guardrail-agent", False),
        "guardrail-agent": ("guardrail-agent", False),
        # deepagents' general-purpose agent wins over a node that merely has that id.
        "general-purpose": ("orch", True),
        "Nobody": None,
    }


def test_a_specialist_named_general_purpose_takes_its_place() -> None:
    definition = parse_definition(
        {
            "nodes": [
                _node("o", "Orchestrator", "Lead"),
                _node("g", "Specialist", "general-purpose", description="Mine."),
            ]
        }
    )
    assert [(s.name, s.node.id) for s in subagents.roster(definition)] == [("general-purpose", "g")]


def test_general_purpose_gets_the_orchestrators_tools_without_task() -> None:
    assert subagents.general_purpose_tool_names(TEAM) == [
        "write_todos",
        "ls",
        "read_file",
        "write_file",
        "edit_file",
        "glob",
        "grep",
        "pre_work",
    ]


def test_an_unknown_subagent_type_gets_deepagents_text() -> None:
    assert subagents.unknown_subagent("Spec Agent", TEAM) == (
        "We cannot invoke subagent Spec Agent because it does not exist, the only allowed "
        "types are `general-purpose`, `Guardrail Agent`, `Long Prompt`, `Short Prompt`"
    )


def test_task_arguments_are_validated_like_langchain() -> None:
    assert subagents.parse_task({"subagent_type": "x", "description": 3}) == (
        "Error invoking tool 'task' with kwargs {'subagent_type': 'x', 'description': 3} with "
        "error:\n description: Input should be a valid string\n Please fix the error and try again."
    )
    parsed = subagents.parse_task({"subagent_type": "x", "description": "", "extra": 1})
    assert isinstance(parsed, subagents.TaskArgs) and parsed.description == ""


def test_the_orchestrator_prompt_lists_the_roster_after_the_tool_notes() -> None:
    prompt = prompts.orchestrator_prompt("You are ORCH.", [("general-purpose", "Any work.")])
    parts = prompt.split("\n\n")
    assert parts[:2] == ["You are ORCH.", prompts.TOOLS_INTRO]
    assert prompt.index("## `write_todos`") < prompt.index("## Files") < prompt.index("## `task`")
    assert prompt.endswith("Available subagent types:\n- general-purpose: Any work.")


def test_an_empty_prompt_starts_with_the_notes() -> None:
    assert prompts.orchestrator_prompt("", []).startswith(prompts.TOOLS_INTRO)
    assert prompts.subagent_prompt("") == f"{prompts.TODOS_NOTES}\n\n{prompts.FILES_NOTES}"
    assert prompts.subagent_prompt("S") == f"S\n\n{prompts.TODOS_NOTES}\n\n{prompts.FILES_NOTES}"
