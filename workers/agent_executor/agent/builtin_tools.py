"""deepagents' built-in tools as the model sees and calls them: schemas, arguments, dispatch.

Every agent gets these without listing them, as under deepagents. The names, argument names,
types, defaults and required lists are deepagents' (0.2.7-0.3.0, notes A.3-A.8, Appendix 2) and
must stay so: prompts written for deepagents call `write_file(file_path=..., content=...)`.
The descriptions are ours. `task` is not here: it depends on the definition (see `subagents`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

from workers.agent_executor.agent import files, search
from workers.agent_executor.agent.files import DEFAULT_READ_LIMIT, Todo, ToolOutcome
from workers.agent_executor.agent.tool_protocol import ToolArgs, parse_args

# The order deepagents offered them in (the task tool and custom tools come after).
BUILTIN_NAMES: tuple[str, ...] = (
    "write_todos",
    "ls",
    "read_file",
    "write_file",
    "edit_file",
    "glob",
    "grep",
)


class _Todo(ToolArgs):
    content: str
    status: Literal["pending", "in_progress", "completed"]


class _WriteTodos(ToolArgs):
    todos: list[_Todo]


class _Ls(ToolArgs):
    path: str


class _ReadFile(ToolArgs):
    file_path: str
    offset: int = 0
    limit: int = DEFAULT_READ_LIMIT


class _WriteFile(ToolArgs):
    file_path: str
    content: str


class _EditFile(ToolArgs):
    file_path: str
    old_string: str
    new_string: str
    replace_all: bool = False


class _Glob(ToolArgs):
    pattern: str
    path: str = "/"


class _Grep(ToolArgs):
    pattern: str
    path: str | None = None
    glob: str | None = None
    output_mode: search.GrepMode = "files_with_matches"


State = Mapping[str, Any]
_Runner = Callable[[State, Mapping[str, Any]], ToolOutcome]


def _write_todos(state: State, args: Mapping[str, Any]) -> ToolOutcome:
    parsed = parse_args(_WriteTodos, "write_todos", args)
    if isinstance(parsed, str):
        return parsed, {}
    todos = [Todo(content=t.content, status=t.status) for t in parsed.todos]
    return files.write_todos(state, todos)


def _ls(state: State, args: Mapping[str, Any]) -> ToolOutcome:
    parsed = parse_args(_Ls, "ls", args)
    if isinstance(parsed, str):
        return parsed, {}
    return files.ls(state, parsed.path)


def _read_file(state: State, args: Mapping[str, Any]) -> ToolOutcome:
    parsed = parse_args(_ReadFile, "read_file", args)
    if isinstance(parsed, str):
        return parsed, {}
    return files.read_file(state, parsed.file_path, parsed.offset, parsed.limit)


def _write_file(state: State, args: Mapping[str, Any]) -> ToolOutcome:
    parsed = parse_args(_WriteFile, "write_file", args)
    if isinstance(parsed, str):
        return parsed, {}
    return files.write_file(state, parsed.file_path, parsed.content)


def _edit_file(state: State, args: Mapping[str, Any]) -> ToolOutcome:
    parsed = parse_args(_EditFile, "edit_file", args)
    if isinstance(parsed, str):
        return parsed, {}
    return files.edit_file(
        state, parsed.file_path, parsed.old_string, parsed.new_string, parsed.replace_all
    )


def _glob(state: State, args: Mapping[str, Any]) -> ToolOutcome:
    parsed = parse_args(_Glob, "glob", args)
    if isinstance(parsed, str):
        return parsed, {}
    return search.glob(state, parsed.pattern, parsed.path)


def _grep(state: State, args: Mapping[str, Any]) -> ToolOutcome:
    parsed = parse_args(_Grep, "grep", args)
    if isinstance(parsed, str):
        return parsed, {}
    return search.grep(state, parsed.pattern, parsed.path, parsed.glob, parsed.output_mode)


_RUNNERS: dict[str, _Runner] = {
    "write_todos": _write_todos,
    "ls": _ls,
    "read_file": _read_file,
    "write_file": _write_file,
    "edit_file": _edit_file,
    "glob": _glob,
    "grep": _grep,
}


def run_builtin(name: str, state: State, args: Mapping[str, Any]) -> ToolOutcome:
    """Validate `args` and run the built-in tool `name` (one of BUILTIN_NAMES)."""
    return _RUNNERS[name](state, args)


# --- what the model is offered -------------------------------------------------------------------


def _schema(name: str, description: str, properties: dict[str, Any], required: list[str]) -> Any:
    # No additionalProperties: deepagents' schemas had none, and extra arguments are ignored.
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {"type": "object", "properties": properties, "required": required},
        },
    }


_STRING = {"type": "string"}
_OPTIONAL_STRING = {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None}

BUILTIN_SCHEMAS: dict[str, dict[str, Any]] = {
    "write_todos": _schema(
        "write_todos",
        "Write your todo list for the current objective; each call replaces the whole list.\n\n"
        "Use it for work of three or more steps, or when the user asks for a plan; skip it "
        "for simple requests. Mark the item you start in_progress, and mark each item "
        "completed as soon as it is really done (not when blocked or partial). Add items you "
        "discover and drop ones that no longer matter. Call it at most once per turn.",
        {
            "todos": {
                "type": "array",
                "items": {
                    "type": "object",
                    "description": "One todo: what to do and where it stands.",
                    "properties": {
                        "content": _STRING,
                        "status": {
                            "type": "string",
                            "enum": ["pending", "in_progress", "completed"],
                        },
                    },
                    "required": ["content", "status"],
                },
            }
        },
        ["todos"],
    ),
    "ls": _schema(
        "ls",
        "List one directory of the filesystem: its files and its subdirectories (ending in /).\n"
        "path must be absolute, e.g. / or /docs. Look here before reading or editing files.",
        {"path": _STRING},
        ["path"],
    ),
    "read_file": _schema(
        "read_file",
        "Read a file. Lines come numbered like `cat -n` (a number, a tab, then the line).\n"
        f"file_path must be absolute. Up to limit lines ({DEFAULT_READ_LIMIT} by default) "
        "are returned from line offset (0-based); page through big files with offset and "
        "limit. A missing file gives an error; an empty file gives a reminder instead of "
        "content. Read a file before you edit it.",
        {
            "file_path": _STRING,
            "offset": {"type": "integer", "default": 0},
            "limit": {"type": "integer", "default": DEFAULT_READ_LIMIT},
        },
        ["file_path"],
    ),
    "write_file": _schema(
        "write_file",
        "Create a new file holding content. file_path must be absolute. An existing file is "
        "not overwritten: change it with edit_file instead.",
        {"file_path": _STRING, "content": _STRING},
        ["file_path", "content"],
    ),
    "edit_file": _schema(
        "edit_file",
        "Replace old_string with new_string in a file (exact text, not a pattern).\n"
        "old_string must occur exactly once unless replace_all is true; add surrounding "
        "lines to make it unique. Copy text from read_file without the line-number prefix "
        "(everything up to and including the tab), keeping indentation as it is.",
        {
            "file_path": _STRING,
            "old_string": _STRING,
            "new_string": _STRING,
            "replace_all": {"type": "boolean", "default": False},
        },
        ["file_path", "old_string", "new_string"],
    ),
    "glob": _schema(
        "glob",
        "Find files whose path matches a glob pattern, newest first. `*` and `?` stay within "
        "one directory, `**` spans directories, `{a,b}` gives alternatives: `**/*.md` finds "
        "every Markdown file, `*.txt` the text files directly under path (default /).",
        {"pattern": _STRING, "path": {"type": "string", "default": "/"}},
        ["pattern"],
    ),
    "grep": _schema(
        "grep",
        "Search file contents for a text (matched literally, not as a regex).\n"
        "path limits the search to a directory; glob filters file names (e.g. *.md). "
        "output_mode: files_with_matches (default) lists the files, content shows each "
        "matching line with its number, count gives the matches per file.",
        {
            "pattern": _STRING,
            "path": _OPTIONAL_STRING,
            "glob": _OPTIONAL_STRING,
            "output_mode": {
                "type": "string",
                "enum": ["files_with_matches", "content", "count"],
                "default": "files_with_matches",
            },
        },
        ["pattern"],
    ),
}
