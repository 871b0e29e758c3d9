"""The virtual filesystem in graph state and the built-in tools over it.

State holds `files: {path: {"content": [lines], "created_at": iso, "modified_at": iso}}` and
`todos: [{"content", "status"}]`. Every tool is a pure function of the state and its arguments
that returns `(result text for the model, state update)`; the update is `{}` when nothing changed.
Mistakes (a missing file, an ambiguous edit) are reported in the result text, never raised.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal, TypedDict

from pydantic import BaseModel, ConfigDict, Field, ValidationError

DEFAULT_READ_LIMIT = 2000
MAX_LINE_CHARS = 2000


class FileData(TypedDict):
    """One file: its lines (joined with "\\n" they give the content back) and ISO timestamps."""

    content: list[str]
    created_at: str
    modified_at: str


class Todo(TypedDict):
    """One entry of the agent's todo list."""

    content: str
    status: Literal["pending", "in_progress", "completed"]


Files = dict[str, FileData]
ToolOutcome = tuple[str, dict[str, Any]]


def now_iso() -> str:
    """The current UTC time as an ISO 8601 string."""
    return datetime.now(UTC).isoformat()


def file_text(data: FileData) -> str:
    """The content of a file as one string."""
    return "\n".join(data["content"])


def normalize_path(path: str) -> str:
    """An absolute, normalized path; ValueError for empty paths and `..` components."""
    path = path.strip()
    if not path:
        raise ValueError("path must not be empty")
    if ".." in path.replace("\\", "/").split("/"):
        raise ValueError(f"path must not contain '..': {path!r}")
    normalized = posixpath.normpath("/" + path.lstrip("/"))
    if normalized == "/":
        raise ValueError("path must name a file, not '/'")
    return normalized


def _files(state: Mapping[str, Any]) -> Files:
    files: Files | None = state.get("files")
    return files or {}


def _lookup(files: Files, path: str) -> tuple[str, FileData | None]:
    key = normalize_path(path)
    return key, files.get(key)


def write_todos(state: Mapping[str, Any], todos: list[Todo]) -> ToolOutcome:
    """Replace the todo list."""
    new = [Todo(content=t["content"], status=t["status"]) for t in todos]
    return f"Updated todo list to {json.dumps(new)}", {"todos": new}


def ls(state: Mapping[str, Any]) -> ToolOutcome:
    """The paths of all files, one per line."""
    paths = sorted(_files(state))
    return ("\n".join(paths) if paths else "No files found"), {}


def read_file(
    state: Mapping[str, Any], path: str, offset: int = 0, limit: int = DEFAULT_READ_LIMIT
) -> ToolOutcome:
    """Lines `offset`..`offset+limit` numbered from 1 like `cat -n`."""
    try:
        key, data = _lookup(_files(state), path)
    except ValueError as exc:
        return f"Error: {exc}", {}
    if data is None:
        return f"Error: File '{key}' not found", {}
    lines = data["content"]
    if lines == [""] or not lines:
        return "System reminder: File exists but has empty contents", {}
    if offset < 0 or limit < 1:
        return "Error: offset must be >= 0 and limit >= 1", {}
    if offset >= len(lines):
        return f"Error: Line offset {offset} exceeds file length ({len(lines)} lines)", {}
    out = []
    for number, line in enumerate(lines[offset : offset + limit], start=offset + 1):
        out.append(f"{number:6d}\t{line[:MAX_LINE_CHARS]}")
    return "\n".join(out), {}


def write_file(state: Mapping[str, Any], path: str, content: str) -> ToolOutcome:
    """Create or overwrite a file."""
    files = _files(state)
    try:
        key, existing = _lookup(files, path)
    except ValueError as exc:
        return f"Error: {exc}", {}
    stamp = now_iso()
    data = FileData(
        content=content.split("\n"),
        created_at=existing["created_at"] if existing else stamp,
        modified_at=stamp,
    )
    verb = "Updated" if existing else "Created"
    return f"{verb} file {key}", {"files": {**files, key: data}}


def edit_file(
    state: Mapping[str, Any],
    path: str,
    old_string: str,
    new_string: str,
    replace_all: bool = False,
) -> ToolOutcome:
    """Replace `old_string` (exactly once, or every occurrence with `replace_all`)."""
    files = _files(state)
    try:
        key, existing = _lookup(files, path)
    except ValueError as exc:
        return f"Error: {exc}", {}
    if existing is None:
        return f"Error: File '{key}' not found", {}
    if not old_string:
        return "Error: old_string must not be empty", {}
    if old_string == new_string:
        return "Error: old_string and new_string are identical; nothing to change", {}
    text = file_text(existing)
    count = text.count(old_string)
    if count == 0:
        return f"Error: String not found in file '{key}': {old_string!r}", {}
    if count > 1 and not replace_all:
        return (
            f"Error: String {old_string!r} appears {count} times in file '{key}'. "
            "Use replace_all=true to replace every occurrence, or give a longer, unique "
            "old_string with more surrounding context.",
            {},
        )
    text = (
        text.replace(old_string, new_string)
        if replace_all
        else text.replace(old_string, new_string, 1)
    )
    data = FileData(
        content=text.split("\n"), created_at=existing["created_at"], modified_at=now_iso()
    )
    replaced = count if replace_all else 1
    return (
        f"Successfully replaced {replaced} instance(s) of the string in '{key}'",
        {"files": {**files, key: data}},
    )


# --- argument models: what the model sends, validated before a tool runs -----------------------


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _TodoArg(_Args):
    content: str
    status: Literal["pending", "in_progress", "completed"]


class _WriteTodosArgs(_Args):
    todos: list[_TodoArg]


class _LsArgs(_Args):
    pass


class _ReadFileArgs(_Args):
    path: str
    offset: int = Field(default=0, ge=0)
    limit: int = Field(default=DEFAULT_READ_LIMIT, ge=1)


class _WriteFileArgs(_Args):
    path: str
    content: str


class _EditFileArgs(_Args):
    path: str
    old_string: str
    new_string: str
    replace_all: bool = False


def _run_write_todos(state: Mapping[str, Any], a: BaseModel) -> ToolOutcome:
    assert isinstance(a, _WriteTodosArgs)
    return write_todos(state, [Todo(content=t.content, status=t.status) for t in a.todos])


def _run_ls(state: Mapping[str, Any], a: BaseModel) -> ToolOutcome:
    return ls(state)


def _run_read_file(state: Mapping[str, Any], a: BaseModel) -> ToolOutcome:
    assert isinstance(a, _ReadFileArgs)
    return read_file(state, a.path, a.offset, a.limit)


def _run_write_file(state: Mapping[str, Any], a: BaseModel) -> ToolOutcome:
    assert isinstance(a, _WriteFileArgs)
    return write_file(state, a.path, a.content)


def _run_edit_file(state: Mapping[str, Any], a: BaseModel) -> ToolOutcome:
    assert isinstance(a, _EditFileArgs)
    return edit_file(state, a.path, a.old_string, a.new_string, a.replace_all)


_BUILTINS: dict[str, tuple[type[BaseModel], Callable[[Mapping[str, Any], BaseModel], ToolOutcome]]]
_BUILTINS = {
    "write_todos": (_WriteTodosArgs, _run_write_todos),
    "ls": (_LsArgs, _run_ls),
    "read_file": (_ReadFileArgs, _run_read_file),
    "write_file": (_WriteFileArgs, _run_write_file),
    "edit_file": (_EditFileArgs, _run_edit_file),
}


def run_builtin(name: str, state: Mapping[str, Any], args: Mapping[str, Any]) -> ToolOutcome:
    """Validate `args` and run the built-in tool `name`; bad arguments give error text."""
    if name not in _BUILTINS:
        return f"Error: unknown built-in tool '{name}'", {}
    model, run = _BUILTINS[name]
    try:
        parsed = model.model_validate(dict(args))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}" for e in exc.errors()
        )
        return f"Error: invalid arguments for {name}: {problems}", {}
    return run(state, parsed)


def _tool(name: str, description: str, properties: dict[str, Any], required: list[str]) -> Any:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {
                "type": "object",
                "properties": properties,
                "required": required,
                "additionalProperties": False,
            },
        },
    }


BUILTIN_TOOL_SCHEMAS: dict[str, dict[str, Any]] = {
    "write_todos": _tool(
        "write_todos",
        "Replace your todo list. Use it to plan multi-step work and to track progress.",
        {
            "todos": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "content": {"type": "string"},
                        "status": {
                            "type": "string",
                            "enum": ["pending", "in_progress", "completed"],
                        },
                    },
                    "required": ["content", "status"],
                    "additionalProperties": False,
                },
            }
        },
        ["todos"],
    ),
    "ls": _tool("ls", "List the paths of all files in the virtual filesystem.", {}, []),
    "read_file": _tool(
        "read_file",
        "Read a file. Lines are numbered from 1; use offset (0-based line) and limit to page.",
        {
            "path": {"type": "string", "description": "Absolute path, e.g. /notes.md"},
            "offset": {"type": "integer", "minimum": 0, "default": 0},
            "limit": {"type": "integer", "minimum": 1, "default": DEFAULT_READ_LIMIT},
        },
        ["path"],
    ),
    "write_file": _tool(
        "write_file",
        "Create a file, or overwrite it, with the given content.",
        {
            "path": {"type": "string", "description": "Absolute path, e.g. /report.md"},
            "content": {"type": "string"},
        },
        ["path", "content"],
    ),
    "edit_file": _tool(
        "edit_file",
        "Replace old_string with new_string in a file. old_string must occur exactly once "
        "unless replace_all is true.",
        {
            "path": {"type": "string"},
            "old_string": {"type": "string"},
            "new_string": {"type": "string"},
            "replace_all": {"type": "boolean", "default": False},
        },
        ["path", "old_string", "new_string"],
    ),
}
