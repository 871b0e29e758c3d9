"""The worker Deployment: Pod Security "restricted", secrets by key, probes, migrations."""

from __future__ import annotations

from typing import Any

from contract import env, runtime
from contract.runtime import HTTP_PORT, HTTP_PORT_NAME
from functions.agent_executor.builders.capacity import MIGRATION_RESOURCES, container_resources
from functions.agent_executor.builders.manifest import manifest, object_meta
from functions.agent_executor.builders.pod import (
    database_env,
    plain_env,
    restricted_pod_spec,
    restricted_security_context,
    secret_env,
    tmp_mount,
)
from functions.agent_executor.names import CONTAINER, INIT_CONTAINER, Workload
from functions.agent_executor.spec import AgentExecutorSpec


def worker_env(workload: Workload, spec: AgentExecutorSpec) -> list[dict[str, Any]]:
    """The worker's environment, in the order of the contract in DESIGN section 3."""
    plain = {
        env.NATS_URL: spec.nats.url,
        env.NATS_STREAM_NAME: spec.nats.stream,
        env.NATS_CONSUMER_GROUP: spec.nats.consumer,
        env.HOST: runtime.POD_LISTEN_HOST,
        env.PORT: str(HTTP_PORT),
        env.WORKER_CONCURRENCY: str(spec.concurrency),
        env.OTEL_SERVICE_NAME: workload.name,
        env.SHUTDOWN_TIMEOUT_SECONDS: str(runtime.SHUTDOWN_TIMEOUT_SECONDS),
        env.JOB_MAX_STEPS: str(spec.limits.max_steps),
        env.JOB_TIMEOUT_SECONDS: str(spec.limits.timeout_seconds),
        env.JOB_MAX_RESULT_BYTES: str(spec.limits.max_result_bytes),
        env.EXECUTOR_IMAGE: spec.image,
        **({env.LLM_KEYS_DIR: runtime.LLM_KEYS_MOUNT_PATH} if llm_key_files(spec) else {}),
    }
    return [
        *plain_env(plain),
        *pod_env(),
        *database_env(spec),
        *secret_env(spec.secrets.dragonfly, env.DRAGONFLY_KEYS, optional=False),
        *secret_env(spec.secrets.dragonfly, env.DRAGONFLY_OPTIONAL_KEYS, optional=True),
        *secret_env(spec.secrets.dragonfly, env.DRAGONFLY_TLS_KEYS, optional=True),
        *secret_env(spec.secrets.llm_keys, env.LLM_KEYS, optional=True),
        *nats_credentials_env(spec),
        *api_token_env(spec),
        *({"name": e.name, "value": e.value} for e in spec.env),
    ]


def pod_env() -> list[dict[str, Any]]:
    """The pod's own name and namespace (downward API): what its heartbeats are published as."""
    return [
        {"name": name, "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": path}}}
        for name, path in env.FROM_POD.items()
    ]


def nats_credentials_env(spec: AgentExecutorSpec) -> list[dict[str, Any]]:
    """NATS_USER and NATS_PASSWORD from `secrets.nats`: the tenant's user in its own account.

    Not optional: the platform's NATS admits no anonymous client, so a pod without them
    could never take a job. It waits in CreateContainerConfigError, naming the Secret.
    Only the worker container gets them; migrations and prune never talk to NATS.
    """
    return secret_env(spec.secrets.nats, env.NATS_KEYS, optional=False)


def api_token_env(spec: AgentExecutorSpec) -> list[dict[str, Any]]:
    """API_TOKEN from `api.tokenSecret`, when the claim names one.

    Not optional: a pod whose token Secret is missing must not start with its job routes
    open; it waits in CreateContainerConfigError until the Secret exists.
    """
    if spec.api.token_secret is None:
        return []
    return secret_env(spec.api.token_secret, env.API_TOKEN_KEYS, optional=False)


def _http_probe(path: str, *, period: int, failures: int, delay: int = 0) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": HTTP_PORT_NAME},
        **({"initialDelaySeconds": delay} if delay else {}),
        "periodSeconds": period,
        "timeoutSeconds": 3,
        "failureThreshold": failures,
    }


def _migrations_container(spec: AgentExecutorSpec) -> dict[str, Any]:
    requests, limits = MIGRATION_RESOURCES
    return {
        "name": INIT_CONTAINER,
        "image": spec.image,
        "command": list(spec.migrations.command),
        "env": database_env(spec),
        "resources": {"requests": dict(requests), "limits": dict(limits)},
        "securityContext": restricted_security_context(),
        "volumeMounts": tmp_mount(),
    }


def _llm_keys_mount(spec: AgentExecutorSpec) -> list[dict[str, Any]]:
    if not llm_key_files(spec):
        return []
    return [
        {
            "name": runtime.LLM_KEYS_VOLUME,
            "mountPath": runtime.LLM_KEYS_MOUNT_PATH,
            "readOnly": True,
        }
    ]


def _worker_container(workload: Workload, spec: AgentExecutorSpec) -> dict[str, Any]:
    env_from = [{"secretRef": {"name": name}} for name in spec.secrets.extra]
    return {
        "name": CONTAINER,
        "image": spec.image,
        "ports": [{"name": HTTP_PORT_NAME, "containerPort": HTTP_PORT, "protocol": "TCP"}],
        "env": worker_env(workload, spec),
        **({"envFrom": env_from} if env_from else {}),
        "resources": container_resources(spec),
        # Startup tolerates a slow first connection to Postgres/NATS (up to 2 min);
        # liveness then only restarts a wedged process, readiness gates traffic.
        "startupProbe": _http_probe(runtime.HEALTH_PATH, period=2, failures=60),
        "livenessProbe": _http_probe(runtime.HEALTH_PATH, period=10, failures=3),
        "readinessProbe": _http_probe(runtime.READY_PATH, period=5, failures=2),
        "securityContext": restricted_security_context(),
        "volumeMounts": [*tmp_mount(), *_llm_keys_mount(spec)],
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }


def _topology_spread(workload: Workload) -> list[dict[str, Any]]:
    return [
        {
            "maxSkew": 1,
            "topologyKey": key,
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": workload.selector_labels()},
            "matchLabelKeys": ["pod-template-hash"],
        }
        for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")
    ]


def llm_key_files(spec: AgentExecutorSpec) -> bool:
    """Whether the pods get the LLM keys as files too (rotation without a redeploy): not when
    the claim enables tool scripts, which run as the worker's user and could read them."""
    return not any(
        e.name == env.ALLOW_TOOL_SCRIPTS and (e.value or "").strip().lower() in env.TRUE_STRINGS
        for e in spec.env
    )


def _llm_keys_volume(spec: AgentExecutorSpec) -> dict[str, Any]:
    """The LLM keys Secret as files (env.LLM_KEYS_DIR): the kubelet updates them in the running
    pod when the Secret changes, so a rotated key needs no redeploy. Optional, like the
    variables: a tenant without that Secret still starts (and fails jobs naming the key)."""
    return {
        "name": runtime.LLM_KEYS_VOLUME,
        "secret": {"secretName": spec.secrets.llm_keys, "optional": True, "defaultMode": 0o440},
    }


def build_deployment(workload: Workload, spec: AgentExecutorSpec) -> dict[str, Any]:
    """Deployment `<name>` running the worker.

    In `keda` mode `replicas` is left out so that the HPA KEDA creates owns it;
    a desired value here would make Crossplane and the HPA fight over it.
    """
    pod_fields: dict[str, Any] = {}
    if spec.migrations.enabled:
        pod_fields["initContainers"] = [_migrations_container(spec)]
    pod = restricted_pod_spec(
        workload,
        spec,
        volumes=[_llm_keys_volume(spec)] if llm_key_files(spec) else None,
        **pod_fields,
        containers=[_worker_container(workload, spec)],
        terminationGracePeriodSeconds=runtime.TERMINATION_GRACE_SECONDS,
        topologySpreadConstraints=_topology_spread(workload),
        enableServiceLinks=False,
    )
    template_meta = {
        "labels": workload.labels(),
        "annotations": {
            "prometheus.io/scrape": "true",
            "prometheus.io/port": str(HTTP_PORT),
            "prometheus.io/path": runtime.METRICS_PATH,
        },
    }
    replicas = {"replicas": spec.scaling.min_replicas} if spec.scaling.mode == "fixed" else {}
    return manifest(
        "apps/v1",
        "Deployment",
        object_meta(workload),
        spec={
            **replicas,
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": workload.selector_labels()},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0},
            },
            "template": {"metadata": template_meta, "spec": pod},
        },
    )
