"""The virtual filesystem in graph state, and deepagents' file and todo tools over it.

State holds `files: {path: {"content": [lines], "created_at": iso, "modified_at": iso}}` and
`todos: [{"content", "status"}]`, the shapes deepagents (0.2.7-0.3.x) kept. Every tool is a pure
function of the state and its arguments that returns `(result text for the model, state update)`;
the update is `{}` when nothing changed. The result texts are deepagents' own, word for word:
agents written for deepagents read them (DESIGN section 6, "Real agents"). Mistakes (a missing
file, an ambiguous edit, a path with `..`) are reported in the result text, never raised.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal, TypedDict

DEFAULT_READ_LIMIT = 500
# Longer lines are shown in numbered chunks ("5", "5.1", ...) rather than cut.
MAX_LINE_LENGTH = 10_000
LINE_NUMBER_WIDTH = 6
# deepagents' bound on list and search results: about 20000 tokens at 4 characters each.
RESULT_CHAR_LIMIT = 4 * 20_000
TRUNCATION_NOTE = "... [results truncated, try being more specific with your parameters]"
EMPTY_FILE_REMINDER = "System reminder: File exists but has empty contents"

TodoStatus = Literal["pending", "in_progress", "completed"]


class FileData(TypedDict):
    """One file: its lines (joined with "\\n" they give the content back) and ISO timestamps."""

    content: list[str]
    created_at: str
    modified_at: str


class Todo(TypedDict):
    """One entry of the agent's todo list."""

    content: str
    status: TodoStatus


Files = dict[str, FileData]
ToolOutcome = tuple[str, dict[str, Any]]


def now_iso() -> str:
    """The current UTC time as an ISO 8601 string."""
    return datetime.now(UTC).isoformat()


def file_text(data: FileData) -> str:
    """The content of a file as one string."""
    return "\n".join(data["content"])


def new_file(content: str, created_at: str | None = None) -> FileData:
    """A file holding `content`; `created_at` is kept when an existing file changes."""
    stamp = now_iso()
    return FileData(content=content.split("\n"), created_at=created_at or stamp, modified_at=stamp)


def normalize_path(path: str) -> str:
    """An absolute, normalized path for a seeded file; ValueError for empty paths and `..`.

    Used for `input_payload.files`, where a bad path is the caller's mistake, not the model's.
    """
    path = path.strip()
    if not path:
        raise ValueError("path must not be empty")
    if ".." in path.replace("\\", "/").split("/"):
        raise ValueError(f"path must not contain '..': {path!r}")
    normalized = posixpath.normpath("/" + path.lstrip("/"))
    if normalized == "/":
        raise ValueError("path must name a file, not '/'")
    return normalized


class PathRefusedError(ValueError):
    """A path the file tools refuse; its message is what the model is told after `Error: `."""


def virtual_path(path: str) -> str:
    """A tool's path argument as deepagents normalized it: `/`-prefixed, normpath, `/` separators.

    `..` anywhere and a leading `~` are refused, as are Windows drive paths. deepagents up to
    0.3.9 let that ValueError abort the whole run; we answer it as a tool result, as 0.3.10 does.
    """
    if ".." in path or path.startswith("~"):
        raise PathRefusedError(f"Path traversal not allowed: {path}")
    if re.match(r"^[a-zA-Z]:", path):
        raise PathRefusedError(
            f"Windows absolute paths are not supported: {path}. Please use virtual paths "
            "starting with / (e.g., /workspace/file.txt)"
        )
    # POSIX normpath keeps a leading "//" (so "//a" is not "/a"), exactly as deepagents did.
    normalized = posixpath.normpath(path).replace("\\", "/")
    return normalized if normalized.startswith("/") else "/" + normalized


def bounded_list(items: Sequence[str]) -> str:
    """A list result as deepagents 0.3.0 rendered it: Python's repr, cut near RESULT_CHAR_LIMIT."""
    total = sum(len(item) for item in items)
    shown = list(items)
    if total > RESULT_CHAR_LIMIT:
        shown = [*shown[: len(shown) * RESULT_CHAR_LIMIT // total], TRUNCATION_NOTE]
    return str(shown)


def bounded_text(text: str) -> str:
    """A text result cut at RESULT_CHAR_LIMIT characters, with deepagents' note appended."""
    if len(text) > RESULT_CHAR_LIMIT:
        return text[:RESULT_CHAR_LIMIT] + "\n" + TRUNCATION_NOTE
    return text


def state_files(state: Mapping[str, Any]) -> Files:
    """The files in `state` (none yet: an empty dict)."""
    files: Files | None = state.get("files")
    return files or {}


def ls(state: Mapping[str, Any], path: str) -> ToolOutcome:
    """The direct children of directory `path`, sorted; subdirectories end with `/`."""
    try:
        directory = virtual_path(path)
    except PathRefusedError as exc:
        return f"Error: {exc}", {}
    prefix = directory if directory.endswith("/") else directory + "/"
    entries: set[str] = set()
    for key in state_files(state):
        if key.startswith(prefix):
            rest = key[len(prefix) :]
            entries.add(prefix + rest.split("/")[0] + "/" if "/" in rest else key)
    return bounded_list(sorted(entries)), {}


def _numbered(lines: Sequence[str], first: int) -> str:
    """`cat -n` rows from line number `first`; over-long lines continue as `n.1`, `n.2`, ..."""
    rows: list[str] = []
    for number, line in enumerate(lines, start=first):
        chunks = [line[i : i + MAX_LINE_LENGTH] for i in range(0, len(line), MAX_LINE_LENGTH)]
        rows.append(f"{number:{LINE_NUMBER_WIDTH}d}\t{chunks[0] if chunks else ''}")
        for k, chunk in enumerate(chunks[1:], start=1):
            rows.append(f"{f'{number}.{k}':>{LINE_NUMBER_WIDTH}}\t{chunk}")
    return "\n".join(rows)


def read_file(
    state: Mapping[str, Any], file_path: str, offset: int = 0, limit: int = DEFAULT_READ_LIMIT
) -> ToolOutcome:
    """Lines `offset`..`offset+limit` numbered from `offset+1` like `cat -n`."""
    try:
        key = virtual_path(file_path)
    except PathRefusedError as exc:
        return f"Error: {exc}", {}
    data = state_files(state).get(key)
    if data is None:
        return f"Error: File '{key}' not found", {}
    text = file_text(data)
    if not text.strip():
        return EMPTY_FILE_REMINDER, {}
    lines = text.splitlines()
    # The same slice arithmetic as deepagents, odd offsets and limits included.
    end = min(offset + limit, len(lines))
    if offset >= len(lines):
        return f"Error: Line offset {offset} exceeds file length ({len(lines)} lines)", {}
    return _numbered(lines[offset:end], offset + 1), {}


def write_file(state: Mapping[str, Any], file_path: str, content: str) -> ToolOutcome:
    """Create a new file; an existing one is refused (deepagents: edit it instead)."""
    try:
        key = virtual_path(file_path)
    except PathRefusedError as exc:
        return f"Error: {exc}", {}
    files = state_files(state)
    if key in files:
        return (
            f"Cannot write to {key} because it already exists. "
            "Read and then make an edit, or write to a new path."
        ), {}
    return f"Updated file {key}", {"files": {**files, key: new_file(content)}}


def edit_file(
    state: Mapping[str, Any],
    file_path: str,
    old_string: str,
    new_string: str,
    replace_all: bool = False,
) -> ToolOutcome:
    """Replace `old_string` by `new_string`: it must occur once unless `replace_all`."""
    try:
        key = virtual_path(file_path)
    except PathRefusedError as exc:
        return f"Error: {exc}", {}
    files = state_files(state)
    existing = files.get(key)
    if existing is None:
        return f"Error: File '{key}' not found", {}
    text = file_text(existing)
    count = text.count(old_string)
    if count == 0:
        return f"Error: String not found in file: '{old_string}'", {}
    if count > 1 and not replace_all:
        return (
            f"Error: String '{old_string}' appears {count} times in file. Use replace_all=True "
            "to replace all instances, or provide a more specific string with surrounding "
            "context."
        ), {}
    edited = new_file(text.replace(old_string, new_string), existing["created_at"])
    return (
        f"Successfully replaced {count} instance(s) of the string in '{key}'",
        {"files": {**files, key: edited}},
    )


def write_todos(state: Mapping[str, Any], todos: Sequence[Todo]) -> ToolOutcome:
    """Replace the todo list; the result shows the new list as Python's repr, as langchain did."""
    new = [Todo(content=t["content"], status=t["status"]) for t in todos]
    return f"Updated todo list to {new!r}", {"todos": new}
