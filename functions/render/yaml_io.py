"""Reading and writing the YAML streams that claims and rendered output live in."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class DocumentError(ValueError):
    """A file that does not parse, named with its path and position."""


# libyaml's emitter is an order of magnitude faster than the pure-Python one,
# which matters when a diff renders every claim of a repository twice.
_BaseDumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
# The implicit tag the resolver gives each plain scalar it has seen: it depends on the
# string alone (the safe dumper has no path resolvers), and rendered manifests repeat the
# same few thousand strings. Cleared when it grows past the limit.
_implicit_tags: dict[str, str] = {}
_IMPLICIT_TAGS_LIMIT = 200_000


class _Dumper(_BaseDumper):  # type: ignore[valid-type,misc]
    """Block-style YAML; multi-line strings as literal blocks for readable diffs.

    Plain JSON-shaped data (dict, list, str, int, bool, None) is represented by one
    specialised function building the very nodes PyYAML's SafeRepresenter builds (a fresh
    node per scalar, the same node again for a dict or list met twice, which the emitter
    writes as an alias); anything else goes through PyYAML's representers. The resolver's
    verdict on each plain scalar is remembered.
    """

    def represent(self, data: Any) -> None:
        if self.default_style is not None or self.default_flow_style is None:
            super().represent(data)  # the fast path only knows block style, plain defaults
            return
        node = self._node(data)
        self.serialize(node)
        self.represented_objects.clear()
        self.object_keeper.clear()
        self.alias_key = None

    def _node(self, data: Any) -> yaml.Node:
        kind = type(data)
        if kind is str:
            return ScalarNode(_STR, data, style="|" if "\n" in data else None)
        if kind is dict or kind is list:
            seen = self.represented_objects.get(id(data))
            if seen is not None:
                return seen  # type: ignore[no-any-return]
            self.object_keeper.append(data)
            value: list[Any] = []
            if kind is list:
                node: yaml.Node = SequenceNode(_SEQ, value, flow_style=self.default_flow_style)
                self.represented_objects[id(data)] = node
                value += [self._node(item) for item in data]
                return node
            node = MappingNode(_MAP, value, flow_style=self.default_flow_style)
            self.represented_objects[id(data)] = node
            items = list(data.items())
            if self.sort_keys:
                with contextlib.suppress(TypeError):  # keys that do not sort stay as given
                    items = sorted(items)
            value += [(self._node(k), self._node(v)) for k, v in items]
            return node
        if kind is int:
            return ScalarNode(_INT, str(data))
        if kind is bool:
            return ScalarNode(_BOOL, "true" if data else "false")
        if data is None:
            return ScalarNode(_NULL, "null")
        return self.represent_data(data)  # type: ignore[no-any-return]

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is not ScalarNode or self.yaml_path_resolvers:
            return super().resolve(kind, value, implicit)  # type: ignore[no-any-return]
        if not implicit[0]:
            return _STR  # a quoted scalar: always a string
        tag = _implicit_tags.get(value)
        if tag is None:
            if len(_implicit_tags) >= _IMPLICIT_TAGS_LIMIT:
                _implicit_tags.clear()
            tag = _implicit_tags[value] = super().resolve(kind, value, implicit)
        return tag


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
