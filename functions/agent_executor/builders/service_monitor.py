"""The optional Prometheus Operator ServiceMonitor for the worker's /metrics."""

from __future__ import annotations

from typing import Any

from contract.runtime import HTTP_PORT_NAME, METRICS_PATH
from functions.agent_executor.builders.serialize import custom_resource
from functions.agent_executor.names import Workload
from functions.agent_executor.spec import AgentExecutorSpec


def build_service_monitor(workload: Workload, spec: AgentExecutorSpec) -> dict[str, Any]:
    """ServiceMonitor `<name>` scraping the `http` port every 30 s."""
    del spec
    return custom_resource(
        "monitoring.coreos.com/v1",
        "ServiceMonitor",
        workload,
        spec={
            "selector": {"matchLabels": workload.selector_labels()},
            "namespaceSelector": {"matchNames": [workload.namespace]},
            "endpoints": [
                {"port": HTTP_PORT_NAME, "path": METRICS_PATH, "interval": "30s", "scheme": "http"}
            ],
        },
    )
