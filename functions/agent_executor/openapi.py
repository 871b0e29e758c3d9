"""Turn a pydantic model's JSON schema into a Kubernetes structural openAPIV3 schema.

The API server accepts only a subset of JSON schema: no `$ref`, no `null`
types, `anyOf` only for value validation (or int-or-string), and every node
typed. This module folds pydantic's output into that subset and keeps only
the keywords Kubernetes understands, so the XRD and the model share one source.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

_KEPT = (
    "description",
    "enum",
    "pattern",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minItems",
    "maxItems",
    "maxProperties",
    "format",
)

_TYPES = {"string", "integer", "number", "boolean", "array", "object"}


class SchemaConversionError(ValueError):
    """A pydantic schema construct that has no structural-schema equivalent."""


def structural_schema(model: type[BaseModel]) -> dict[str, Any]:
    """Return the structural openAPIV3 schema for `model`, using its aliases."""
    raw = model.model_json_schema(by_alias=True, mode="validation")
    defs: dict[str, Any] = raw.pop("$defs", {})
    return _convert(raw, defs, path=model.__name__)


def _resolve(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if ref is None:
        return node
    target = defs[ref.rsplit("/", 1)[-1]]
    # Siblings of a $ref (description, default) describe the use site and win.
    merged = dict(target)
    merged.update({k: v for k, v in node.items() if k != "$ref"})
    return merged


def _convert(node: dict[str, Any], defs: dict[str, Any], path: str) -> dict[str, Any]:
    node = _resolve(node, defs)
    if "anyOf" in node:
        return _convert_any_of(node, defs, path)

    out: dict[str, Any] = {}
    typ = node.get("type")
    if "enum" in node and typ is None:
        typ = _enum_type(node["enum"], path)
    if typ not in _TYPES:
        raise SchemaConversionError(f"{path}: unsupported schema type {typ!r}")
    out["type"] = typ
    for key in _KEPT:
        if key in node:
            out[key] = node[key]
    if node.get("default") is not None:
        out["default"] = node["default"]
    for key, value in node.items():
        if key.startswith("x-kubernetes-"):
            out[key] = value

    if typ == "array":
        out["items"] = _convert(node["items"], defs, f"{path}[]")
    elif typ == "object":
        props = node.get("properties", {})
        if props:
            out["properties"] = {
                name: _convert(sub, defs, f"{path}.{name}") for name, sub in props.items()
            }
        if node.get("required"):
            out["required"] = list(node["required"])
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):
            out["additionalProperties"] = _convert(extra, defs, f"{path}{{}}")
    return out


def _convert_any_of(node: dict[str, Any], defs: dict[str, Any], path: str) -> dict[str, Any]:
    branches = [_resolve(b, defs) for b in node["anyOf"] if b.get("type") != "null"]
    outer = {k: v for k, v in node.items() if k != "anyOf"}
    if node.get("x-kubernetes-int-or-string"):
        types = sorted(str(b.get("type")) for b in branches)
        if types != ["integer", "string"]:
            raise SchemaConversionError(f"{path}: int-or-string needs an int and a str branch")
        out: dict[str, Any] = {
            "anyOf": [{"type": "integer"}, {"type": "string"}],
            "x-kubernetes-int-or-string": True,
        }
        for branch in branches:
            for key in _KEPT:
                if key in branch:
                    out[key] = branch[key]
        for key in ("description",):
            if key in outer:
                out[key] = outer[key]
        return out
    if len(branches) != 1:
        raise SchemaConversionError(f"{path}: unions other than Optional[X] are not structural")
    merged = dict(branches[0])
    merged.update(outer)
    return _convert(merged, defs, path)


def _enum_type(values: list[Any], path: str) -> str:
    if all(isinstance(v, bool) for v in values):
        return "boolean"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "integer"
    if all(isinstance(v, str) for v in values):
        return "string"
    raise SchemaConversionError(f"{path}: enum mixes types")
