"""The ServiceAccount the worker pods run as."""

from __future__ import annotations

from typing import Any

from kubernetes.client import models as k8s

from functions.agent_executor.builders.serialize import object_meta, to_manifest
from functions.agent_executor.names import Workload
from functions.agent_executor.spec import AgentExecutorSpec


def build_service_account(workload: Workload, spec: AgentExecutorSpec) -> dict[str, Any]:
    """A ServiceAccount that mounts no API token: the worker never calls the API server."""
    return to_manifest(
        k8s.V1ServiceAccount(
            api_version="v1",
            kind="ServiceAccount",
            metadata=object_meta(workload),
            automount_service_account_token=False,
            image_pull_secrets=[
                k8s.V1LocalObjectReference(name=s.name) for s in spec.image_pull_secrets
            ]
            or None,
        )
    )
