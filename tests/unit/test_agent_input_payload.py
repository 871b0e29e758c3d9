"""input_payload shapes: messages, ide-orchestrator's instructions and context, bad fields named."""

from __future__ import annotations

from typing import Any

import pytest

from workers.agent_executor.agent.graph import InvalidInputError, initial_state

USER = {"role": "user", "content": "Write a report."}


@pytest.mark.parametrize(
    ("payload", "turn"),
    [
        ({"messages": [USER]}, "Write a report."),
        ({"input": "Write a report."}, "Write a report."),
        ({"instructions": "Tighten the prompt."}, "Tighten the prompt."),
        (
            {
                "instructions": "Tighten the prompt.",
                "context": "You are terse.",
                "context_file_path": None,
            },
            "Tighten the prompt.\n\nContext:\nYou are terse.",
        ),
        (
            {
                "instructions": "Tighten the prompt.",
                "context": "You are terse.",
                "context_file_path": "/THE_CAST/Agent.md",
            },
            "Tighten the prompt.\n\nContext (from /THE_CAST/Agent.md):\nYou are terse.",
        ),
        (
            {"instructions": "Review it.", "context": "", "context_file_path": "/plan.md"},
            "Review it.\n\nThe file in question is /plan.md.",
        ),
        # ide-orchestrator sends both: the messages win, the context still seeds its file
        (
            {
                "messages": [USER],
                "instructions": "ignored",
                "context": "x",
                "context_file_path": "/a.md",
            },
            "Write a report.",
        ),
    ],
    ids=["messages", "input", "instructions", "context", "context-file", "path-only", "both"],
)
def test_the_user_turn(payload: dict[str, Any], turn: str) -> None:
    state = initial_state(payload)
    assert state["messages"] == [{"role": "user", "content": turn}]


def test_the_context_is_seeded_as_the_file_it_came_from() -> None:
    state = initial_state(
        {
            "instructions": "Fix it.",
            "context": "line 1\nline 2",
            "context_file_path": "THE_CAST/A.md",
        }
    )
    assert state["files"]["/THE_CAST/A.md"]["content"] == ["line 1", "line 2"]


def test_explicit_files_win_over_the_seeded_context() -> None:
    state = initial_state(
        {
            "instructions": "Fix it.",
            "context": "selection",
            "context_file_path": "/a.md",
            "files": {"/a.md": "the whole file"},
        }
    )
    assert state["files"]["/a.md"]["content"] == ["the whole file"]


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ({}, "input_payload: needs messages (a non-empty list of {role, content}) or instructions"),
        ({"user_request": "Hello World"}, "it has: user_request"),
        ({"instructions": 3}, "input_payload.instructions: must be text, got int"),
        ({"instructions": "  "}, "input_payload.instructions: must not be empty"),
        ({"instructions": "x", "context": ["a"]}, "input_payload.context: must be text, got list"),
        (
            {"instructions": "x", "context": "c", "context_file_path": "../etc/passwd"},
            "input_payload.context_file_path:",
        ),
        ({"messages": []}, "input_payload.messages: a non-empty list of messages is required"),
        ({"messages": [{"role": "tool", "content": "x"}]}, "input_payload.messages[0].role"),
    ],
    ids=[
        "empty",
        "unknown",
        "not-text",
        "blank",
        "context-list",
        "traversal",
        "no-messages",
        "role",
    ],
)
def test_bad_input_names_the_field(payload: dict[str, Any], error: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        initial_state(payload)
    assert error in str(caught.value)
