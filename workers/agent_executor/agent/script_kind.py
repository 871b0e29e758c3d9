"""Telling the two tool-script formats apart without running them.

- A **stdin script** (this worker's format) reads its arguments as JSON on stdin and prints
  its result; it is run as `python -I -c <script>`.
- A **tool module** (deepagents-runtime's format) only defines things: a LangChain tool (a
  `@tool` function or a `BaseTool` instance) or a plain function, which is then called with
  the arguments. deepagents-runtime exec'd the module and took the first `BaseTool` it found.

A script whose top level only defines names (imports, functions, classes, assignments,
docstrings) cannot print a result by itself, so it must be a tool module; any other statement
at the top level (a call, `with`, `if`, `for`, ... including `if __name__ == "__main__":`)
makes it a stdin script. A script that does not parse is left to the interpreter to report.
"""

from __future__ import annotations

import ast
from typing import Literal

ScriptKind = Literal["stdin", "module"]

_DEFINITIONS = (
    ast.Import,
    ast.ImportFrom,
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.Assign,
    ast.AnnAssign,
    ast.Pass,
)
_NAMERS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Assign, ast.AnnAssign)


def _only_defines(body: list[ast.stmt]) -> bool:
    for node in body:
        if isinstance(node, _DEFINITIONS):
            continue
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # a docstring
        if isinstance(node, ast.Try):  # try: import x / except ImportError: ...
            blocks = [node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)]
            if all(_only_defines(block) for block in blocks):
                continue
        return False
    return True


def script_kind(source: str) -> ScriptKind:
    """Whether `source` is a stdin script or a tool module (see the module docstring)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return "stdin"
    names_something = any(isinstance(node, _NAMERS) for node in ast.walk(tree))
    return "module" if names_something and _only_defines(tree.body) else "stdin"
