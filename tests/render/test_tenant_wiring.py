"""The reference tenant end to end: its three claims, rendered together, wire up (issue 14).

`claims/intelligence-deepagents/` holds an AgentExecutor, a PostgresInstance and a
DragonflyInstance. Rendered through the platform's Compositions and the real function over
gRPC, every `secretKeyRef` of the executor's Deployment must name a Secret and key that exists
in the namespace (the database and cache keys: made by the two compositions; the others: by
the tenant's ExternalSecrets and the platform's generated ones), the hosts must be the
Services the operators create, and the executor's NetworkPolicy must let it reach the
database and cache pods on their ports, and nothing else of the namespace on those ports.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contract import env, stores
from functions.render.claims import find_claims
from functions.render.cli import DEFAULT_COMPOSITIONS, DEFAULT_FUNCTIONS
from functions.render.engine import Engine, Rendered
from functions.render.yaml_io import load_stream
from tests.conftest import ROOT

pytestmark = pytest.mark.slow

NAMESPACE = "intelligence-deepagents"
TENANT = ROOT / "claims" / NAMESPACE
GENERATED = ROOT / "platform" / "tenants" / "generated" / NAMESPACE


@pytest.fixture(scope="module")
def rendered() -> Iterator[dict[str, Rendered]]:
    """Kind → what the tenant's claim of that kind renders to."""
    claims = find_claims([TENANT])
    compositions = [load_stream(path)[0] for path in DEFAULT_COMPOSITIONS]
    with Engine(ROOT, compositions, load_stream(DEFAULT_FUNCTIONS)) as engine:
        yield {claim.kind: engine.render(claim.document) for claim in claims}


def _of_kind(result: Rendered, kind: str) -> dict[str, Any]:
    [found] = [r for r in result.resources if r["kind"] == kind]
    return found


def _secrets(result: Rendered) -> dict[str, dict[str, str]]:
    """Composed Secret name → its decoded data."""
    return {
        r["metadata"]["name"]: {
            k: base64.b64decode(v).decode() for k, v in (r.get("data") or {}).items()
        }
        for r in result.resources
        if r["kind"] == "Secret"
    }


def _external_secret_keys(folder: Path) -> dict[str, set[str]]:
    """Secret name → keys, for every ExternalSecret under `folder` (template keys win)."""
    made: dict[str, set[str]] = {}
    for path in sorted(folder.rglob("*.yaml")):
        for doc in load_stream(path):
            if doc.get("kind") != "ExternalSecret" or doc["metadata"]["namespace"] != NAMESPACE:
                continue
            target = doc["spec"].get("target", {})
            template = (target.get("template") or {}).get("data")
            keys = set(template) if template else {d["secretKey"] for d in doc["spec"]["data"]}
            made[target.get("name", doc["metadata"]["name"])] = keys
    return made


def _deployment_refs(deployment: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    """(container, Secret, key, optional) of every secretKeyRef in the pod template."""
    pod = deployment["spec"]["template"]["spec"]
    return [
        (c["name"], ref["name"], ref["key"], bool(ref.get("optional")))
        for c in pod.get("initContainers", []) + pod["containers"]
        for e in c.get("env", [])
        if (ref := (e.get("valueFrom") or {}).get("secretKeyRef"))
    ]


def test_the_reference_tenant_claims_all_three_kinds(rendered: dict[str, Rendered]) -> None:
    assert sorted(rendered) == ["AgentExecutor", "DragonflyInstance", "PostgresInstance"]


def test_every_secret_key_the_executor_reads_exists_in_its_namespace(
    rendered: dict[str, Rendered],
) -> None:
    deployment = _of_kind(rendered["AgentExecutor"], "Deployment")
    composed = {
        **_secrets(rendered["PostgresInstance"]),
        **_secrets(rendered["DragonflyInstance"]),
    }
    external = {**_external_secret_keys(TENANT), **_external_secret_keys(GENERATED)}
    refs = _deployment_refs(deployment)
    store_keys = {*env.POSTGRES_KEYS, *env.DRAGONFLY_KEYS, *env.DRAGONFLY_OPTIONAL_KEYS}

    assert {key for _, _, key, _ in refs} >= store_keys
    for container, secret, key, optional in refs:
        where = f"{container}: {secret}/{key}"
        if key in store_keys:
            # The database and cache keys come from the compositions, nowhere else.
            assert secret in composed, f"{where}: no PostgresInstance or DragonflyInstance makes it"
            assert key in composed[secret], f"{where}: the composed Secret has no such key"
            assert secret not in external, f"{where}: also made by an ExternalSecret"
        else:
            assert secret in external or optional, f"{where}: nothing makes this Secret"
            if secret in external:
                assert key in external[secret] or optional, f"{where}: the Secret lacks the key"


def test_the_composed_secrets_hold_exactly_the_contract_keys(
    rendered: dict[str, Rendered],
) -> None:
    postgres = _secrets(rendered["PostgresInstance"])["postgres-connection"]
    dragonfly = _secrets(rendered["DragonflyInstance"])["dragonfly-connection"]
    assert set(postgres) == set(env.POSTGRES_CONNECTION_KEYS)
    assert set(dragonfly) == set(env.DRAGONFLY_CONNECTION_KEYS)


def test_the_hosts_are_the_services_the_operators_create(rendered: dict[str, Rendered]) -> None:
    cluster = _of_kind(rendered["PostgresInstance"], "Cluster")
    dragonfly = _of_kind(rendered["DragonflyInstance"], "Dragonfly")
    postgres = _secrets(rendered["PostgresInstance"])["postgres-connection"]
    cache = _secrets(rendered["DragonflyInstance"])["dragonfly-connection"]

    # CloudNativePG serves the primary as `<cluster>-rw`; the Dragonfly operator the master
    # as `<dragonfly>`; both in the namespace of the resource.
    assert postgres["POSTGRES_HOST"] == f"{cluster['metadata']['name']}-rw.{NAMESPACE}.svc"
    assert postgres["POSTGRES_PORT"] == str(stores.POSTGRES_PORT)
    init = cluster["spec"]["bootstrap"]["initdb"]
    assert (postgres["POSTGRES_DB"], postgres["POSTGRES_USER"]) == (init["database"], init["owner"])
    assert cache["DRAGONFLY_HOST"] == f"{dragonfly['metadata']['name']}.{NAMESPACE}.svc"
    assert cache["DRAGONFLY_PORT"] == str(stores.DRAGONFLY_PORT)
    # Dragonfly requires the very password the executor is given.
    secret_ref = dragonfly["spec"]["authentication"]["passwordFromSecret"]
    assert (secret_ref["name"], secret_ref["key"]) == ("dragonfly-connection", "DRAGONFLY_PASSWORD")


# --- the NetworkPolicy, evaluated as the API defines it -------------------------------------------


def _matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A LabelSelector against labels: every matchLabels pair and every expression holds."""
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values")
        present = key in labels
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
        if operator == "In" and labels.get(key) not in (values or []):
            return False
        if operator == "NotIn" and present and labels[key] in (values or []):
            return False
    return True


def egress_admits(
    policy: dict[str, Any], pod_labels: dict[str, str], namespace: str, port: int
) -> bool:
    """Does `policy` let its pods open `port` to a pod with `pod_labels` in `namespace`?"""
    own = policy["metadata"]["namespace"]
    namespace_labels = {"kubernetes.io/metadata.name": namespace}
    for rule in policy["spec"].get("egress", []):
        ports = rule.get("ports")
        if ports and not any(p.get("port") == port and p.get("protocol") == "TCP" for p in ports):
            continue
        peers = rule.get("to")
        if not peers:
            return True
        for peer in peers:
            if "ipBlock" in peer:
                continue  # pod IPs are not in the platform's external CIDRs here
            pods = peer.get("podSelector")
            namespaces = peer.get("namespaceSelector")
            in_namespace = (
                _matches(namespaces, namespace_labels)
                if namespaces is not None
                else namespace == own
            )
            if in_namespace and (pods is None or _matches(pods, pod_labels)):
                return True
    return False


def test_the_network_policy_lets_the_executor_reach_its_database_and_cache(
    rendered: dict[str, Rendered],
) -> None:
    executor = rendered["AgentExecutor"]
    policy = _of_kind(executor, "NetworkPolicy")
    deployment = _of_kind(executor, "Deployment")
    cluster = _of_kind(rendered["PostgresInstance"], "Cluster")
    dragonfly = _of_kind(rendered["DragonflyInstance"], "Dragonfly")
    postgres_pods = cluster["spec"]["inheritedMetadata"]["labels"]
    dragonfly_pods = dragonfly["spec"]["podMetadata"]["labels"]

    # The policy is about the executor's pods...
    assert _matches(
        policy["spec"]["podSelector"], deployment["spec"]["template"]["metadata"]["labels"]
    )
    assert "Egress" in policy["spec"]["policyTypes"]
    # ...which may open the database's and the cache's ports on their pods,
    assert egress_admits(policy, postgres_pods, NAMESPACE, stores.POSTGRES_PORT)
    assert egress_admits(policy, dragonfly_pods, NAMESPACE, stores.DRAGONFLY_PORT)
    # but not those ports on any other pod of the namespace, nor of another namespace.
    assert not egress_admits(policy, {"app": "something-else"}, NAMESPACE, stores.POSTGRES_PORT)
    assert not egress_admits(policy, dragonfly_pods, NAMESPACE, stores.POSTGRES_PORT)
    assert not egress_admits(policy, postgres_pods, "intelligence-analytics", stores.POSTGRES_PORT)


def test_the_network_policy_evaluator_reads_selectors_as_kubernetes_does() -> None:
    policy = {
        "metadata": {"namespace": "a"},
        "spec": {
            "egress": [
                {
                    "to": [
                        {"podSelector": {"matchExpressions": [{"key": "x", "operator": "Exists"}]}}
                    ],
                    "ports": [{"port": 1, "protocol": "TCP"}],
                },
                {
                    "to": [
                        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "b"}}}
                    ],
                    "ports": [{"port": 2, "protocol": "TCP"}],
                },
                {"ports": [{"port": 3, "protocol": "TCP"}]},
            ]
        },
    }
    assert egress_admits(policy, {"x": "1"}, "a", 1)
    assert not egress_admits(policy, {"x": "1"}, "b", 1)
    assert not egress_admits(policy, {}, "a", 1)
    assert egress_admits(policy, {}, "b", 2) and not egress_admits(policy, {}, "a", 2)
    assert egress_admits(policy, {}, "anywhere", 3)
