"""A tenant of the platform on this machine: its Secrets, its database, its executor's workers.

What the cluster would hold in the tenant's namespace is made here from the same sources:
the NATS credentials from the ExternalSecrets `make tenants` generated
(platform/tenants/generated/<namespace>/), the tenant's own ExternalSecrets from its claim
folder (claims/<namespace>/external-secrets/, e.g. `llm-keys`), and the connection Secrets its
PostgresInstance and DragonflyInstance compose (testbed/stores.py runs those stores).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contract import env as env_contract
from contract.nats import subject_token
from functions.render.yaml_io import load_stream
from scripts.tenancy.credentials import TENANT_SECRETS
from scripts.tenancy.manifests import GENERATED_DIR
from testbed.deployment import (
    Executor,
    container_env,
    on_this_machine,
    pod_name_variables,
    run_init_containers,
)
from testbed.external_secrets import (
    ExternalSecretError,
    ParameterStore,
    SecretStore,
    external_secrets,
    resolve,
)
from testbed.worker import Worker

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Credentials:
    """A NATS user and password, as the credential Secrets carry them."""

    user: str
    password: str = field(repr=False)

    @classmethod
    def of(cls, data: Mapping[str, str]) -> Credentials:
        return cls(data[env_contract.NATS_USER], data[env_contract.NATS_PASSWORD])


def generated_documents(namespace: str, root: Path = ROOT) -> list[dict[str, Any]]:
    """What `make tenants` generated for the tenant's namespace (credentials, NACK objects)."""
    return load_stream(root / GENERATED_DIR / namespace / "nats.yaml")


def claim_external_secrets(namespace: str, root: Path = ROOT) -> list[dict[str, Any]]:
    """The tenant's own ExternalSecrets, beside its claims."""
    return external_secrets(sorted((root / "claims" / namespace).rglob("*.yaml")))


def publish_nats_secrets(
    namespace: str, parameters: ParameterStore, secrets: SecretStore, root: Path = ROOT
) -> None:
    """The tenant's NATS credential Secrets, resolved from the generated ExternalSecrets.

    Their parameters must already be in `parameters` (the server's passwords): a Secret
    pointing at a parameter the server does not read would fail here as its sync would.
    """
    for document in generated_documents(namespace, root):
        if document.get("kind") == "ExternalSecret":
            made = resolve(document, parameters)
            secrets.put(made.namespace, made.name, made.data)


def credentials(secrets: SecretStore, namespace: str, role: str) -> Credentials:
    """The NATS credentials of `role` (worker, producer, nack) in the tenant's namespace."""
    data = secrets.get(namespace, TENANT_SECRETS[role])
    if data is None:
        raise ExternalSecretError(f"no Secret {namespace}/{TENANT_SECRETS[role]}")
    return Credentials.of(data)


def _keys_read(containers: Iterable[Mapping[str, Any]]) -> dict[str, set[str]]:
    """Secret name → the keys the containers read from it (`*` for envFrom: every key)."""
    read: dict[str, set[str]] = {}
    for container in containers:
        for item in container.get("env", []):
            ref = item.get("valueFrom", {}).get("secretKeyRef")
            if ref is not None:
                read.setdefault(ref["name"], set()).add(ref["key"])
        for source in container.get("envFrom", []):
            if "secretRef" in source:
                read.setdefault(source["secretRef"]["name"], set()).add("*")
    return read


def provide_secrets(
    executor: Executor,
    secrets: SecretStore,
    parameters: ParameterStore,
    root: Path = ROOT,
) -> None:
    """Every Secret the executor's containers read, in its namespace.

    Already present (the NATS credentials, the Secrets the tenant's database and cache
    compositions produced): kept. Made by one of the tenant's own ExternalSecrets: resolved,
    after storing a random value for each parameter it names that Parameter Store lacks (the
    tenant's operator puts its API keys there). Any other Secret is an error: nothing in the
    cluster would create it either.
    """
    namespace = executor.namespace
    pod = executor.pod_spec
    own = {
        d["spec"].get("target", {}).get("name", d["metadata"]["name"]): d
        for d in claim_external_secrets(namespace, root)
    }
    for name, keys in _keys_read([*pod["containers"], *pod.get("initContainers", [])]).items():
        if secrets.get(namespace, name) is not None:
            continue
        if name not in own:
            raise ExternalSecretError(
                f"{namespace}: nothing provides Secret {name} (keys {sorted(keys)}): no "
                "ExternalSecret in the claim folder makes it and no PostgresInstance or "
                "DragonflyInstance of the tenant composes it"
            )
        for item in own[name]["spec"].get("data", []):
            if item["remoteRef"]["key"] not in parameters.values:
                parameters.put(item["remoteRef"]["key"])
        secrets.put(namespace, name, resolve(own[name], parameters).data)


def execute_subject(stream_documents: Iterable[Mapping[str, Any]], stream: str, job_id: str) -> str:
    """The subject a producer publishes `job_id` on to reach `stream` (its first subject's
    pattern with the job id as the last token)."""
    for document in stream_documents:
        if document.get("kind") == "Stream" and document["spec"]["name"] == stream:
            pattern = str(document["spec"]["subjects"][0])
            if not pattern.endswith(".*"):
                raise ValueError(f"stream {stream} subject {pattern} has no job token")
            return pattern[:-1] + subject_token(job_id)
    raise ValueError(f"no Stream {stream} among the tenant's NACK objects")


def pod_name(executor: Executor) -> str:
    """A new pod name of the executor's Deployment, shaped as a ReplicaSet names its pods."""
    return f"{executor.name}-{uuid.uuid4().hex[:10]}-{uuid.uuid4().hex[:5]}"


@dataclass
class TenantExecutor:
    """An executor's workers with the environment the function rendered for them.

    `env` is the first pod's; every worker started is a pod of its own: the variables the
    Deployment fills with the pod's name get a new one.
    """

    executor: Executor
    env: dict[str, str]
    workers: list[Worker] = field(default_factory=list)

    @property
    def stream(self) -> str:
        return self.env["NATS_STREAM_NAME"]

    def pod_env(self) -> dict[str, str]:
        """The environment of a new pod: `env` with a pod name of its own."""
        name = pod_name(self.executor)
        return {**self.env, **dict.fromkeys(pod_name_variables(self.executor.container()), name)}

    def start(self, count: int, log_dir: Path) -> list[Worker]:
        """Start `count` workers (pods of the Deployment)."""
        started = []
        for _ in range(count):
            worker = Worker(self.pod_env(), inherit_environment=False, log_dir=log_dir)
            self.workers.append(worker)
            started.append(worker.start())
        return started

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()


def prepare_executor(
    executor: Executor,
    secrets: SecretStore,
    parameters: ParameterStore,
    *,
    nats_urls: Iterable[str],
    openai_base_url: str,
    home: Path,
) -> TenantExecutor:
    """Provide the Secrets the Deployment reads (`provide_secrets`), run its init containers
    and resolve the worker's environment."""
    provide_secrets(executor, secrets, parameters)
    run_init_containers(executor, secrets.get)
    rendered = container_env(
        executor.container(), executor.namespace, secrets.get, pod_name=pod_name(executor)
    )
    home.mkdir(parents=True, exist_ok=True)
    env = on_this_machine(rendered, nats_urls=nats_urls, openai_base_url=openai_base_url, home=home)
    return TenantExecutor(executor, env)
