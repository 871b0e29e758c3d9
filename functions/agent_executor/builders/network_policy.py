"""The NetworkPolicy: ingress on 8080 from the callers the claim admits; egress to DNS, NATS,
the namespace's stores, HTTPS.

Egress to the stores is by label (DESIGN section 3b): the PostgreSQL pods of the namespace's
PostgresInstances on 5432 and the Dragonfly pods of its DragonflyInstances on 6379, which the
database compositions label with `contract.stores.STORE_LABEL`; no other pod of the
namespace. Databases outside the cluster are reached through the CIDRs the claim lists in
`networkPolicy.externalStores`.

Ingress names who may call the worker (DESIGN section 3, `api`): pods of the executor's own
namespace, of each namespace in `api.allowFrom`, and of the monitoring namespace for
/metrics. The kubelet's probes need no rule: traffic from a pod's own node is always
allowed (Kubernetes' NetworkPolicy semantics, which the common CNIs follow).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from contract import stores
from contract.runtime import HTTP_PORT
from functions.agent_executor.builders.manifest import custom_resource
from functions.agent_executor.names import Workload
from functions.agent_executor.spec import AgentExecutorSpec

NATS_DEFAULT_PORT = 4222
POSTGRES_PORT = stores.POSTGRES_PORT
DRAGONFLY_PORT = stores.DRAGONFLY_PORT
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


def _tcp(port: int) -> dict[str, Any]:
    return {"port": port, "protocol": "TCP"}


def _namespace_peer(namespace: str) -> dict[str, Any]:
    # The API server sets kubernetes.io/metadata.name to every namespace's own name (1.21+)
    # and keeps it so: no namespace can be labelled into another one's place.
    return {"namespaceSelector": {"matchLabels": {NAMESPACE_LABEL: namespace}}}


def _nats_rule(endpoint: NatsEndpoint) -> dict[str, Any]:
    peers = {} if endpoint.namespace is None else {"to": [_namespace_peer(endpoint.namespace)]}
    return {**peers, "ports": [_tcp(endpoint.port)]}


def _store_rule(store: str, port: int) -> dict[str, Any]:
    # A pod selector without a namespace selector: pods of this namespace only.
    selector = {"matchLabels": {stores.STORE_LABEL: store}}
    return {"to": [{"podSelector": selector}], "ports": [_tcp(port)]}


def store_rules(spec: AgentExecutorSpec) -> list[dict[str, Any]]:
    """Egress to the namespace's database and cache pods, then to each external store."""
    return [
        _store_rule(stores.POSTGRES_STORE, POSTGRES_PORT),
        _store_rule(stores.DRAGONFLY_STORE, DRAGONFLY_PORT),
        *(
            {
                "to": [{"ipBlock": {"cidr": external.cidr}}],
                "ports": [_tcp(port) for port in dict.fromkeys(external.ports)],
            }
            for external in spec.network_policy.external_stores
        ),
    ]


def caller_namespaces(workload: Workload, spec: AgentExecutorSpec) -> list[str]:
    """Other namespaces admitted to port 8080: monitoring, then `api.allowFrom`, each once."""
    # dict.fromkeys keeps the first occurrence in order: a stable render, no duplicate peers.
    admitted = dict.fromkeys([spec.api.monitoring_namespace, *spec.api.allow_from])
    admitted.pop(workload.namespace, None)  # already admitted by the own-namespace peer
    return list(admitted)


def _ingress(workload: Workload, spec: AgentExecutorSpec) -> list[dict[str, Any]]:
    peers = [
        # An empty pod selector without a namespace selector: every pod of this namespace.
        {"podSelector": {}},
        *(_namespace_peer(ns) for ns in caller_namespaces(workload, spec)),
    ]
    return [{"from": peers, "ports": [_tcp(HTTP_PORT)]}]


def build_network_policy(workload: Workload, spec: AgentExecutorSpec) -> dict[str, Any]:
    """NetworkPolicy `<name>` selecting the worker pods."""
    egress = [
        # DNS may be kube-dns or a node-local cache, so port 53 goes anywhere.
        {"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]},
        *(_nats_rule(e) for e in nats_endpoints(spec.nats.url)),
        *store_rules(spec),
        {"ports": [_tcp(HTTPS_PORT)]},
    ]
    return custom_resource(
        "networking.k8s.io/v1",
        "NetworkPolicy",
        workload,
        spec={
            "podSelector": {"matchLabels": workload.selector_labels()},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": _ingress(workload, spec),
            "egress": egress,
        },
    )
