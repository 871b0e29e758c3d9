"""deepagents' `glob` and `grep` tools over the virtual filesystem.

Both take an optional directory `path` (deepagents did not refuse `..` here, and neither do we:
nothing outside the state's `files` exists). Results are bounded as deepagents bounded them.

Glob patterns: `*` and `?` within one path segment, `[...]` classes (`[!...]` negates), `**` as
a whole segment for any number of directories, `{a,b}` alternatives; like wcmatch's default
(which deepagents used) a wildcard does not match a leading `.` of a name. Matching is a
dynamic programme over the segments, never a regex: a model-written pattern cannot make it
backtrack for long.

`grep` searches for a literal text, as its description tells the model (deepagents 0.3.10+;
0.2.7-0.3.9 compiled the pattern as a Python regex despite that description). Literal matching
also keeps a model-written pattern from stalling the worker with catastrophic backtracking.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any, Literal

from workers.agent_executor.agent.files import (
    ToolOutcome,
    bounded_list,
    bounded_text,
    state_files,
)

GrepMode = Literal["files_with_matches", "content", "count"]
NO_MATCHES = "No matches found"
# Brace alternatives beyond this many are not expanded further (a pattern like {a,b}x20).
MAX_ALTERNATIVES = 256


def _directory_prefix(path: str | None) -> str | None:
    """deepagents' search base: `/`-prefixed with a trailing `/`; None for a blank path."""
    path = path or "/"
    if not path.strip():
        return None
    path = path if path.startswith("/") else "/" + path
    return path if path.endswith("/") else path + "/"


def expand_braces(pattern: str) -> list[str]:
    """`a{b,c}d` -> [`abd`, `acd`], nested braces too; an unmatched `{` is literal."""
    depth, start = 0, -1
    for i, char in enumerate(pattern):
        if char == "{":
            if depth == 0:
                start = i
            depth += 1
        elif char == "}" and depth:
            depth -= 1
            if depth == 0:
                options = _split_top_level(pattern[start + 1 : i])
                if len(options) < 2:
                    continue  # "{a}" is not an alternative
                head, tail = pattern[:start], pattern[i + 1 :]
                expanded = itertools.chain.from_iterable(
                    expand_braces(head + option + tail) for option in options
                )
                return list(itertools.islice(expanded, MAX_ALTERNATIVES))
    return [pattern]


def _split_top_level(body: str) -> list[str]:
    """`a,{b,c},d` -> [`a`, `{b,c}`, `d`]: commas inside nested braces do not split."""
    parts: list[str] = []
    depth, current = 0, ""
    for char in body:
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        if char == "{":
            depth += 1
        elif char == "}" and depth:
            depth -= 1
        current += char
    parts.append(current)
    return parts


# A segment pattern is a tuple of pieces: "*", "?", a literal character, or a class
# ("[", negated, members) where members are (low, high) ranges.
Piece = str | tuple[str, bool, tuple[tuple[str, str], ...]]


def _pieces(segment: str) -> tuple[Piece, ...]:
    pieces: list[Piece] = []
    i = 0
    while i < len(segment):
        char = segment[i]
        if char == "[":
            parsed = _char_class(segment, i)
            if parsed is not None:
                piece, i = parsed
                pieces.append(piece)
                continue
        if char == "*" and pieces and pieces[-1] == "*":
            i += 1  # "**" inside a segment is one star
            continue
        pieces.append(char)
        i += 1
    return tuple(pieces)


def _char_class(segment: str, start: int) -> tuple[Piece, int] | None:
    """The class starting at `segment[start] == "["` and the index after it; None if unclosed."""
    i = start + 1
    negated = i < len(segment) and segment[i] in "!^"
    i += negated
    ranges: list[tuple[str, str]] = []
    first = True
    while i < len(segment) and (segment[i] != "]" or first):
        low = segment[i]
        if i + 2 < len(segment) and segment[i + 1] == "-" and segment[i + 2] != "]":
            ranges.append((low, segment[i + 2]))
            i += 3
        else:
            ranges.append((low, low))
            i += 1
        first = False
    if i >= len(segment):
        return None
    return ("[", negated, tuple(ranges)), i + 1


def _one(piece: Piece, char: str) -> bool:
    if piece == "?":
        return True
    if isinstance(piece, tuple):
        _, negated, ranges = piece
        return any(low <= char <= high for low, high in ranges) != negated
    return piece == char


def _segment_matches(pieces: tuple[Piece, ...], name: str) -> bool:
    """Wildcard matching in O(len(pieces) * len(name)); no match for a hidden name unless the
    pattern starts with a literal dot."""
    if name.startswith(".") and (not pieces or pieces[0] != "."):
        return False
    reachable = [True] + [False] * len(name)  # reachable[j]: pieces so far match name[:j]
    for piece in pieces:
        if piece == "*":
            for j in range(1, len(name) + 1):
                reachable[j] = reachable[j] or reachable[j - 1]
        else:
            for j in range(len(name), 0, -1):
                reachable[j] = reachable[j - 1] and _one(piece, name[j - 1])
            reachable[0] = False
    return reachable[-1]


@lru_cache(maxsize=256)  # bounded: patterns come from models, the worker runs for long
def _compile(pattern: str) -> tuple[tuple[tuple[Piece, ...] | None, ...], ...]:
    """Each brace alternative as segments; None stands for a `**` segment."""
    return tuple(
        tuple(None if part == "**" else _pieces(part) for part in alternative.split("/"))
        for alternative in expand_braces(pattern)
    )


def forget_compiled_patterns() -> int:
    """Drop the compiled glob patterns (the `flush_cache` control command); return how many."""
    count = _compile.cache_info().currsize
    _compile.cache_clear()
    return count


def glob_matches(pattern: str, path: str) -> bool:
    """Whether the relative `path` matches the glob `pattern` (see the module docstring)."""
    names = path.split("/")
    return any(_path_matches(segments, names) for segments in _compile(pattern))


def _path_matches(segments: tuple[tuple[Piece, ...] | None, ...], names: list[str]) -> bool:
    # reachable[j]: the segments so far match names[:j] (a DP, so "**/**/x" stays linear).
    reachable = [True] + [False] * len(names)
    for segment in segments:
        if segment is None:
            for j in range(1, len(names) + 1):
                visible = not names[j - 1].startswith(".")
                reachable[j] = reachable[j] or (reachable[j - 1] and visible)
        else:
            for j in range(len(names), 0, -1):
                reachable[j] = reachable[j - 1] and _segment_matches(segment, names[j - 1])
            reachable[0] = False
    return reachable[-1]


def glob(state: Mapping[str, Any], pattern: str, path: str = "/") -> ToolOutcome:
    """Paths under `path` whose path relative to it matches `pattern`, newest first.

    A pattern starting with `/` is matched against the absolute path instead (deepagents
    matched it against the relative path, so such a pattern found nothing there).
    """
    prefix = _directory_prefix(path)
    if prefix is None:
        return bounded_list([]), {}
    found: list[tuple[str, str]] = []
    for key, data in state_files(state).items():
        if not key.startswith(prefix):
            continue
        subject = key if pattern.startswith("/") else key[len(prefix) :].lstrip("/")
        target = pattern.lstrip("/") if pattern.startswith("/") else pattern
        if glob_matches(target, subject.lstrip("/")):
            found.append((key, data["modified_at"]))
    found.sort(key=lambda item: item[1], reverse=True)
    return bounded_list([key for key, _ in found]), {}


def _grep_hits(
    state: Mapping[str, Any], pattern: str, path: str | None, name_glob: str | None
) -> Iterator[tuple[str, int, str]]:
    prefix = _directory_prefix(path)
    if prefix is None:
        return
    for key, data in state_files(state).items():
        if not key.startswith(prefix):
            continue
        if name_glob and not glob_matches(name_glob, key.rsplit("/", 1)[-1]):
            continue
        for number, line in enumerate(data["content"], start=1):
            if pattern in line:
                yield key, number, line


def grep(
    state: Mapping[str, Any],
    pattern: str,
    path: str | None = None,
    glob: str | None = None,
    output_mode: GrepMode = "files_with_matches",
) -> ToolOutcome:
    """Files (or lines, or counts per file) under `path` whose lines contain `pattern`.

    `glob` filters by file name (the last path segment), as in deepagents.
    """
    hits: dict[str, list[tuple[int, str]]] = {}
    for key, number, line in _grep_hits(state, pattern, path, glob):
        hits.setdefault(key, []).append((number, line))
    if not hits:
        return NO_MATCHES, {}
    keys = sorted(hits)
    if output_mode == "files_with_matches":
        rows = keys
    elif output_mode == "count":
        rows = [f"{key}: {len(hits[key])}" for key in keys]
    else:
        rows = []
        for key in keys:
            rows.append(f"{key}:")
            rows.extend(f"  {number}: {line}" for number, line in hits[key])
    return bounded_text("\n".join(rows)), {}
