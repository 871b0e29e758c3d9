"""The ServiceAccount the worker pods run as."""

from __future__ import annotations

from typing import Any

from functions.agent_executor.builders.manifest import manifest, object_meta
from functions.agent_executor.builders.pod import image_pull_secrets
from functions.agent_executor.names import Workload
from functions.agent_executor.spec import AgentExecutorSpec


def build_service_account(workload: Workload, spec: AgentExecutorSpec) -> dict[str, Any]:
    """A ServiceAccount that mounts no API token: the worker never calls the API server."""
    return manifest(
        "v1",
        "ServiceAccount",
        object_meta(workload),
        automountServiceAccountToken=False,
        **image_pull_secrets(spec),
    )
