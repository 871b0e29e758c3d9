"""Runs inside the sandbox, as `python -I -c <this file>`: checks a tool's dependencies, runs it.

Its stdin is a request: a 12-digit length, a newline, that many bytes of JSON header
`{"mode", "name", "source", "dependencies"}`, then the arguments as JSON.

- `mode: "stdin"`: the script reads the arguments from stdin itself, so the driver replaces
  itself with `python -I -c <source>`, stdin positioned at the arguments.
- `mode: "module"`: the source is a tool module; the driver executes it as a module, picks the
  tool (`find_tool`), calls it with the arguments and prints the result as a LangGraph
  ToolNode would show it (strings as they are, anything else as JSON).

It imports only the standard library, and `langchain_core` when it is installed. Nothing is
installed at run time: a dependency that is not importable fails the call with its name.
"""

from __future__ import annotations

import asyncio
import builtins
import importlib.metadata
import importlib.util
import inspect
import json
import os
import re
import sys
import types
from collections.abc import Iterable, Mapping
from typing import Any

HEADER_DIGITS = 12
MODULE_NAME = "tool_module"
EXIT_FAILED = 1
EXIT_MISSING_DEPENDENCIES = 3
EXIT_NO_TOOL = 4


class NoToolError(Exception):
    """The module defines nothing the driver could call as the tool."""


def _base_tool() -> type | None:
    try:
        from langchain_core.tools import BaseTool
    except ImportError:
        return None
    return BaseTool


def _read_exactly(fd: int, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = os.read(fd, size - len(data))
        if not chunk:
            raise EOFError("the tool request is incomplete")
        data += chunk
    return data


def read_header(fd: int = 0) -> dict[str, Any]:
    """The request header; leaves `fd` at the arguments."""
    size = int(_read_exactly(fd, HEADER_DIGITS + 1))
    header: dict[str, Any] = json.loads(_read_exactly(fd, size))
    return header


def encode_request(header: Mapping[str, Any], args: Mapping[str, Any]) -> bytes:
    """What the worker writes to the driver's stdin."""
    head = json.dumps(dict(header)).encode()
    return f"{len(head):0{HEADER_DIGITS}d}\n".encode() + head + json.dumps(dict(args)).encode()


def distribution_name(requirement: str) -> str:
    """`requests[socks]>=2.31; python_version>'3'` -> `requests`."""
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    return match.group(1) if match else requirement.strip()


def is_installed(name: str) -> bool:
    """Whether `name` is an installed distribution or an importable top-level module."""
    try:
        importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        pass
    else:
        return True
    module = name.replace("-", "_")
    if not module.isidentifier():
        return False
    return importlib.util.find_spec(module) is not None


def missing_dependencies(requirements: Iterable[str]) -> list[str]:
    """The requirements whose distribution is not installed, as given."""
    return [r for r in requirements if not is_installed(distribution_name(r))]


def find_tool(namespace: Mapping[str, Any], name: str, base_tool: type | None) -> Any:
    """The object to call in an executed tool module.

    In order: the LangChain tool whose `.name` is the tool's name; else the first LangChain
    tool (deepagents-runtime's rule); else the module's function called like the tool; else
    its only public function. NoToolError says what was found instead.
    """
    tools = [v for v in namespace.values() if base_tool is not None and isinstance(v, base_tool)]
    for tool in tools:
        if getattr(tool, "name", None) == name:
            return tool
    if tools:
        return tools[0]
    functions = {
        key: value
        for key, value in namespace.items()
        if inspect.isfunction(value)
        and value.__module__ == namespace.get("__name__")
        and not key.startswith("_")
    }
    if name in functions:
        return functions[name]
    if len(functions) == 1:
        return next(iter(functions.values()))
    found = f"functions {', '.join(sorted(functions))}" if functions else "nothing callable"
    raise NoToolError(
        f"the tool module for '{name}' defines no LangChain tool (a @tool function or a "
        f"BaseTool instance) and no single function to call (found {found}); name the "
        f"function '{name}'"
    )


def call_tool(tool: Any, args: dict[str, Any], base_tool: type | None) -> Any:
    """Call a LangChain tool with `.invoke(args)` (async-only ones with `.ainvoke`), a
    function with `**args`."""
    if base_tool is not None and isinstance(tool, base_tool):
        runnable: Any = tool  # BaseTool, typed loosely: langchain_core may be absent
        if getattr(tool, "func", None) is None and getattr(tool, "coroutine", None) is not None:
            return asyncio.run(runnable.ainvoke(args))
        return runnable.invoke(args)
    result = tool(**args)
    if inspect.isawaitable(result):
        return asyncio.run(_awaited(result))
    return result


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


def render(result: Any) -> str:
    """A tool result as the model sees it: strings as they are, anything else as JSON."""
    if isinstance(result, str):
        return result
    try:
        return json.dumps(result, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(result)


def run_module(header: Mapping[str, Any], args: dict[str, Any]) -> str:
    """Execute the tool module, find its tool, call it; the rendered result."""
    base_tool = _base_tool()
    module = types.ModuleType(MODULE_NAME)
    module.__dict__["__builtins__"] = builtins
    if base_tool is not None:
        # deepagents-runtime put BaseTool in the namespace; its scripts may rely on that.
        module.__dict__["BaseTool"] = base_tool
    # Registered so pydantic and typing can resolve the module's annotations by name.
    sys.modules[MODULE_NAME] = module
    code = compile(str(header["source"]), f"<tool {header['name']}>", "exec")
    exec(code, module.__dict__)  # noqa: S102 - the sandboxed tool module itself
    tool = find_tool(module.__dict__, str(header["name"]), base_tool)
    return render(call_tool(tool, args, base_tool))


def main() -> int:
    """Serve the one request on stdin."""
    header = read_header()
    missing = missing_dependencies(header.get("dependencies") or [])
    if missing:
        sys.stderr.write(
            f"tool '{header['name']}' needs packages this worker does not have: "
            f"{', '.join(missing)} (nothing is installed at run time; add them to the worker "
            "image)\n"
        )
        return EXIT_MISSING_DEPENDENCIES
    if header["mode"] == "stdin":
        # Become the script, stdin left at the arguments.
        os.execv(sys.executable, [sys.executable, "-I", "-c", str(header["source"])])  # noqa: S606
    args = json.loads(sys.stdin.buffer.read() or b"{}")
    try:
        text = run_module(header, args)
    except NoToolError as exc:
        sys.stderr.write(f"{exc}\n")
        return EXIT_NO_TOOL
    sys.stdout.write(text)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
