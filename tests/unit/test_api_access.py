"""Who may call the worker (DESIGN section 3, `api`): the NetworkPolicy's ingress."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from functions.agent_executor.builders.network_policy import build_network_policy
from functions.agent_executor.names import Workload

from .xr_helpers import WORKLOAD, spec_with

OWN_NAMESPACE: dict[str, Any] = {"podSelector": {}}
HTTP_ONLY = [{"port": 8080, "protocol": "TCP"}]


def namespace(name: str) -> dict[str, Any]:
    """The peer that admits every pod of namespace `name`."""
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}}}


@dataclass(frozen=True)
class IngressCase:
    """A claim's `api` block and the peers the NetworkPolicy must admit to port 8080."""

    id: str
    api: dict[str, Any] | None
    peers: list[dict[str, Any]]
    workload: Workload = field(default=WORKLOAD)


INGRESS_CASES = [
    IngressCase("no-api-block", None, [OWN_NAMESPACE, namespace("monitoring")]),
    IngressCase("empty-allow-from", {"allowFrom": []}, [OWN_NAMESPACE, namespace("monitoring")]),
    IngressCase(
        "allow-from-two-namespaces",
        {"allowFrom": ["intelligence-orchestrator", "team-b"]},
        [
            OWN_NAMESPACE,
            namespace("monitoring"),
            namespace("intelligence-orchestrator"),
            namespace("team-b"),
        ],
    ),
    IngressCase(
        "custom-monitoring-namespace",
        {"monitoringNamespace": "observability"},
        [OWN_NAMESPACE, namespace("observability")],
    ),
    IngressCase(
        "duplicates-and-the-own-namespace-are-admitted-once",
        {"allowFrom": ["team-b", "team-a", "team-b", "monitoring"]},
        [OWN_NAMESPACE, namespace("monitoring"), namespace("team-b")],
    ),
    IngressCase(
        "monitoring-in-the-own-namespace",
        {"monitoringNamespace": "team-a"},
        [OWN_NAMESPACE],
    ),
    IngressCase(
        "token-secret-does-not-change-who-may-connect",
        {"tokenSecret": "api-token"},
        [OWN_NAMESPACE, namespace("monitoring")],
    ),
]


def _spec(api: dict[str, Any] | None) -> Any:
    return spec_with() if api is None else spec_with(api=api)


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in INGRESS_CASES])
def test_ingress_admits_port_8080_from_exactly_the_listed_namespaces(case: IngressCase) -> None:
    policy = build_network_policy(case.workload, _spec(case.api))["spec"]

    assert policy["ingress"] == [{"from": case.peers, "ports": HTTP_ONLY}]


def test_allow_from_leaves_egress_as_it_was() -> None:
    before = build_network_policy(WORKLOAD, spec_with())["spec"]["egress"]
    after = build_network_policy(
        WORKLOAD, spec_with(api={"allowFrom": ["team-b"], "monitoringNamespace": "obs"})
    )["spec"]["egress"]

    assert after == before
