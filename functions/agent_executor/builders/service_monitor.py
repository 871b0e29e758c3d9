"""The Prometheus Operator ServiceMonitor for the worker's /metrics (on by default)."""

from __future__ import annotations

from typing import Any

from contract.runtime import HTTP_PORT_NAME, METRICS_PATH
from functions.agent_executor.builders.manifest import custom_resource
from functions.agent_executor.names import Workload
from functions.agent_executor.spec import AgentExecutorSpec

# The Service label whose value becomes the `job` label of every scraped series, so every
# tenant's executors share job="agent-executor" and one alert rule covers them all.
JOB_LABEL = "app.kubernetes.io/component"


def build_service_monitor(workload: Workload, spec: AgentExecutorSpec) -> dict[str, Any]:
    """ServiceMonitor `<name>` scraping the `http` port every 30 s.

    It carries `serviceMonitor.labels` (default `release: kube-prometheus-stack`) so the
    cluster's Prometheus selects it; admission keeps them off the standard label keys.
    """
    monitor = custom_resource(
        "monitoring.coreos.com/v1",
        "ServiceMonitor",
        workload,
        spec={
            "jobLabel": JOB_LABEL,
            "selector": {"matchLabels": workload.selector_labels()},
            "namespaceSelector": {"matchNames": [workload.namespace]},
            "endpoints": [
                {"port": HTTP_PORT_NAME, "path": METRICS_PATH, "interval": "30s", "scheme": "http"}
            ],
        },
    )
    monitor["metadata"]["labels"] = {**spec.service_monitor.labels, **workload.labels()}
    return monitor
