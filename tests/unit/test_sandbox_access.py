"""Who a script runs as, and which of the interpreter's directories that user must be shown."""

from __future__ import annotations

import os
import sys

import pytest

from workers.agent_executor.agent.sandbox.access import (
    NOBODY_ID,
    SandboxUser,
    blocked_ancestor,
    exposures,
    interpreter_paths,
    sandbox_user,
)


@pytest.mark.parametrize(
    ("euid", "user"),
    [(0, SandboxUser(NOBODY_ID, NOBODY_ID)), (10001, None), (1000, None)],
    ids=["root-drops-to-nobody", "the-image-user-stays", "any-user-stays"],
)
def test_only_a_root_worker_changes_the_scripts_user(euid: int, user: SandboxUser | None) -> None:
    assert sandbox_user(euid) == user


# /root is the only directory others may not enter, as with pyenv on our machines.
SEARCHABLE = ["/usr", "/usr/lib", "/root/.pyenv", "/root/.pyenv/versions", "/venv", "/venv/lib"]


@pytest.mark.parametrize(
    ("path", "ancestor"),
    [
        ("/usr/lib/python3.11", None),
        ("/root/.pyenv/versions/3.11.7", "/root"),
        ("/root", None),
        ("/venv/lib/python3.11/site-packages", "/venv/lib/python3.11"),
    ],
    ids=["all-open", "under-a-closed-home", "the-closed-directory-itself", "deeper-closed"],
)
def test_the_outermost_closed_directory_above_a_path_is_found(
    path: str, ancestor: str | None
) -> None:
    assert blocked_ancestor(path, SEARCHABLE) == ancestor


def test_only_unreachable_paths_are_shown_and_nested_ones_once() -> None:
    paths = [
        "/usr/lib/python3.11",
        "/root/.pyenv/versions/3.11.7",
        "/root/.pyenv/versions/3.11.7/lib/python3.11",
        "/root/.pyenv/versions/3.11.7/bin/python3.11",
        "/root/.local/lib",
    ]
    assert exposures(paths, SEARCHABLE) == {
        "/root": ["/root/.local/lib", "/root/.pyenv/versions/3.11.7"]
    }


def test_the_interpreter_paths_include_the_real_executable_and_the_prefixes() -> None:
    paths = interpreter_paths()
    assert os.path.realpath(sys.executable) in paths
    assert os.path.realpath(sys.base_prefix) in paths
