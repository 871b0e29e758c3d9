"""Build the XRD and the Composition for `AgentExecutor` from the spec models.

`make golden` writes these to `platform/apis/agent-executor/`; a test checks
the committed files against a fresh build, so the API and the function can
never drift apart.
"""

from __future__ import annotations

from typing import Any

from functions.agent_executor.openapi import structural_schema
from functions.agent_executor.spec import (
    API_GROUP,
    API_VERSION,
    COMPOSITE_API_VERSION,
    KIND,
    PLURAL,
    AgentExecutorSpec,
    AgentExecutorStatus,
)

COMPOSITION_NAME = "agent-executor"
FUNCTION_NAME = "function-agent-executor"
FUNCTION_STEP = "compose-agent-executor"
FUNCTION_PACKAGE = "ghcr.io/bizmatters/function-agent-executor"

_PRINTER_COLUMNS = [
    {"name": "Image", "type": "string", "jsonPath": ".status.image", "priority": 1},
    {"name": "Ready Replicas", "type": "integer", "jsonPath": ".status.readyReplicas"},
    {"name": "Stream", "type": "string", "jsonPath": ".status.stream", "priority": 1},
    {"name": "Endpoint", "type": "string", "jsonPath": ".status.endpoint", "priority": 1},
]


def openapi_v3_schema() -> dict[str, Any]:
    """The XR's full openAPIV3 schema: spec (required) and the status the function writes."""
    return {
        "type": "object",
        "required": ["spec"],
        "properties": {
            "spec": structural_schema(AgentExecutorSpec),
            "status": structural_schema(AgentExecutorStatus),
        },
    }


def composite_resource_definition() -> dict[str, Any]:
    """The Crossplane 2.x XRD (`apiextensions.crossplane.io/v2`, namespaced)."""
    return {
        "apiVersion": "apiextensions.crossplane.io/v2",
        "kind": "CompositeResourceDefinition",
        "metadata": {
            "name": f"{PLURAL}.{API_GROUP}",
            "labels": {"app.kubernetes.io/part-of": "agentplane"},
        },
        "spec": {
            "group": API_GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": KIND,
                "listKind": f"{KIND}List",
                "plural": PLURAL,
                "singular": KIND.lower(),
                "categories": ["crossplane", "agentplane"],
            },
            "defaultCompositionRef": {"name": COMPOSITION_NAME},
            "versions": [
                {
                    "name": API_VERSION,
                    "served": True,
                    "referenceable": True,
                    "additionalPrinterColumns": _PRINTER_COLUMNS,
                    "schema": {"openAPIV3Schema": openapi_v3_schema()},
                }
            ],
        },
    }


def composition() -> dict[str, Any]:
    """The Pipeline Composition: one step that calls this repository's function."""
    return {
        "apiVersion": "apiextensions.crossplane.io/v1",
        "kind": "Composition",
        "metadata": {
            "name": COMPOSITION_NAME,
            "labels": {"app.kubernetes.io/part-of": "agentplane"},
        },
        "spec": {
            "compositeTypeRef": {"apiVersion": COMPOSITE_API_VERSION, "kind": KIND},
            "mode": "Pipeline",
            "pipeline": [{"step": FUNCTION_STEP, "functionRef": {"name": FUNCTION_NAME}}],
        },
    }


def function_package(version: str) -> dict[str, Any]:
    """The `pkg.crossplane.io/v1` Function, pinned to a fully qualified image."""
    return {
        "apiVersion": "pkg.crossplane.io/v1",
        "kind": "Function",
        "metadata": {
            "name": FUNCTION_NAME,
            "labels": {"app.kubernetes.io/part-of": "agentplane"},
        },
        "spec": {
            "package": f"{FUNCTION_PACKAGE}:v{version}",
            "packagePullPolicy": "IfNotPresent",
            "revisionActivationPolicy": "Automatic",
            "revisionHistoryLimit": 3,
        },
    }


def development_function(target: str = "localhost:9443") -> dict[str, Any]:
    """The Function as `crossplane render` should reach a locally running server."""
    function = function_package("0.0.0-dev")
    function["metadata"]["annotations"] = {
        "render.crossplane.io/runtime": "Development",
        "render.crossplane.io/runtime-development-target": target,
    }
    return function
