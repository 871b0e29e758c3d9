"""The optional retention CronJob: `prune --older-than` with the worker's own image."""

from __future__ import annotations

from typing import Any

from kubernetes.client import models as k8s

from contract import env, runtime
from functions.agent_executor.builders.capacity import MIGRATION_RESOURCES
from functions.agent_executor.builders.pod import (
    database_env,
    restricted_pod_spec,
    restricted_security_context,
    secret_env,
    tmp_mount,
)
from functions.agent_executor.builders.serialize import object_meta, to_manifest
from functions.agent_executor.names import RETENTION_COMPONENT, Workload
from functions.agent_executor.spec import AgentExecutorSpec

PRUNE_DEADLINE_SECONDS = 3600


def retention_labels(workload: Workload) -> dict[str, str]:
    """Labels of the prune pods: not the worker's, so no Service, PDB or policy selects them."""
    return {
        **workload.labels(),
        "app.kubernetes.io/name": RETENTION_COMPONENT,
        "app.kubernetes.io/component": RETENTION_COMPONENT,
    }


def build_retention_cron_job(workload: Workload, spec: AgentExecutorSpec) -> dict[str, Any]:
    """CronJob `<name>-retention`: one prune at a time, never overlapping, bounded in time."""
    requests, limits = MIGRATION_RESOURCES
    container = k8s.V1Container(
        name="prune",
        image=spec.image,
        command=list(runtime.PRUNE_COMMAND),
        args=["--older-than", spec.retention.older_than],
        # The worker's settings want a stream store configured even though prune never uses it.
        env=database_env(spec)
        + secret_env(spec.secrets.dragonfly, env.DRAGONFLY_KEYS, optional=False)
        + secret_env(spec.secrets.dragonfly, env.DRAGONFLY_TLS_KEYS, optional=True),
        resources=k8s.V1ResourceRequirements(requests=dict(requests), limits=dict(limits)),
        security_context=restricted_security_context(),
        volume_mounts=tmp_mount(),
    )
    pod = restricted_pod_spec(workload, spec, restart_policy="Never", containers=[container])
    metadata = object_meta(workload, workload.retention_name)
    metadata.labels = retention_labels(workload)
    return to_manifest(
        k8s.V1CronJob(
            api_version="batch/v1",
            kind="CronJob",
            metadata=metadata,
            spec=k8s.V1CronJobSpec(
                schedule=spec.retention.schedule,
                time_zone="Etc/UTC",
                concurrency_policy="Forbid",
                starting_deadline_seconds=600,
                successful_jobs_history_limit=1,
                failed_jobs_history_limit=3,
                job_template=k8s.V1JobTemplateSpec(
                    metadata=k8s.V1ObjectMeta(labels=retention_labels(workload)),
                    spec=k8s.V1JobSpec(
                        backoff_limit=2,
                        active_deadline_seconds=PRUNE_DEADLINE_SECONDS,
                        ttl_seconds_after_finished=86400,
                        template=k8s.V1PodTemplateSpec(
                            metadata=k8s.V1ObjectMeta(labels=retention_labels(workload)),
                            spec=pod,
                        ),
                    ),
                ),
            ),
        )
    )
