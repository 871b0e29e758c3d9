"""A JSON Schema of each claim kind for editors (`# yaml-language-server: $schema=...`).

Built from the same source as the XRD (`xrd.openapi_v3_schema`, itself from the spec models),
so an editor flags what the API server would refuse: unknown fields, wrong types, values out
of range or not in an enum. CEL rules and the function's own checks are `agentplane
validate`'s part.
"""

from __future__ import annotations

import copy
from typing import Any

from functions.agent_executor.spec import COMPOSITE_API_VERSION
from functions.agent_executor.xrd import ApiDefinition, openapi_v3_schema

DRAFT = "http://json-schema.org/draft-07/schema#"
# Where the published schemas live, for `$id` and for modelines in tenant repositories.
PUBLISHED = "https://raw.githubusercontent.com/bizmatters/agentplane/main/platform/apis"
SCHEMA_FILE = "schema.json"
# What a claim's metadata must and may carry (the rest is the API server's).
_METADATA: dict[str, Any] = {
    "type": "object",
    "required": ["name", "namespace"],
    "properties": {
        "name": {"type": "string", "description": "The name every composed name starts with."},
        "namespace": {"type": "string", "description": "The tenant namespace (its folder)."},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}
# Crossplane's own block of every XR's spec (compositionRef, compositionUpdatePolicy, ...).
_CROSSPLANE = {"type": "object", "description": "Crossplane's own settings of the XR."}


def published_url(api: ApiDefinition) -> str:
    """The URL a tenant repository's modeline names for this kind's schema."""
    return f"{PUBLISHED}/{api.slug}/{SCHEMA_FILE}"


def _closed(node: Any) -> Any:
    # Unknown fields are refused by the API server's strict validation: close every object
    # that lists its properties and says nothing about others.
    if isinstance(node, dict):
        node = {key: _closed(value) for key, value in node.items()}
        if (
            node.get("type") == "object"
            and "properties" in node
            and "additionalProperties" not in node
            and not node.get("x-kubernetes-preserve-unknown-fields")
        ):
            node["additionalProperties"] = False
        return node
    if isinstance(node, list):
        return [_closed(item) for item in node]
    return node


def claim_json_schema(api: ApiDefinition) -> dict[str, Any]:
    """The JSON Schema (draft-07) of a claim file of the kind `api` defines."""
    spec = _closed(copy.deepcopy(openapi_v3_schema(api)["properties"]["spec"]))
    spec.setdefault("properties", {})["crossplane"] = _CROSSPLANE
    required = ["apiVersion", "kind", "metadata"]
    if not api.spec_optional:
        required.append("spec")
    return {
        "$schema": DRAFT,
        "$id": published_url(api),
        "title": api.kind,
        "description": f"A {api.kind} claim ({COMPOSITE_API_VERSION}), as the platform's XRD "
        "accepts it.",
        "type": "object",
        "required": required,
        "additionalProperties": False,
        "properties": {
            "apiVersion": {"const": COMPOSITE_API_VERSION},
            "kind": {"const": api.kind},
            "metadata": _METADATA,
            "spec": spec,
        },
    }
