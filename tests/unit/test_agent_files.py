"""The file and todo tools: deepagents' result strings, word for word (notes A.2-A.8).

Each case calls the tool the way the model does (`run_builtin` with JSON-like arguments) on a
small filesystem, and compares the whole result text.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workers.agent_executor.agent.builtin_tools import run_builtin
from workers.agent_executor.agent.files import (
    EMPTY_FILE_REMINDER,
    TRUNCATION_NOTE,
    file_text,
    new_file,
    virtual_path,
)

SEED = {
    "/seed.txt": "hello\nworld\nhello",
    "/a.txt": "a",
    "/notes/b.md": "b",
    "/notes/deep/c.md": "c",
    "/empty.md": "",
    "/blank.md": "  \n",
    "/trailing.md": "one\n",
}


def _state(files: dict[str, str] | None = None) -> dict[str, Any]:
    return {"files": {path: new_file(text) for path, text in (files or SEED).items()}}


def _result(name: str, args: dict[str, Any], files: dict[str, str] | None = None) -> str:
    return run_builtin(name, _state(files), args)[0]


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/", "['/a.txt', '/blank.md', '/empty.md', '/notes/', '/seed.txt', '/trailing.md']"),
        ("/notes", "['/notes/b.md', '/notes/deep/']"),
        ("/notes/", "['/notes/b.md', '/notes/deep/']"),
        ("notes", "['/notes/b.md', '/notes/deep/']"),
        ("/nowhere", "[]"),
        ("/a.txt", "[]"),  # a file is not a directory
        (".", "[]"),  # normalized to "/.", as in deepagents
        ("/notes/../..", "Error: Path traversal not allowed: /notes/../.."),
        ("~/x", "Error: Path traversal not allowed: ~/x"),
    ],
)
def test_ls(path: str, expected: str) -> None:
    assert _result("ls", {"path": path}) == expected


def test_ls_bounds_a_huge_listing_like_deepagents() -> None:
    files = {f"/{i:03d}-{'x' * 996}": "" for i in range(100)}  # 100 paths of 1001 characters
    listed = _result("ls", {"path": "/"}, files)
    assert listed.endswith(f"'{TRUNCATION_NOTE}']")
    assert listed.count("'/") == 79  # 100 * 80000 // 100100


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({"file_path": "/seed.txt"}, "     1\thello\n     2\tworld\n     3\thello"),
        ({"file_path": "seed.txt"}, "     1\thello\n     2\tworld\n     3\thello"),
        ({"file_path": "/seed.txt", "offset": 1, "limit": 1}, "     2\tworld"),
        ({"file_path": "/seed.txt", "offset": "1", "limit": 1}, "     2\tworld"),  # lax, as there
        ({"file_path": "/seed.txt", "limit": 0}, ""),
        (
            {"file_path": "/seed.txt", "offset": 3},
            "Error: Line offset 3 exceeds file length (3 lines)",
        ),
        ({"file_path": "/trailing.md"}, "     1\tone"),  # the trailing empty line is not shown
        ({"file_path": "/empty.md"}, EMPTY_FILE_REMINDER),
        ({"file_path": "/blank.md", "offset": 9}, EMPTY_FILE_REMINDER),  # checked before offset
        ({"file_path": "/missing.md"}, "Error: File '/missing.md' not found"),
        ({"file_path": "/notes"}, "Error: File '/notes' not found"),
        ({"file_path": "../etc/passwd"}, "Error: Path traversal not allowed: ../etc/passwd"),
        ({"file_path": "/a..b"}, "Error: Path traversal not allowed: /a..b"),
        (
            {"file_path": "C:\\x.txt"},
            "Error: Windows absolute paths are not supported: C:\\x.txt. Please use virtual "
            "paths starting with / (e.g., /workspace/file.txt)",
        ),
        (
            {},
            "Error invoking tool 'read_file' with kwargs {} with error:\n"
            " file_path: Field required\n Please fix the error and try again.",
        ),
        (
            {"file_path": "/seed.txt", "offset": "x"},
            "Error invoking tool 'read_file' with kwargs {'file_path': '/seed.txt', 'offset': "
            "'x'} with error:\n offset: Input should be a valid integer, unable to parse "
            "string as an integer\n Please fix the error and try again.",
        ),
    ],
)
def test_read_file(args: dict[str, Any], expected: str) -> None:
    assert _result("read_file", args) == expected


def test_read_file_reads_500_lines_by_default() -> None:
    text = _result("read_file", {"file_path": "/long"}, {"/long": "\n".join(["x"] * 600)})
    assert text.splitlines()[-1] == "   500\tx"


def test_read_file_shows_lines_over_10000_characters_in_numbered_chunks() -> None:
    line = "a" * 10_000 + "b" * 10_000 + "c"
    rows = _result("read_file", {"file_path": "/w"}, {"/w": f"short\n{line}"}).split("\n")
    assert rows == [
        "     1\tshort",
        f"     2\t{'a' * 10_000}",
        f"   2.1\t{'b' * 10_000}",
        "   2.2\tc",
    ]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({"file_path": "/new.md", "content": "x"}, "Updated file /new.md"),
        ({"file_path": "docs/new.md", "content": "x"}, "Updated file /docs/new.md"),
        ({"file_path": "/THE_SPEC/x/", "content": "x"}, "Updated file /THE_SPEC/x"),
        ({"file_path": "docs\\c.md", "content": "x"}, "Updated file /docs/c.md"),
        (
            {"file_path": "/a.txt", "content": "x"},
            "Cannot write to /a.txt because it already exists. Read and then make an edit, "
            "or write to a new path.",
        ),
        ({"file_path": "/x/../y", "content": "x"}, "Error: Path traversal not allowed: /x/../y"),
        (
            {"path": "/a.md", "content": "x"},
            "Error invoking tool 'write_file' with kwargs {'path': '/a.md', 'content': 'x'} "
            "with error:\n file_path: Field required\n Please fix the error and try again.",
        ),
    ],
)
def test_write_file(args: dict[str, Any], expected: str) -> None:
    assert _result("write_file", args) == expected


def test_write_file_creates_lines_and_timestamps() -> None:
    _, update = run_builtin("write_file", {}, {"file_path": "/n.md", "content": "a\nb\n"})
    data = update["files"]["/n.md"]
    assert data["content"] == ["a", "b", ""]
    assert data["created_at"] == data["modified_at"]
    assert data["created_at"].endswith("+00:00")


def test_a_refused_write_changes_nothing() -> None:
    assert run_builtin("write_file", _state(), {"file_path": "/a.txt", "content": "x"})[1] == {}


def test_write_file_does_not_mutate_the_state_it_is_given() -> None:
    state = _state()
    before = dict(state["files"])
    run_builtin("write_file", state, {"file_path": "/b", "content": "2"})
    assert state["files"] == before


ONCE = {"file_path": "/seed.txt", "old_string": "world", "new_string": "there"}


@pytest.mark.parametrize(
    ("args", "expected", "content"),
    [
        (
            ONCE,
            "Successfully replaced 1 instance(s) of the string in '/seed.txt'",
            ["hello", "there", "hello"],
        ),
        (
            {**ONCE, "old_string": "hello", "replace_all": True},
            "Successfully replaced 2 instance(s) of the string in '/seed.txt'",
            ["there", "world", "there"],
        ),
        (
            {**ONCE, "old_string": "hello"},
            "Error: String 'hello' appears 2 times in file. Use replace_all=True to replace all "
            "instances, or provide a more specific string with surrounding context.",
            None,
        ),
        ({**ONCE, "old_string": "bye"}, "Error: String not found in file: 'bye'", None),
        ({**ONCE, "file_path": "/nope"}, "Error: File '/nope' not found", None),
        (
            {**ONCE, "extra": 1},
            "Successfully replaced 1 instance(s) of the string in '/seed.txt'",
            None,
        ),
        (
            {**ONCE, "old_string": "o\nw"},  # across lines: the file is one text
            "Successfully replaced 1 instance(s) of the string in '/seed.txt'",
            ["hellthereorld", "hello"],
        ),
        (
            {"file_path": "/seed.txt", "old_string": "x"},
            "Error invoking tool 'edit_file' with kwargs {'file_path': '/seed.txt', "
            "'old_string': 'x'} with error:\n new_string: Field required\n"
            " Please fix the error and try again.",
            None,
        ),
    ],
)
def test_edit_file(args: dict[str, Any], expected: str, content: list[str] | None) -> None:
    text, update = run_builtin("edit_file", _state(), args)
    assert text == expected
    if content is not None:
        assert update["files"]["/seed.txt"]["content"] == content
    elif not text.startswith("Successfully"):
        assert update == {}


def test_edit_file_keeps_created_at() -> None:
    state = _state()
    created = state["files"]["/seed.txt"]["created_at"]
    _, update = run_builtin("edit_file", state, ONCE)
    assert update["files"]["/seed.txt"]["created_at"] == created


@pytest.mark.parametrize(
    ("todos", "expected"),
    [
        (
            [
                {"content": "Do X", "status": "in_progress"},
                {"content": "Do Y", "status": "pending"},
            ],
            "Updated todo list to [{'content': 'Do X', 'status': 'in_progress'}, "
            "{'content': 'Do Y', 'status': 'pending'}]",
        ),
        ([], "Updated todo list to []"),
        (
            [{"content": "a", "status": "done"}],
            "Error invoking tool 'write_todos' with kwargs {'todos': [{'content': 'a', "
            "'status': 'done'}]} with error:\n todos.0.status: Input should be 'pending', "
            "'in_progress' or 'completed'\n Please fix the error and try again.",
        ),
    ],
)
def test_write_todos(todos: list[dict[str, Any]], expected: str) -> None:
    assert _result("write_todos", {"todos": todos}) == expected


def test_write_todos_replaces_the_list() -> None:
    todos = [{"content": "plan", "status": "completed", "note": "dropped"}]
    _, update = run_builtin(
        "write_todos", {"todos": [{"content": "old", "status": "pending"}]}, {"todos": todos}
    )
    assert update == {"todos": [{"content": "plan", "status": "completed"}]}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("notes/b.md", "/notes/b.md"),
        ("/notes//b.md", "/notes/b.md"),
        ("/./notes/b.md", "/notes/b.md"),
        ("//a//b", "//a/b"),  # POSIX normpath keeps a leading "//", as deepagents did
        ("", "/."),
    ],
)
def test_virtual_path(path: str, expected: str) -> None:
    assert virtual_path(path) == expected


@given(st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=200))
def test_written_content_reads_back_unchanged(content: str) -> None:
    _, update = run_builtin("write_file", {}, {"file_path": "/p", "content": content})
    assert file_text(update["files"]["/p"]) == content
