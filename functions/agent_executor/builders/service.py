"""The ClusterIP Service in front of the worker's HTTP port."""

from __future__ import annotations

from typing import Any

from contract.runtime import HTTP_PORT, HTTP_PORT_NAME
from functions.agent_executor.builders.manifest import manifest, object_meta
from functions.agent_executor.names import Workload
from functions.agent_executor.spec import AgentExecutorSpec


def build_service(workload: Workload, spec: AgentExecutorSpec) -> dict[str, Any]:
    """Service `<name>` exposing port 8080 named `http`."""
    del spec  # the Service does not depend on the spec; kept for a uniform builder signature
    port = {
        "name": HTTP_PORT_NAME,
        "port": HTTP_PORT,
        "targetPort": HTTP_PORT_NAME,
        "protocol": "TCP",
        "appProtocol": "http",
    }
    return manifest(
        "v1",
        "Service",
        object_meta(workload),
        spec={"type": "ClusterIP", "selector": workload.selector_labels(), "ports": [port]},
    )
