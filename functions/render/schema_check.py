"""Check documents against Kubernetes structural schemas the way the API server does.

Defaults are applied first (as the API server does before validating), then
JSON-schema validation, unknown fields (kubectl's strict field validation
refuses them; structural schemas rarely say `additionalProperties: false`), and
the `x-kubernetes-validations` CEL rules, evaluated with a real CEL engine.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import celpy
import jsonschema
import yaml
from celpy.adapter import json_to_cel


@dataclass(frozen=True)
class Problem:
    """One violation: a dotted field path (`spec.scaling.minReplicas`) and the reason."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path or '<root>'}: {self.reason}"


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def apply_defaults(value: Any, schema: dict[str, Any]) -> Any:
    """A copy of `value` with schema defaults filled in, outermost first."""
    value = copy.deepcopy(value)
    _fill(value, schema)
    return value


def _fill(value: Any, schema: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for key, sub in (schema.get("properties") or {}).items():
            if key not in value and "default" in sub:
                value[key] = copy.deepcopy(sub["default"])
            if key in value:
                _fill(value[key], sub)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            _fill(item, schema["items"])


def _unknown_fields(value: Any, schema: dict[str, Any], path: str) -> Iterator[Problem]:
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return
    if isinstance(value, dict):
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            here = _join(path, key)
            if props is not None and key in props:
                yield from _unknown_fields(item, props[key], here)
            elif isinstance(extra, dict):
                yield from _unknown_fields(item, extra, here)
            elif (
                props is None
                or here in ("apiVersion", "kind")
                or path == "metadata"
                or (path == "" and key == "metadata")
            ):
                continue
            else:
                yield Problem(here, "unknown field")
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            yield from _unknown_fields(item, schema["items"], _join(path, index))


_CEL = celpy.Environment()
_PROGRAMS: dict[str, Any] = {}
# The parts of Kubernetes' CEL string extension library that CRD rules use.
_K8S_FUNCTIONS: dict[str, Any] = {
    "lowerAscii": lambda s: celpy.celtypes.StringType(str(s).lower()),
    "upperAscii": lambda s: celpy.celtypes.StringType(str(s).upper()),
}


def _program(rule: str) -> Any:
    if rule not in _PROGRAMS:
        _PROGRAMS[rule] = _CEL.program(_CEL.compile(rule), functions=_K8S_FUNCTIONS)
    return _PROGRAMS[rule]


def _cel_rules(value: Any, schema: dict[str, Any], path: str) -> Iterator[Problem]:
    for rule in schema.get("x-kubernetes-validations", []) or []:
        if "oldSelf" in rule["rule"]:
            continue  # a transition rule: checked on update only, never on create
        try:
            verdict = _program(rule["rule"]).evaluate({"self": json_to_cel(value)})
        except Exception as exc:
            verdict = exc
        if verdict is not True and not (isinstance(verdict, celpy.celtypes.BoolType) and verdict):
            where = path + rule.get("fieldPath", "") if rule.get("fieldPath") else path
            yield Problem(where.lstrip("."), rule.get("message") or f"failed rule {rule['rule']}")
    if isinstance(value, dict):
        for key, sub in (schema.get("properties") or {}).items():
            if key in value:
                yield from _cel_rules(value[key], sub, _join(path, key))
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            yield from _cel_rules(item, schema["items"], _join(path, index))


def check(
    document: Any, schema: dict[str, Any], pattern_hints: dict[str, str] | None = None
) -> list[Problem]:
    """Every problem with `document` (defaults already applied by the caller, if wanted).

    `pattern_hints` turns a regular expression into words a person can act on.
    """
    validator = jsonschema.Draft202012Validator(schema)
    found = []
    for error in validator.iter_errors(document):
        path = ""
        for part in error.absolute_path:
            path = _join(path, part)
        reason = error.message
        hint = (pattern_hints or {}).get(str(error.validator_value))
        if error.validator == "pattern" and hint:
            reason = f"{hint} (got {error.instance!r})"
        found.append(Problem(path, reason))
    found += _unknown_fields(document, schema, "")
    if not found:  # CEL rules assume a schema-valid object, as in the API server
        found += _cel_rules(document, schema, "")
    return found


def problems(document: Any, schema: dict[str, Any]) -> list[str]:
    """`check` as `path: reason` lines."""
    return [str(p) for p in check(document, schema)]


# libyaml's loader when PyYAML has it: the upstream schemas are megabytes of YAML.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_crd_schemas(directory: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) → openAPIV3Schema for every served version of every CRD."""
    schemas: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted(directory.rglob("*.yaml")):
        for doc in yaml.load_all(path.read_text(), Loader=_LOADER):
            if not isinstance(doc, dict) or doc.get("kind") != "CustomResourceDefinition":
                continue
            spec = doc["spec"]
            for version in spec.get("versions", []):
                schema = (version.get("schema") or {}).get("openAPIV3Schema")
                if schema and version.get("served", True):
                    schemas[(f"{spec['group']}/{version['name']}", spec["names"]["kind"])] = schema
    return schemas
