"""Build the XRDs and the Compositions of every API the function serves, from the spec models.

`make golden` writes them to `platform/apis/<api>/` (agent-executor, postgres-instance,
dragonfly-instance); a test checks the committed files against a fresh build, so the APIs and
the function can never drift apart. All three Compositions call the one Function.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from functions.agent_executor.databases.spec import (
    DRAGONFLY_KIND,
    DRAGONFLY_PLURAL,
    POSTGRES_KIND,
    POSTGRES_PLURAL,
    DragonflyInstanceSpec,
    DragonflyInstanceStatus,
    PostgresInstanceSpec,
    PostgresInstanceStatus,
)
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


@dataclass(frozen=True)
class ApiDefinition:
    """One XR kind this repository defines: its names, spec and status models, columns."""

    kind: str
    plural: str
    spec: type[BaseModel]
    status: type[BaseModel]
    # Folder under platform/apis/ and name of the Composition.
    slug: str
    printer_columns: list[dict[str, Any]] = field(default_factory=list)
    # Every spec field has a default: `spec` may be left out of a claim.
    spec_optional: bool = False

    @property
    def composition_name(self) -> str:
        """The Composition's name (the XRD's default composition)."""
        return self.slug

    @property
    def function_step(self) -> str:
        """The pipeline step's name."""
        return f"compose-{self.slug}"


AGENT_EXECUTOR = ApiDefinition(
    kind=KIND,
    plural=PLURAL,
    spec=AgentExecutorSpec,
    status=AgentExecutorStatus,
    slug=COMPOSITION_NAME,
    printer_columns=[
        {"name": "Image", "type": "string", "jsonPath": ".status.image", "priority": 1},
        {"name": "Ready Replicas", "type": "integer", "jsonPath": ".status.readyReplicas"},
        {"name": "Stream", "type": "string", "jsonPath": ".status.stream", "priority": 1},
        {"name": "Endpoint", "type": "string", "jsonPath": ".status.endpoint", "priority": 1},
    ],
)
POSTGRES_INSTANCE = ApiDefinition(
    kind=POSTGRES_KIND,
    plural=POSTGRES_PLURAL,
    spec=PostgresInstanceSpec,
    status=PostgresInstanceStatus,
    slug="postgres-instance",
    printer_columns=[
        {"name": "Version", "type": "integer", "jsonPath": ".status.version", "priority": 1},
        {"name": "Ready Instances", "type": "integer", "jsonPath": ".status.readyInstances"},
        {"name": "Phase", "type": "string", "jsonPath": ".status.phase", "priority": 1},
        {"name": "Secret", "type": "string", "jsonPath": ".status.connectionSecret"},
        {"name": "Endpoint", "type": "string", "jsonPath": ".status.endpoint", "priority": 1},
    ],
    spec_optional=True,
)
DRAGONFLY_INSTANCE = ApiDefinition(
    kind=DRAGONFLY_KIND,
    plural=DRAGONFLY_PLURAL,
    spec=DragonflyInstanceSpec,
    status=DragonflyInstanceStatus,
    slug="dragonfly-instance",
    printer_columns=[
        {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
        {"name": "Secret", "type": "string", "jsonPath": ".status.connectionSecret"},
        {"name": "Endpoint", "type": "string", "jsonPath": ".status.endpoint", "priority": 1},
    ],
    spec_optional=True,
)
APIS: tuple[ApiDefinition, ...] = (AGENT_EXECUTOR, POSTGRES_INSTANCE, DRAGONFLY_INSTANCE)
API_BY_KIND: dict[str, ApiDefinition] = {api.kind: api for api in APIS}


def openapi_v3_schema(api: ApiDefinition = AGENT_EXECUTOR) -> dict[str, Any]:
    """The XR's full openAPIV3 schema: spec and the status the function writes."""
    spec = structural_schema(api.spec)
    schema: dict[str, Any] = {"type": "object"}
    if api.spec_optional:
        spec["default"] = {}
    else:
        schema["required"] = ["spec"]
    schema["properties"] = {"spec": spec, "status": structural_schema(api.status)}
    return schema


def composite_resource_definition(api: ApiDefinition = AGENT_EXECUTOR) -> dict[str, Any]:
    """The Crossplane 2.x XRD (`apiextensions.crossplane.io/v2`, namespaced)."""
    return {
        "apiVersion": "apiextensions.crossplane.io/v2",
        "kind": "CompositeResourceDefinition",
        "metadata": {
            "name": f"{api.plural}.{API_GROUP}",
            "labels": {"app.kubernetes.io/part-of": "agentplane"},
        },
        "spec": {
            "group": API_GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": api.kind,
                "listKind": f"{api.kind}List",
                "plural": api.plural,
                "singular": api.kind.lower(),
                "categories": ["crossplane", "agentplane"],
            },
            "defaultCompositionRef": {"name": api.composition_name},
            "versions": [
                {
                    "name": API_VERSION,
                    "served": True,
                    "referenceable": True,
                    "additionalPrinterColumns": api.printer_columns,
                    "schema": {"openAPIV3Schema": openapi_v3_schema(api)},
                }
            ],
        },
    }


def composition(api: ApiDefinition = AGENT_EXECUTOR) -> dict[str, Any]:
    """The Pipeline Composition: one step that calls this repository's function."""
    return {
        "apiVersion": "apiextensions.crossplane.io/v1",
        "kind": "Composition",
        "metadata": {
            "name": api.composition_name,
            "labels": {"app.kubernetes.io/part-of": "agentplane"},
        },
        "spec": {
            "compositeTypeRef": {"apiVersion": COMPOSITE_API_VERSION, "kind": api.kind},
            "mode": "Pipeline",
            "pipeline": [{"step": api.function_step, "functionRef": {"name": FUNCTION_NAME}}],
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
