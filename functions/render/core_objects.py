"""The core Kubernetes objects a tenant commits beside its claims, checked as the API server
checks them: Namespaces (with the platform's naming rule) and Secrets.

The schemas are the parts of the `v1` Namespace and Secret definitions a tenant writes,
with unknown fields refused, and the name formats the API server enforces.
"""

from __future__ import annotations

import re
from typing import Any

# A DNS-1123 label (namespace names) and subdomain (Secret names), as the API server checks them.
DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
DNS1123_LABEL_MAX = 63
DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
DNS1123_SUBDOMAIN_MAX = 253
# The platform's tenant namespaces are named {layer}-{category} and carry both as labels.
LAYER_LABEL = "layer"
CATEGORY_LABEL = "category"

_LABEL_VALUE = r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$"
_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
_METADATA = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "namespace": {"type": "string"},
        "labels": {
            "type": "object",
            "additionalProperties": {"type": "string", "maxLength": 63, "pattern": _LABEL_VALUE},
        },
        "annotations": _STRING_MAP,
    },
}
_ENVELOPE = {"apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": _METADATA}

NAMESPACE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["metadata"],
    "properties": {
        **_ENVELOPE,
        "spec": {
            "type": "object",
            "properties": {"finalizers": {"type": "array", "items": {"type": "string"}}},
        },
    },
}
SECRET_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["metadata"],
    "properties": {
        **_ENVELOPE,
        "type": {"type": "string"},
        "immutable": {"type": "boolean"},
        "data": {
            "type": "object",
            "propertyNames": {"pattern": r"^[-._a-zA-Z0-9]+$"},
            "additionalProperties": {
                "type": "string",
                "pattern": r"^[A-Za-z0-9+/]*={0,2}$",
            },
        },
        "stringData": {
            "type": "object",
            "propertyNames": {"pattern": r"^[-._a-zA-Z0-9]+$"},
            "additionalProperties": {"type": "string"},
        },
    },
}
SCHEMAS: dict[str, dict[str, Any]] = {"Namespace": NAMESPACE_SCHEMA, "Secret": SECRET_SCHEMA}
PATTERN_HINTS = {
    _LABEL_VALUE: "a label value is at most 63 letters, digits, '-', '_' or '.', "
    "starting and ending with a letter or digit",
    r"^[A-Za-z0-9+/]*={0,2}$": "Secret data values are base64 (use stringData for plain text)",
    r"^[-._a-zA-Z0-9]+$": "a Secret key is letters, digits, '-', '_' or '.'",
}


def name_problems(kind: str, name: Any) -> list[tuple[str, str]]:
    """(field, reason) when the object's name is not the format its kind requires."""
    if not isinstance(name, str) or not name:
        return [("metadata.name", "is required")]
    if kind == "Namespace":
        pattern, limit, what = DNS1123_LABEL, DNS1123_LABEL_MAX, "DNS-1123 label"
    else:
        pattern, limit, what = DNS1123_SUBDOMAIN, DNS1123_SUBDOMAIN_MAX, "DNS-1123 subdomain"
    if pattern.fullmatch(name) is None or len(name) > limit:
        return [
            (
                "metadata.name",
                f"a {kind} name must be a {what}: at most {limit} lower-case letters, digits "
                f"and '-'{' or .' if kind != 'Namespace' else ''}, starting and ending with a "
                f"letter or digit (got {name!r})",
            )
        ]
    return []


def tenant_namespace_problems(name: str, labels: Any) -> list[tuple[str, str]]:
    """(field, reason) when a tenant Namespace breaks the `{layer}-{category}` rule."""
    labels = labels if isinstance(labels, dict) else {}
    missing = [key for key in (LAYER_LABEL, CATEGORY_LABEL) if not labels.get(key)]
    if missing:
        return [
            (
                f"metadata.labels.{key}",
                f"is required: tenant namespaces are named {{{LAYER_LABEL}}}-{{{CATEGORY_LABEL}}} "
                "and carry both as labels",
            )
            for key in missing
        ]
    expected = f"{labels[LAYER_LABEL]}-{labels[CATEGORY_LABEL]}"
    if expected != name:
        return [
            (
                "metadata.labels",
                f"layer {labels[LAYER_LABEL]!r} and category {labels[CATEGORY_LABEL]!r} name the "
                f"namespace {expected!r}, but it is named {name!r}",
            )
        ]
    return []


def secret_warnings(document: dict[str, Any]) -> list[tuple[str, str]]:
    """(field, reason) for a Secret whose values are committed in plain text."""
    return [
        (
            key,
            "a Secret in git carries its values for anyone who can read the repository; "
            "create it with an ExternalSecret instead",
        )
        for key in ("data", "stringData")
        if document.get(key)
    ]
