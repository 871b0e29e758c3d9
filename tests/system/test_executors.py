"""Each example claim's executor runs with what the function rendered: its environment is the
Deployment's, resolved from the tenant's Secrets, and the NATS credentials in it put the
worker in its own tenant's account as that tenant's worker user."""

from __future__ import annotations

import httpx
import pytest

from contract import env as env_contract
from testbed.deployment import Executor, container_env
from testbed.stores import secret_data
from tests.system.conftest import NAMESPACES, Tenant

pytestmark = pytest.mark.slow

# What testbed.deployment.on_this_machine replaces: the cluster network's share.
REPLACED = {"NATS_URL", "HOST"}


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_each_worker_runs_with_exactly_the_environment_the_function_rendered(
    dev_tenants: dict[str, Tenant], namespace: str
) -> None:
    tenant = dev_tenants[namespace]
    executor = tenant.executor.executor
    running = tenant.worker.env
    rendered = container_env(
        executor.container(), namespace, tenant.platform.secrets.get, pod_name=running["POD_NAME"]
    )

    assert {k: running[k] for k in rendered if k not in REPLACED} == {
        k: v for k, v in rendered.items() if k not in REPLACED
    }
    # The worker's NATS user comes from the Deployment (secrets.nats), not from the tests.
    assert {k: rendered.get(k) for k in env_contract.NATS_KEYS} == {
        env_contract.NATS_USER: tenant.worker_user.user,
        env_contract.NATS_PASSWORD: tenant.worker_user.password,
    }


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_each_worker_is_connected_as_its_tenants_worker_user_in_its_tenants_account(
    dev_tenants: dict[str, Tenant], namespace: str
) -> None:
    tenant = dev_tenants[namespace]
    node = tenant.platform.nats.nodes[0]
    connections = httpx.get(f"http://127.0.0.1:{node.http_port}/connz?auth=true&limit=1024").json()
    named = [
        c for c in connections["connections"] if c.get("name") == tenant.executor.executor.name
    ]
    assert named, "the executor's worker is not connected"
    assert {(c["account"], c["authorized_user"]) for c in named} == {
        (namespace, tenant.worker_user.user)
    }


@pytest.mark.parametrize("namespace", NAMESPACES)
def test_each_worker_logs_in_to_the_database_and_cache_its_tenants_claims_composed(
    dev_tenants: dict[str, Tenant], stores: list[Executor], namespace: str
) -> None:
    tenant = dev_tenants[namespace]
    composed = {
        secret["metadata"]["name"]: secret_data(secret)
        for store in stores
        if store.namespace == namespace
        for secret in store.resources
        if secret.get("kind") == "Secret"
    }
    refs = {
        item["name"]: item["valueFrom"]["secretKeyRef"]
        for item in tenant.executor.executor.container()["env"]
        if "secretKeyRef" in item.get("valueFrom", {})
    }
    # Only where the stores' Services resolve differs (testbed.stores.at_local_address).
    kept = ("POSTGRES_DB", "POSTGRES_USER", "POSTGRES_PASSWORD", "DRAGONFLY_PASSWORD")
    assert {k: tenant.executor.env[k] for k in kept} == {
        k: composed[refs[k]["name"]][refs[k]["key"]] for k in kept
    }
    ready = httpx.get(f"{tenant.worker.url}/ready").json()
    assert ready["status"] == "ready", ready
