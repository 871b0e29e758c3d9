"""Validate manifests against upstream CRD schemas read from CRD_SCHEMA_DIR.

jsonschema checks types, enums and patterns; on top, unknown fields are
reported, because structural schemas rarely say `additionalProperties: false`
and a misspelt field would otherwise pass silently (and be pruned in a cluster).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import yaml

ENV = "CRD_SCHEMA_DIR"


def crd_dir() -> Path | None:
    """The directory of upstream CRDs, if configured."""
    value = os.environ.get(ENV)
    return Path(value) if value else None


def load_schemas(directory: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) → openAPIV3Schema for every served version of every CRD."""
    schemas: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted(directory.rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if not isinstance(doc, dict) or doc.get("kind") != "CustomResourceDefinition":
                continue
            spec = doc["spec"]
            for version in spec.get("versions", []):
                schema = (version.get("schema") or {}).get("openAPIV3Schema")
                if schema and version.get("served", True):
                    schemas[(f"{spec['group']}/{version['name']}", spec["names"]["kind"])] = schema
    return schemas


def _unknown_fields(value: Any, schema: dict[str, Any], path: str) -> Iterator[str]:
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return
    if isinstance(value, dict):
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            if props is not None and key in props:
                yield from _unknown_fields(item, props[key], f"{path}.{key}")
            elif isinstance(extra, dict):
                yield from _unknown_fields(item, extra, f"{path}.{key}")
            elif props is not None and path != "" and path != ".metadata":
                yield f"{path}.{key}: unknown field"
            elif props is not None and path == "" and key not in ("apiVersion", "kind", "metadata"):
                yield f".{key}: unknown field"
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            yield from _unknown_fields(item, schema["items"], f"{path}[{index}]")


def problems(manifest: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    """Every schema violation and unknown field of `manifest`, as `path: reason`."""
    validator = jsonschema.Draft202012Validator(schema)
    found = [
        f".{'.'.join(str(p) for p in error.absolute_path)}: {error.message}"
        for error in validator.iter_errors(manifest)
    ]
    return found + list(_unknown_fields(manifest, schema, ""))
