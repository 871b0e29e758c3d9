"""What every pod of an executor shares: restricted Pod Security, the /tmp emptyDir, secret env.

The worker Deployment and the retention CronJob both run the worker image with
the same hardening; keeping it here means neither can drift from the other.
"""

from __future__ import annotations

from typing import Any

from contract import env
from contract.runtime import RUN_AS_USER
from functions.agent_executor.names import Workload
from functions.agent_executor.spec import AgentExecutorSpec

TMP_VOLUME = "tmp"
RUNTIME_DEFAULT_SECCOMP = {"type": "RuntimeDefault"}


def secret_env(secret: str, keys: tuple[str, ...], *, optional: bool) -> list[dict[str, Any]]:
    """Environment variables read by key from `secret`."""
    extra = {"optional": True} if optional else {}
    return [
        {"name": key, "valueFrom": {"secretKeyRef": {"name": secret, "key": key, **extra}}}
        for key in keys
    ]


def plain_env(values: dict[str, str]) -> list[dict[str, Any]]:
    """Environment variables with literal values, in the order given."""
    return [{"name": name, "value": value} for name, value in values.items()]


def database_env(spec: AgentExecutorSpec) -> list[dict[str, Any]]:
    """The POSTGRES_* variables, from the spec's Postgres Secret; its TLS keys when it has them
    (a PostgresInstance's has POSTGRES_SSLMODE; a managed service's may add a CA path)."""
    return [
        *secret_env(spec.secrets.postgres, env.POSTGRES_KEYS, optional=False),
        *secret_env(spec.secrets.postgres, env.POSTGRES_TLS_KEYS, optional=True),
    ]


def restricted_security_context() -> dict[str, Any]:
    """A container security context that meets Pod Security Standard "restricted"."""
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "runAsUser": RUN_AS_USER,
        "runAsGroup": RUN_AS_USER,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": dict(RUNTIME_DEFAULT_SECCOMP),
    }


def tmp_mount() -> list[dict[str, Any]]:
    """The writable /tmp of a read-only root filesystem."""
    return [{"name": TMP_VOLUME, "mountPath": "/tmp"}]  # noqa: S108 - an emptyDir


def restricted_pod_security_context() -> dict[str, Any]:
    """The pod-level half of Pod Security Standard "restricted"."""
    return {
        "runAsNonRoot": True,
        "runAsUser": RUN_AS_USER,
        "runAsGroup": RUN_AS_USER,
        "fsGroup": RUN_AS_USER,
        "seccompProfile": dict(RUNTIME_DEFAULT_SECCOMP),
    }


def image_pull_secrets(spec: AgentExecutorSpec) -> dict[str, Any]:
    """`imagePullSecrets` of a pod or ServiceAccount, as a field to splice in (none: absent)."""
    if not spec.image_pull_secrets:
        return {}
    return {"imagePullSecrets": [{"name": s.name} for s in spec.image_pull_secrets]}


def restricted_pod_spec(
    workload: Workload,
    spec: AgentExecutorSpec,
    volumes: list[dict[str, Any]] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A pod of this executor: its ServiceAccount without a token, pull secrets, restricted PSS,
    the /tmp emptyDir and `volumes`; `fields` (wire names) add the containers and the rest."""
    return {
        "serviceAccountName": workload.name,
        "automountServiceAccountToken": False,
        **image_pull_secrets(spec),
        "securityContext": restricted_pod_security_context(),
        "volumes": [*tmp_volumes(), *(volumes or [])],
        **fields,
    }


def tmp_volumes() -> list[dict[str, Any]]:
    """The emptyDir behind /tmp."""
    return [{"name": TMP_VOLUME, "emptyDir": {"sizeLimit": "1Gi"}}]
