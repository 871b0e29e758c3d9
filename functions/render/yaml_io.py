"""Reading and writing the YAML streams that claims and rendered output live in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class DocumentError(ValueError):
    """A file that does not parse, named with its path and position."""


# libyaml's emitter is an order of magnitude faster than the pure-Python one,
# which matters when a diff renders every claim of a repository twice.
_BaseDumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Dumper(_BaseDumper):  # type: ignore[valid-type,misc]
    """Block-style YAML; multi-line strings as literal blocks for readable diffs."""


def _str_presenter(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str_presenter)


def dump(document: Any, *, sort_keys: bool = False) -> str:
    """One YAML document, block style; keys as given unless `sort_keys`."""
    return yaml.dump(
        document, Dumper=_Dumper, sort_keys=sort_keys, default_flow_style=False, width=100
    )


def dump_stream(documents: list[Any]) -> str:
    """Documents each preceded by `---` with sorted keys, as `crossplane render` prints them."""
    return "".join(f"---\n{dump(d, sort_keys=True)}" for d in documents)


def load_stream(path: Path) -> list[dict[str, Any]]:
    """Every non-empty mapping document of a YAML file; errors name the file and line."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise DocumentError(f"{path}: cannot read: {exc.strerror}") from exc
    try:
        documents = list(yaml.load_all(text, Loader=_Loader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise DocumentError(f"{path}{where}: invalid YAML: {problem}") from exc
    result = []
    for index, document in enumerate(documents):
        if document is None:
            continue
        if not isinstance(document, dict):
            raise DocumentError(f"{path}: document {index + 1} is not a mapping")
        result.append(document)
    return result
