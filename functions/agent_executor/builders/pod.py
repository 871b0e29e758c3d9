"""What every pod of an executor shares: restricted Pod Security, the /tmp emptyDir, secret env.

The worker Deployment and the retention CronJob both run the worker image with
the same hardening; keeping it here means neither can drift from the other.
"""

from __future__ import annotations

from typing import Any

from kubernetes.client import models as k8s

from contract import env
from contract.runtime import RUN_AS_USER
from functions.agent_executor.names import Workload
from functions.agent_executor.spec import AgentExecutorSpec

TMP_VOLUME = "tmp"


def secret_env(secret: str, keys: tuple[str, ...], *, optional: bool) -> list[k8s.V1EnvVar]:
    """Environment variables read by key from `secret`."""
    return [
        k8s.V1EnvVar(
            name=key,
            value_from=k8s.V1EnvVarSource(
                secret_key_ref=k8s.V1SecretKeySelector(
                    name=secret, key=key, optional=True if optional else None
                )
            ),
        )
        for key in keys
    ]


def database_env(spec: AgentExecutorSpec) -> list[k8s.V1EnvVar]:
    """The POSTGRES_* variables, from the spec's Postgres Secret; its TLS keys when it has them
    (a PostgresInstance's has POSTGRES_SSLMODE; a managed service's may add a CA path)."""
    return [
        *secret_env(spec.secrets.postgres, env.POSTGRES_KEYS, optional=False),
        *secret_env(spec.secrets.postgres, env.POSTGRES_TLS_KEYS, optional=True),
    ]


def restricted_security_context() -> k8s.V1SecurityContext:
    """A container security context that meets Pod Security Standard "restricted"."""
    return k8s.V1SecurityContext(
        allow_privilege_escalation=False,
        read_only_root_filesystem=True,
        run_as_non_root=True,
        run_as_user=RUN_AS_USER,
        run_as_group=RUN_AS_USER,
        capabilities=k8s.V1Capabilities(drop=["ALL"]),
        seccomp_profile=k8s.V1SeccompProfile(type="RuntimeDefault"),
    )


def tmp_mount() -> list[k8s.V1VolumeMount]:
    """The writable /tmp of a read-only root filesystem."""
    return [k8s.V1VolumeMount(name=TMP_VOLUME, mount_path="/tmp")]  # noqa: S108 - an emptyDir


def restricted_pod_security_context() -> k8s.V1PodSecurityContext:
    """The pod-level half of Pod Security Standard "restricted"."""
    return k8s.V1PodSecurityContext(
        run_as_non_root=True,
        run_as_user=RUN_AS_USER,
        run_as_group=RUN_AS_USER,
        fs_group=RUN_AS_USER,
        seccomp_profile=k8s.V1SeccompProfile(type="RuntimeDefault"),
    )


def restricted_pod_spec(
    workload: Workload,
    spec: AgentExecutorSpec,
    volumes: list[k8s.V1Volume] | None = None,
    **fields: Any,
) -> k8s.V1PodSpec:
    """A pod of this executor: its ServiceAccount without a token, pull secrets, restricted PSS,
    the /tmp emptyDir and `volumes`; `fields` add the containers and the rest."""
    return k8s.V1PodSpec(
        service_account_name=workload.name,
        automount_service_account_token=False,
        image_pull_secrets=[
            k8s.V1LocalObjectReference(name=s.name) for s in spec.image_pull_secrets
        ]
        or None,
        security_context=restricted_pod_security_context(),
        volumes=[*tmp_volumes(), *(volumes or [])],
        **fields,
    )


def tmp_volumes() -> list[k8s.V1Volume]:
    """The emptyDir behind /tmp."""
    return [k8s.V1Volume(name=TMP_VOLUME, empty_dir=k8s.V1EmptyDirVolumeSource(size_limit="1Gi"))]
