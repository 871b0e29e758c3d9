"""Who may call the worker (DESIGN section 3, `api`): NetworkPolicy ingress and the token env."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from functions.agent_executor.builders.deployment import build_deployment
from functions.agent_executor.builders.network_policy import build_network_policy
from functions.agent_executor.names import CONTAINER, Workload

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


# --- the Deployment's environment -------------------------------------------------------------


def _worker_env(api: dict[str, Any] | None) -> list[dict[str, Any]]:
    pod = build_deployment(WORKLOAD, _spec(api))["spec"]["template"]["spec"]
    container = next(c for c in pod["containers"] if c["name"] == CONTAINER)
    env: list[dict[str, Any]] = container["env"]
    return env


TOKEN_FROM_SECRET = {
    "name": "API_TOKEN",
    "valueFrom": {"secretKeyRef": {"name": "executor-api-token", "key": "API_TOKEN"}},
}


@pytest.mark.parametrize(
    ("api", "token_env"),
    [
        pytest.param(None, [], id="no-api-block"),
        pytest.param({"allowFrom": ["team-b"]}, [], id="allow-from-only"),
        pytest.param({"tokenSecret": "executor-api-token"}, [TOKEN_FROM_SECRET], id="token"),
    ],
)
def test_api_token_comes_by_key_from_the_token_secret_only_when_one_is_named(
    api: dict[str, Any] | None, token_env: list[dict[str, Any]]
) -> None:
    # Not optional (no `optional: true`): without its Secret the pod must not start open.
    env = _worker_env(api)

    assert [e for e in env if e["name"] == "API_TOKEN"] == token_env


def test_api_token_comes_before_the_tenant_env() -> None:
    spec = spec_with(api={"tokenSecret": "t"}, env=[{"name": "LOG_LEVEL", "value": "debug"}])
    pod = build_deployment(WORKLOAD, spec)["spec"]["template"]["spec"]
    names = [e["name"] for e in pod["containers"][0]["env"]]

    assert names[-2:] == ["API_TOKEN", "LOG_LEVEL"]


def test_the_deployment_tells_the_worker_to_listen_on_the_pod_address() -> None:
    host = [e for e in _worker_env(None) if e["name"] == "HOST"]

    assert host == [{"name": "HOST", "value": "0.0.0.0"}]
