"""Tool modules (deepagents-runtime's tool scripts): recognised, run in the sandbox, checked."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain_core.tools import BaseTool, tool

from workers.agent_executor.agent.definition import parse_definition
from workers.agent_executor.agent.ports import ToolScriptError
from workers.agent_executor.agent.script_kind import ScriptKind, script_kind
from workers.agent_executor.agent.scripts import run_script
from workers.agent_executor.agent.tool_driver import (
    NoToolError,
    distribution_name,
    find_tool,
    render,
)

AT_TOOL = '''
from langchain_core.tools import tool

@tool
def add(x: int, y: int) -> int:
    """Add two integers."""
    return x + y
'''

# deepagents-runtime put BaseTool in the namespace it exec'd scripts in, so this ran there.
BASE_TOOL_INSTANCE = """
class Shout(BaseTool):
    name: str = "shout"
    description: str = "Upper-cases text."

    def _run(self, text: str) -> str:
        return text.upper()

shout_tool = Shout()
"""


@pytest.mark.parametrize(
    ("source", "kind"),
    [
        ("import json, sys\nargs = json.load(sys.stdin)\nprint(args['x'])", "stdin"),
        (AT_TOOL, "module"),
        (BASE_TOOL_INSTANCE, "module"),
        ("from somewhere import Search\nsearch_tool = Search(max_results=5)", "module"),
        ("def add(x, y):\n    return x + y", "module"),
        (
            '"""Adds."""\ntry:\n    import numpy\nexcept ImportError:\n    numpy = None\n'
            "def add(x, y):\n    return x + y",
            "module",
        ),
        ("def main():\n    print(1)\n\nif __name__ == '__main__':\n    main()", "stdin"),
        ("def add(x, y):\n    return x + y\nprint(add(1, 2))", "stdin"),
        ("import json, sys", "stdin"),
        ("def broken(:\n", "stdin"),
    ],
    ids=[
        "reads-stdin-and-prints",
        "at-tool-function",
        "base-tool-instance",
        "imported-tool-instance",
        "plain-function",
        "docstring-and-optional-import",
        "main-guard",
        "definition-then-a-call",
        "imports-only",
        "syntax-error",
    ],
)
def test_the_script_format_is_read_from_its_top_level(source: str, kind: ScriptKind) -> None:
    assert script_kind(source) == kind


@tool
def _lookup(query: str) -> str:
    """Look something up."""
    return query


@tool
def _other(query: str) -> str:
    """Something else."""
    return query


def _plain(x: int) -> int:
    return x


def _helper(x: int) -> int:
    return x


_plain.__module__ = _helper.__module__ = "tool_module"


@pytest.mark.parametrize(
    ("namespace", "name", "chosen"),
    [
        ({"a": _other, "b": _lookup}, "_lookup", "b"),
        ({"a": _other, "b": _lookup}, "missing", "a"),
        ({"a": _plain, "b": _other}, "a", "b"),
        ({"a": _plain, "b": _helper}, "b", "b"),
        ({"only": _plain}, "whatever", "only"),
    ],
    ids=[
        "the-tool-named-like-the-definition",
        "else-the-first-tool",
        "a-tool-before-a-function",
        "the-function-named-like-the-definition",
        "else-the-only-function",
    ],
)
def test_which_object_of_a_module_is_the_tool(
    namespace: dict[str, Any], name: str, chosen: str
) -> None:
    found = find_tool({"__name__": "tool_module", **namespace}, name, BaseTool)
    assert found is namespace[chosen]


@pytest.mark.parametrize(
    "namespace",
    [{}, {"a": _plain, "b": _helper}, {"_private": _plain}, {"imported": len}],
    ids=["empty", "two-functions-none-named", "private-only", "imported-builtin"],
)
def test_a_module_without_a_clear_tool_is_refused_with_what_it_has(
    namespace: dict[str, Any],
) -> None:
    with pytest.raises(NoToolError, match=r"defines no LangChain tool .* name the function 'x'"):
        find_tool({"__name__": "tool_module", **namespace}, "x", BaseTool)


@pytest.mark.parametrize(
    ("requirement", "name"),
    [
        ("requests", "requests"),
        ("requests>=2.31", "requests"),
        ("requests[socks] >= 2; python_version > '3'", "requests"),
        ("langchain-community==0.3.1", "langchain-community"),
        ("  zope.interface ", "zope.interface"),
    ],
)
def test_a_dependency_is_checked_by_its_distribution_name(requirement: str, name: str) -> None:
    assert distribution_name(requirement) == name


@pytest.mark.parametrize(
    ("result", "text"),
    [("plain", "plain"), ({"a": "é"}, '{"a": "é"}'), ([1, 2], "[1, 2]"), (None, "null")],
)
def test_a_result_is_shown_as_a_tool_node_shows_it(result: object, text: str) -> None:
    assert render(result) == text


def _run(script: str, args: dict[str, Any], name: str, deps: tuple[str, ...] = ()) -> str:
    return asyncio.run(run_script(script, args, 30, name=name, dependencies=deps))


def test_an_at_tool_module_is_invoked_with_the_arguments() -> None:
    assert _run(AT_TOOL, {"x": 2, "y": 40}, "add") == "42"


def test_a_base_tool_instance_runs_as_it_did_in_deepagents_runtime() -> None:
    assert _run(BASE_TOOL_INSTANCE, {"text": "hi"}, "shout") == "HI"


def test_a_plain_async_function_is_awaited_and_its_result_shown_as_json() -> None:
    script = "async def stats(values):\n    return {'n': len(values), 'sum': sum(values)}\n"
    assert _run(script, {"values": [1, 2, 3]}, "stats") == '{"n": 3, "sum": 6}'


def test_missing_dependencies_are_named_and_nothing_is_installed() -> None:
    deps = ("pydantic>=2", "surely-not-installed-pkg==1.0", "another_missing_one")
    with pytest.raises(
        ToolScriptError,
        match=r"status 3: tool 'add' needs packages this worker does not have: "
        r"surely-not-installed-pkg==1\.0, another_missing_one \(nothing is installed",
    ):
        _run(AT_TOOL, {"x": 1, "y": 1}, "add", deps)


def test_installed_dependencies_let_a_stdin_script_run() -> None:
    script = "import json, sys\nprint(json.load(sys.stdin)['x'] * 2)"
    assert _run(script, {"x": 21}, "double", ("langchain-core", "pydantic>=2")) == "42"


def test_a_tool_that_raises_fails_with_its_traceback() -> None:
    script = "def boom():\n    raise ValueError('no such city')\n"
    with pytest.raises(ToolScriptError, match=r"(?s)status 1: .*ValueError: no such city"):
        _run(script, {}, "boom")


def test_a_tool_definition_may_list_dependencies() -> None:
    raw = {
        "tool_definitions": [
            {"name": "add", "runtime": {"script": AT_TOOL, "dependencies": ["langchain-core"]}}
        ],
        "nodes": [
            {
                "id": "lead",
                "type": "Orchestrator",
                "config": {"name": "lead", "model": {"provider": "openai", "model": "m"}},
            }
        ],
    }
    tool_definition = parse_definition(raw).tool_definitions[0]
    assert tool_definition.runtime.dependencies == ["langchain-core"]
