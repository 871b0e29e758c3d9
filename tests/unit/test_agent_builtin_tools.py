"""The built-ins' schemas: deepagents' names, argument names, types, defaults and required lists.

The expected parameter schemas are deepagents 0.2.7/0.3.0's as sent to the model (notes,
Appendix 2), minus descriptions, which are ours.
"""

from __future__ import annotations

from typing import Any

import pytest

from workers.agent_executor.agent.builtin_tools import BUILTIN_NAMES, BUILTIN_SCHEMAS
from workers.agent_executor.agent.definition import BUILTIN_TOOLS

DEEPAGENTS_PARAMETERS: dict[str, dict[str, Any]] = {
    "write_todos": {
        "properties": {
            "todos": {
                "items": {
                    "properties": {
                        "content": {"type": "string"},
                        "status": {
                            "enum": ["pending", "in_progress", "completed"],
                            "type": "string",
                        },
                    },
                    "required": ["content", "status"],
                    "type": "object",
                },
                "type": "array",
            }
        },
        "required": ["todos"],
        "type": "object",
    },
    "ls": {"properties": {"path": {"type": "string"}}, "required": ["path"], "type": "object"},
    "read_file": {
        "properties": {
            "file_path": {"type": "string"},
            "offset": {"default": 0, "type": "integer"},
            "limit": {"default": 500, "type": "integer"},
        },
        "required": ["file_path"],
        "type": "object",
    },
    "write_file": {
        "properties": {"file_path": {"type": "string"}, "content": {"type": "string"}},
        "required": ["file_path", "content"],
        "type": "object",
    },
    "edit_file": {
        "properties": {
            "file_path": {"type": "string"},
            "old_string": {"type": "string"},
            "new_string": {"type": "string"},
            "replace_all": {"default": False, "type": "boolean"},
        },
        "required": ["file_path", "old_string", "new_string"],
        "type": "object",
    },
    "glob": {
        "properties": {"pattern": {"type": "string"}, "path": {"default": "/", "type": "string"}},
        "required": ["pattern"],
        "type": "object",
    },
    "grep": {
        "properties": {
            "pattern": {"type": "string"},
            "path": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
            "glob": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
            "output_mode": {
                "default": "files_with_matches",
                "enum": ["files_with_matches", "content", "count"],
                "type": "string",
            },
        },
        "required": ["pattern"],
        "type": "object",
    },
}


def _without_descriptions(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_descriptions(v) for k, v in value.items() if k != "description"}
    if isinstance(value, list):
        return [_without_descriptions(v) for v in value]
    return value


def test_the_builtins_are_deepagents_seven_in_its_order() -> None:
    expected = ["write_todos", "ls", "read_file", "write_file", "edit_file", "glob", "grep"]
    assert list(BUILTIN_NAMES) == expected
    assert list(BUILTIN_TOOLS) == expected
    assert list(BUILTIN_SCHEMAS) == expected


@pytest.mark.parametrize("name", BUILTIN_NAMES)
def test_a_builtin_schema_is_deepagents_apart_from_the_descriptions(name: str) -> None:
    schema = BUILTIN_SCHEMAS[name]
    assert schema["type"] == "function"
    assert schema["function"]["name"] == name
    assert schema["function"]["description"].strip()
    assert _without_descriptions(schema["function"]["parameters"]) == DEEPAGENTS_PARAMETERS[name]
