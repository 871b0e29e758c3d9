"""Reading one JSON or YAML mapping from a file, with errors that name the file and the place."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from functions.jobs_cli.errors import JobsError
from functions.render.yaml_io import DocumentError, load_stream


def read_mapping(path: Path) -> dict[str, Any]:
    """The one mapping in `path`: JSON for `.json` files, YAML (a superset) otherwise."""
    if path.suffix.lower() == ".json":
        return _json_mapping(path)
    try:
        documents = load_stream(path)
    except DocumentError as exc:
        raise JobsError(str(exc)) from exc
    if len(documents) != 1:
        raise JobsError(f"{path}: expected one document, found {len(documents)}")
    return documents[0]


def _json_mapping(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise JobsError(f"{path}: cannot read: {exc.strerror}") from exc
    try:
        document = json.loads(text)
    except RecursionError as exc:
        raise JobsError(f"{path}: JSON nested too deeply") from exc
    except json.JSONDecodeError as exc:
        raise JobsError(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from exc
    if not isinstance(document, dict):
        raise JobsError(f"{path}: expected a JSON object, found {type(document).__name__}")
    return document
