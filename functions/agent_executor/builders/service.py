"""The ClusterIP Service in front of the worker's HTTP port."""

from __future__ import annotations

from typing import Any

from kubernetes.client import models as k8s

from contract.runtime import HTTP_PORT, HTTP_PORT_NAME
from functions.agent_executor.builders.serialize import object_meta, to_manifest
from functions.agent_executor.names import Workload
from functions.agent_executor.spec import AgentExecutorSpec


def build_service(workload: Workload, spec: AgentExecutorSpec) -> dict[str, Any]:
    """Service `<name>` exposing port 8080 named `http`."""
    del spec  # the Service does not depend on the spec; kept for a uniform builder signature
    return to_manifest(
        k8s.V1Service(
            api_version="v1",
            kind="Service",
            metadata=object_meta(workload),
            spec=k8s.V1ServiceSpec(
                type="ClusterIP",
                selector=workload.selector_labels(),
                ports=[
                    k8s.V1ServicePort(
                        name=HTTP_PORT_NAME,
                        port=HTTP_PORT,
                        target_port=HTTP_PORT_NAME,
                        protocol="TCP",
                        app_protocol="http",
                    )
                ],
            ),
        )
    )
