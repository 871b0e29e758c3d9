"""The virtual filesystem tools: pure functions from state to (result text, state update)."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from workers.agent_executor.agent.files import (
    BUILTIN_TOOL_SCHEMAS,
    edit_file,
    file_text,
    ls,
    read_file,
    run_builtin,
    write_file,
    write_todos,
)


def _with_file(path: str, content: str) -> dict[str, Any]:
    _, update = write_file({}, path, content)
    return update


def test_write_file_creates_lines_and_timestamps() -> None:
    text, update = write_file({}, "/notes.md", "a\nb")
    assert text == "Created file /notes.md"
    data = update["files"]["/notes.md"]
    assert data["content"] == ["a", "b"]
    assert data["created_at"] == data["modified_at"]
    assert data["created_at"].endswith("+00:00")


def test_write_file_does_not_mutate_the_state_it_is_given() -> None:
    state = _with_file("/a", "1")
    before = dict(state["files"])
    write_file(state, "/b", "2")
    assert state["files"] == before


def test_overwriting_keeps_created_at() -> None:
    state = _with_file("/a", "old")
    created = state["files"]["/a"]["created_at"]
    text, update = write_file(state, "a", "new")
    assert text == "Updated file /a"
    assert update["files"]["/a"]["created_at"] == created
    assert update["files"]["/a"]["content"] == ["new"]


def test_read_file_numbers_lines_and_pages() -> None:
    state = _with_file("/f", "one\ntwo\nthree")
    assert read_file(state, "/f")[0] == "     1\tone\n     2\ttwo\n     3\tthree"
    assert read_file(state, "/f", offset=1, limit=1)[0] == "     2\ttwo"


def test_reading_a_missing_file_is_an_error_text() -> None:
    text, update = read_file({}, "/nope")
    assert text == "Error: File '/nope' not found"
    assert update == {}


def test_reading_past_the_end_is_an_error_text() -> None:
    assert read_file(_with_file("/f", "x"), "/f", offset=5)[0].startswith("Error: Line offset 5")


def test_ls_lists_sorted_paths() -> None:
    state = {"files": {**_with_file("/b", "")["files"], **_with_file("/a", "")["files"]}}
    assert ls(state) == ("/a\n/b", {})
    assert ls({})[0] == "No files found"


def test_edit_file_replaces_a_unique_string() -> None:
    text, update = edit_file(_with_file("/f", "hello world"), "/f", "world", "there")
    assert text.startswith("Successfully replaced 1 instance")
    assert file_text(update["files"]["/f"]) == "hello there"


def test_edit_file_reports_a_missing_string() -> None:
    text, update = edit_file(_with_file("/f", "hello"), "/f", "bye", "x")
    assert text.startswith("Error: String not found in file '/f'")
    assert update == {}


def test_edit_file_reports_an_ambiguous_string() -> None:
    text, update = edit_file(_with_file("/f", "a a a"), "/f", "a", "b")
    assert "appears 3 times" in text
    assert update == {}


def test_edit_file_replace_all() -> None:
    _, update = edit_file(_with_file("/f", "a a a"), "/f", "a", "b", replace_all=True)
    assert file_text(update["files"]["/f"]) == "b b b"


def test_paths_with_dot_dot_are_refused() -> None:
    assert write_file({}, "/../etc/passwd", "x")[0].startswith("Error: path must not contain")


def test_write_todos_replaces_the_list() -> None:
    text, update = write_todos({}, [{"content": "plan", "status": "pending"}])
    assert update == {"todos": [{"content": "plan", "status": "pending"}]}
    assert text.startswith("Updated todo list")


def test_run_builtin_turns_bad_arguments_into_error_text() -> None:
    text, update = run_builtin("write_file", {}, {"path": "/a"})
    assert text.startswith("Error: invalid arguments for write_file: content: Field required")
    assert update == {}


def test_run_builtin_rejects_an_unknown_status() -> None:
    text, _ = run_builtin("write_todos", {}, {"todos": [{"content": "x", "status": "later"}]})
    assert text.startswith("Error: invalid arguments for write_todos")


def test_every_builtin_has_an_openai_function_schema() -> None:
    for name, schema in BUILTIN_TOOL_SCHEMAS.items():
        assert schema["type"] == "function"
        assert schema["function"]["name"] == name
        assert schema["function"]["parameters"]["type"] == "object"


@given(st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=200))
def test_written_content_reads_back_unchanged(content: str) -> None:
    update = _with_file("/p", content)
    assert file_text(update["files"]["/p"]) == content
