"""The NetworkPolicy: ingress on 8080; egress to DNS, NATS, the namespace's stores, HTTPS."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from kubernetes.client import models as k8s

from contract.runtime import HTTP_PORT
from functions.agent_executor.builders.serialize import object_meta, to_manifest
from functions.agent_executor.names import Workload
from functions.agent_executor.spec import AgentExecutorSpec

NATS_DEFAULT_PORT = 4222
POSTGRES_PORT = 5432
DRAGONFLY_PORT = 6379
HTTPS_PORT = 443
NAMESPACE_LABEL = "kubernetes.io/metadata.name"


@dataclass(frozen=True)
class NatsEndpoint:
    """One NATS server: its port and, for in-cluster Service names, its namespace."""

    port: int
    namespace: str | None


def nats_endpoints(url: str) -> list[NatsEndpoint]:
    """Parse a comma list of NATS URLs; `svc.ns.svc[.cluster.local]` names yield the namespace."""
    endpoints: list[NatsEndpoint] = []
    for item in url.split(","):
        parts = urlsplit(item.strip())
        host = parts.hostname or ""
        labels = host.split(".")
        namespace = labels[1] if len(labels) >= 3 and labels[2] == "svc" else None
        endpoint = NatsEndpoint(port=parts.port or NATS_DEFAULT_PORT, namespace=namespace)
        if endpoint not in endpoints:
            endpoints.append(endpoint)
    return endpoints


def _tcp(port: int) -> k8s.V1NetworkPolicyPort:
    return k8s.V1NetworkPolicyPort(port=port, protocol="TCP")


def _nats_rule(endpoint: NatsEndpoint) -> k8s.V1NetworkPolicyEgressRule:
    peers = None
    if endpoint.namespace is not None:
        peers = [
            k8s.V1NetworkPolicyPeer(
                namespace_selector=k8s.V1LabelSelector(
                    match_labels={NAMESPACE_LABEL: endpoint.namespace}
                )
            )
        ]
    return k8s.V1NetworkPolicyEgressRule(to=peers, ports=[_tcp(endpoint.port)])


def build_network_policy(workload: Workload, spec: AgentExecutorSpec) -> dict[str, Any]:
    """NetworkPolicy `<name>` selecting the worker pods."""
    egress = [
        # DNS may be kube-dns or a node-local cache, so port 53 goes anywhere.
        k8s.V1NetworkPolicyEgressRule(
            ports=[
                k8s.V1NetworkPolicyPort(port=53, protocol="UDP"),
                k8s.V1NetworkPolicyPort(port=53, protocol="TCP"),
            ]
        ),
        *(_nats_rule(e) for e in nats_endpoints(spec.nats.url)),
        k8s.V1NetworkPolicyEgressRule(
            to=[k8s.V1NetworkPolicyPeer(pod_selector=k8s.V1LabelSelector())],
            ports=[_tcp(POSTGRES_PORT), _tcp(DRAGONFLY_PORT)],
        ),
        k8s.V1NetworkPolicyEgressRule(ports=[_tcp(HTTPS_PORT)]),
    ]
    return to_manifest(
        k8s.V1NetworkPolicy(
            api_version="networking.k8s.io/v1",
            kind="NetworkPolicy",
            metadata=object_meta(workload),
            spec=k8s.V1NetworkPolicySpec(
                pod_selector=k8s.V1LabelSelector(match_labels=workload.selector_labels()),
                policy_types=["Ingress", "Egress"],
                ingress=[k8s.V1NetworkPolicyIngressRule(ports=[_tcp(HTTP_PORT)])],
                egress=egress,
            ),
        )
    )
