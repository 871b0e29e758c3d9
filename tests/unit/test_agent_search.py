"""`glob` and `grep`: deepagents' result shapes (notes A.7), our glob matcher, literal grep."""

from __future__ import annotations

import time
from typing import Any

import pytest

from workers.agent_executor.agent.builtin_tools import run_builtin
from workers.agent_executor.agent.files import TRUNCATION_NOTE, FileData
from workers.agent_executor.agent.search import expand_braces, glob_matches


def _file(text: str, modified_at: str) -> FileData:
    return FileData(content=text.split("\n"), created_at=modified_at, modified_at=modified_at)


# modified_at decides glob's order (newest first).
STATE: dict[str, Any] = {
    "files": {
        "/a.py": _file("import os\nprint('hi')", "2025-01-01T00:00:03+00:00"),
        "/src/b.py": _file("import re\nx = re.compile('(a)')", "2025-01-01T00:00:02+00:00"),
        "/src/deep/c.md": _file("# TODO\nimport later\nTODO again", "2025-01-01T00:00:05+00:00"),
        "/notes.txt": _file("nothing here", "2025-01-01T00:00:01+00:00"),
        "/.hidden.py": _file("import secret", "2025-01-01T00:00:04+00:00"),
    }
}


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({"pattern": "*.py"}, "['/a.py']"),  # no '/' in the pattern: one directory only
        ({"pattern": "**/*.py"}, "['/a.py', '/src/b.py']"),  # newest first; hidden excluded
        ({"pattern": "**/*"}, "['/src/deep/c.md', '/a.py', '/src/b.py', '/notes.txt']"),
        ({"pattern": ".*.py"}, "['/.hidden.py']"),  # a literal leading dot matches it
        ({"pattern": "*.py", "path": "/src"}, "['/src/b.py']"),
        ({"pattern": "*.py", "path": "src"}, "['/src/b.py']"),
        ({"pattern": "**/*.{md,txt}"}, "['/src/deep/c.md', '/notes.txt']"),
        ({"pattern": "src/*/?.md"}, "['/src/deep/c.md']"),
        ({"pattern": "[ab].py"}, "['/a.py']"),
        ({"pattern": "/src/**/*.md"}, "['/src/deep/c.md']"),  # absolute: see search.glob
        ({"pattern": "*.rs"}, "[]"),
        ({"pattern": "*", "path": " "}, "[]"),
        (
            {"path": "/"},
            "Error invoking tool 'glob' with kwargs {'path': '/'} with error:\n"
            " pattern: Field required\n Please fix the error and try again.",
        ),
    ],
)
def test_glob(args: dict[str, Any], expected: str) -> None:
    assert run_builtin("glob", STATE, args) == (expected, {})


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({"pattern": "import"}, "/.hidden.py\n/a.py\n/src/b.py\n/src/deep/c.md"),
        ({"pattern": "import", "path": "/src"}, "/src/b.py\n/src/deep/c.md"),
        ({"pattern": "import", "path": "src/deep/"}, "/src/deep/c.md"),
        ({"pattern": "import", "glob": "*.py"}, "/a.py\n/src/b.py"),  # glob filters names
        ({"pattern": "import", "glob": "*.{md,txt}"}, "/src/deep/c.md"),
        (
            {"pattern": "TODO", "output_mode": "content"},
            "/src/deep/c.md:\n  1: # TODO\n  3: TODO again",
        ),
        (
            {"pattern": "import", "output_mode": "count", "path": "/src"},
            "/src/b.py: 1\n/src/deep/c.md: 1",
        ),
        # Literal, not a regex: "." is a dot, and "(" is no error.
        ({"pattern": "im.ort"}, "No matches found"),
        ({"pattern": "('("}, "/src/b.py"),
        ({"pattern": "zzz"}, "No matches found"),
        ({"pattern": "import", "path": "/a.py"}, "No matches found"),  # a path is a directory
        (
            {"pattern": "x", "output_mode": "lines"},
            "Error invoking tool 'grep' with kwargs {'pattern': 'x', 'output_mode': 'lines'} "
            "with error:\n output_mode: Input should be 'files_with_matches', 'content' or "
            "'count'\n Please fix the error and try again.",
        ),
    ],
)
def test_grep(args: dict[str, Any], expected: str) -> None:
    assert run_builtin("grep", STATE, args) == (expected, {})


def test_grep_bounds_its_output_like_deepagents() -> None:
    state = {"files": {"/big.txt": _file("\n".join(["needle " * 20] * 1000), "t")}}
    text, _ = run_builtin("grep", state, {"pattern": "needle", "output_mode": "content"})
    assert text.endswith("\n" + TRUNCATION_NOTE)
    assert len(text) == 80_000 + 1 + len(TRUNCATION_NOTE)


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("*", "a", True),
        ("*", "a/b", False),
        ("**", "a/b", True),
        ("**/b", "b", True),
        ("a/**/b", "a/x/y/b", True),
        ("a/**/b", "a/b", True),
        ("?", "ab", False),
        ("a[!x]c", "abc", True),
        ("a[!b]c", "abc", False),
        ("[a-c]", "b", True),
        ("[]]", "]", True),
        ("[a", "[a", True),  # an unclosed class is literal
        ("{a,b}{1,2}", "b2", True),
        ("{a,{b,c}}", "c", True),
        ("{a}", "{a}", True),  # one option is not an alternative
        ("*.py", ".x.py", False),
        ("**/x", ".git/x", False),
    ],
)
def test_glob_matching(pattern: str, path: str, matches: bool) -> None:
    assert glob_matches(pattern, path) is matches


def test_brace_expansion_is_bounded() -> None:
    assert len(expand_braces("{a,b}" * 20)) == 256


def test_a_pathological_pattern_is_matched_quickly() -> None:
    started = time.monotonic()
    assert not glob_matches("*a" * 30 + "b", "a" * 5000)
    assert time.monotonic() - started < 2
