"""What the Prometheus Operator makes of an executor's composed ServiceMonitor, on this machine.

For each endpoint of each ServiceMonitor the function composed, the Operator generates one
scrape job, `serviceMonitor/<namespace>/<name>/<index>`, whose targets are the endpoints of
the Services the ServiceMonitor selects (by label, in the namespaces it names) on the named
port, with the target labels `namespace`, `service`, `endpoint`, `pod`, `container` and
`job` (the value of the Service's label named by `jobLabel` when it has one, else the
Service's name). Here the Deployment's pods are the executor's worker processes
on loopback ports; each gets those labels as static target labels.

The one difference: the scrape interval is the test Prometheus's (testbed.prometheus), not
the endpoint's `interval`, so tests see a change within seconds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from testbed.deployment import CONTAINER, Executor
from testbed.prometheus import ScrapeJob, Target
from testbed.worker import Worker


def _selects(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    if set(selector) - {"matchLabels"}:
        raise ValueError(f"selector {dict(selector)}: only matchLabels is supported")
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


def _services(executor: Executor, monitor: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The composed Services `monitor` selects."""
    namespaces = (
        monitor["spec"]
        .get("namespaceSelector", {})
        .get("matchNames", [monitor["metadata"]["namespace"]])
    )
    return [
        service
        for service in executor.resources
        if service.get("kind") == "Service"
        and service["metadata"]["namespace"] in namespaces
        and _selects(monitor["spec"]["selector"], service["metadata"].get("labels", {}))
    ]


def pod_name(executor: Executor, worker: Worker) -> str:
    """The `pod` label of a worker: the Deployment's name and, standing in for the pod's
    random suffix, the worker's port (a restarted worker gets a new port: a new pod)."""
    return f"{executor.deployment['metadata']['name']}-{worker.port}"


def scrape_jobs(executor: Executor, workers: Sequence[Worker]) -> list[ScrapeJob]:
    """The scrape jobs of the executor's ServiceMonitors, with `workers` as its pods.

    No ServiceMonitor composed (the claim turned it off): no job, as in the cluster.
    """
    jobs = []
    monitors = [r for r in executor.resources if r.get("kind") == "ServiceMonitor"]
    for monitor in monitors:
        services = _services(executor, monitor)
        if not services:
            raise ValueError(f"ServiceMonitor {monitor['metadata']['name']} selects no Service")
        for index, endpoint in enumerate(monitor["spec"]["endpoints"]):
            targets = []
            for service in services:
                ports = [p for p in service["spec"]["ports"] if p.get("name") == endpoint["port"]]
                if not ports:
                    continue
                service_labels = service["metadata"].get("labels", {})
                job_label = service_labels.get(monitor["spec"].get("jobLabel", ""), "")
                for worker in workers:
                    labels = {
                        "namespace": service["metadata"]["namespace"],
                        "service": service["metadata"]["name"],
                        "endpoint": endpoint["port"],
                        "pod": pod_name(executor, worker),
                        "container": CONTAINER,
                        "job": job_label or service["metadata"]["name"],
                    }
                    targets.append(Target(f"127.0.0.1:{worker.port}", labels))
            name = f"serviceMonitor/{monitor['metadata']['namespace']}"
            name += f"/{monitor['metadata']['name']}/{index}"
            jobs.append(
                ScrapeJob(
                    name,
                    endpoint.get("path", "/metrics"),
                    endpoint.get("scheme", "http"),
                    tuple(targets),
                )
            )
    return jobs
