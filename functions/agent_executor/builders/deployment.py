"""The worker Deployment: Pod Security "restricted", secrets by key, probes, migrations."""

from __future__ import annotations

from typing import Any

from kubernetes.client import models as k8s

from contract import env, runtime
from contract.runtime import HTTP_PORT, HTTP_PORT_NAME
from functions.agent_executor.builders.capacity import MIGRATION_RESOURCES, container_resources
from functions.agent_executor.builders.pod import (
    database_env,
    restricted_pod_spec,
    restricted_security_context,
    secret_env,
    tmp_mount,
)
from functions.agent_executor.builders.serialize import object_meta, to_manifest
from functions.agent_executor.names import CONTAINER, INIT_CONTAINER, Workload
from functions.agent_executor.spec import AgentExecutorSpec


def worker_env(workload: Workload, spec: AgentExecutorSpec) -> list[k8s.V1EnvVar]:
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
        *(k8s.V1EnvVar(name=k, value=v) for k, v in plain.items()),
        *pod_env(),
        *database_env(spec),
        *secret_env(spec.secrets.dragonfly, env.DRAGONFLY_KEYS, optional=False),
        *secret_env(spec.secrets.dragonfly, env.DRAGONFLY_OPTIONAL_KEYS, optional=True),
        *secret_env(spec.secrets.dragonfly, env.DRAGONFLY_TLS_KEYS, optional=True),
        *secret_env(spec.secrets.llm_keys, env.LLM_KEYS, optional=True),
        *nats_credentials_env(spec),
        *api_token_env(spec),
        *(k8s.V1EnvVar(name=e.name, value=e.value) for e in spec.env),
    ]


def pod_env() -> list[k8s.V1EnvVar]:
    """The pod's own name and namespace (downward API): what its heartbeats are published as."""
    return [
        k8s.V1EnvVar(
            name=name,
            value_from=k8s.V1EnvVarSource(
                field_ref=k8s.V1ObjectFieldSelector(api_version="v1", field_path=path)
            ),
        )
        for name, path in env.FROM_POD.items()
    ]


def nats_credentials_env(spec: AgentExecutorSpec) -> list[k8s.V1EnvVar]:
    """NATS_USER and NATS_PASSWORD from `secrets.nats`: the tenant's user in its own account.

    Not optional: the platform's NATS admits no anonymous client, so a pod without them
    could never take a job. It waits in CreateContainerConfigError, naming the Secret.
    Only the worker container gets them; migrations and prune never talk to NATS.
    """
    return secret_env(spec.secrets.nats, env.NATS_KEYS, optional=False)


def api_token_env(spec: AgentExecutorSpec) -> list[k8s.V1EnvVar]:
    """API_TOKEN from `api.tokenSecret`, when the claim names one.

    Not optional: a pod whose token Secret is missing must not start with its job routes
    open; it waits in CreateContainerConfigError until the Secret exists.
    """
    if spec.api.token_secret is None:
        return []
    return secret_env(spec.api.token_secret, env.API_TOKEN_KEYS, optional=False)


def _http_probe(path: str, *, period: int, failures: int, delay: int = 0) -> k8s.V1Probe:
    return k8s.V1Probe(
        http_get=k8s.V1HTTPGetAction(path=path, port=HTTP_PORT_NAME),
        initial_delay_seconds=delay or None,
        period_seconds=period,
        timeout_seconds=3,
        failure_threshold=failures,
    )


def _migrations_container(spec: AgentExecutorSpec) -> k8s.V1Container:
    requests, limits = MIGRATION_RESOURCES
    return k8s.V1Container(
        name=INIT_CONTAINER,
        image=spec.image,
        command=list(spec.migrations.command),
        env=database_env(spec),
        resources=k8s.V1ResourceRequirements(requests=dict(requests), limits=dict(limits)),
        security_context=restricted_security_context(),
        volume_mounts=tmp_mount(),
    )


def _worker_container(workload: Workload, spec: AgentExecutorSpec) -> k8s.V1Container:
    resources = container_resources(spec)
    return k8s.V1Container(
        name=CONTAINER,
        image=spec.image,
        ports=[k8s.V1ContainerPort(name=HTTP_PORT_NAME, container_port=HTTP_PORT, protocol="TCP")],
        env=worker_env(workload, spec),
        env_from=[
            k8s.V1EnvFromSource(secret_ref=k8s.V1SecretEnvSource(name=name))
            for name in spec.secrets.extra
        ]
        or None,
        resources=k8s.V1ResourceRequirements(
            requests=resources["requests"], limits=resources["limits"]
        ),
        # Startup tolerates a slow first connection to Postgres/NATS (up to 2 min);
        # liveness then only restarts a wedged process, readiness gates traffic.
        startup_probe=_http_probe(runtime.HEALTH_PATH, period=2, failures=60),
        liveness_probe=_http_probe(runtime.HEALTH_PATH, period=10, failures=3),
        readiness_probe=_http_probe(runtime.READY_PATH, period=5, failures=2),
        security_context=restricted_security_context(),
        volume_mounts=[
            *tmp_mount(),
            *(
                [
                    k8s.V1VolumeMount(
                        name=runtime.LLM_KEYS_VOLUME,
                        mount_path=runtime.LLM_KEYS_MOUNT_PATH,
                        read_only=True,
                    )
                ]
                if llm_key_files(spec)
                else []
            ),
        ],
        termination_message_policy="FallbackToLogsOnError",
    )


def _topology_spread(workload: Workload) -> list[k8s.V1TopologySpreadConstraint]:
    return [
        k8s.V1TopologySpreadConstraint(
            max_skew=1,
            topology_key=key,
            when_unsatisfiable="ScheduleAnyway",
            label_selector=k8s.V1LabelSelector(match_labels=workload.selector_labels()),
            match_label_keys=["pod-template-hash"],
        )
        for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")
    ]


def llm_key_files(spec: AgentExecutorSpec) -> bool:
    """Whether the pods get the LLM keys as files too (rotation without a redeploy): not when
    the claim enables tool scripts, which run as the worker's user and could read them."""
    return not any(
        e.name == env.ALLOW_TOOL_SCRIPTS and (e.value or "").strip().lower() in env.TRUE_STRINGS
        for e in spec.env
    )


def _llm_keys_volume(spec: AgentExecutorSpec) -> k8s.V1Volume:
    """The LLM keys Secret as files (env.LLM_KEYS_DIR): the kubelet updates them in the running
    pod when the Secret changes, so a rotated key needs no redeploy. Optional, like the
    variables: a tenant without that Secret still starts (and fails jobs naming the key)."""
    return k8s.V1Volume(
        name=runtime.LLM_KEYS_VOLUME,
        secret=k8s.V1SecretVolumeSource(
            secret_name=spec.secrets.llm_keys, optional=True, default_mode=0o440
        ),
    )


def build_deployment(workload: Workload, spec: AgentExecutorSpec) -> dict[str, Any]:
    """Deployment `<name>` running the worker.

    In `keda` mode `replicas` is left out so that the HPA KEDA creates owns it;
    a desired value here would make Crossplane and the HPA fight over it.
    """
    pod = restricted_pod_spec(
        workload,
        spec,
        volumes=[_llm_keys_volume(spec)] if llm_key_files(spec) else None,
        init_containers=[_migrations_container(spec)] if spec.migrations.enabled else None,
        containers=[_worker_container(workload, spec)],
        termination_grace_period_seconds=runtime.TERMINATION_GRACE_SECONDS,
        topology_spread_constraints=_topology_spread(workload),
        enable_service_links=False,
    )
    template_meta = k8s.V1ObjectMeta(
        labels=workload.labels(),
        annotations={
            "prometheus.io/scrape": "true",
            "prometheus.io/port": str(HTTP_PORT),
            "prometheus.io/path": runtime.METRICS_PATH,
        },
    )
    return to_manifest(
        k8s.V1Deployment(
            api_version="apps/v1",
            kind="Deployment",
            metadata=object_meta(workload),
            spec=k8s.V1DeploymentSpec(
                replicas=spec.scaling.min_replicas if spec.scaling.mode == "fixed" else None,
                revision_history_limit=5,
                selector=k8s.V1LabelSelector(match_labels=workload.selector_labels()),
                strategy=k8s.V1DeploymentStrategy(
                    type="RollingUpdate",
                    rolling_update=k8s.V1RollingUpdateDeployment(
                        max_surge="25%", max_unavailable=0
                    ),
                ),
                template=k8s.V1PodTemplateSpec(metadata=template_meta, spec=pod),
            ),
        )
    )
