"""The optional retention CronJob: `prune --older-than` with the worker's own image."""

from __future__ import annotations

from typing import Any

from contract import env, runtime
from functions.agent_executor.builders.capacity import MIGRATION_RESOURCES
from functions.agent_executor.builders.manifest import custom_resource
from functions.agent_executor.builders.pod import (
    database_env,
    restricted_pod_spec,
    restricted_security_context,
    secret_env,
    tmp_mount,
)
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
    container = {
        "name": "prune",
        "image": spec.image,
        "command": list(runtime.PRUNE_COMMAND),
        "args": ["--older-than", spec.retention.older_than],
        # The worker's settings want a stream store configured even though prune never uses it.
        "env": database_env(spec)
        + secret_env(spec.secrets.dragonfly, env.DRAGONFLY_KEYS, optional=False)
        + secret_env(spec.secrets.dragonfly, env.DRAGONFLY_TLS_KEYS, optional=True),
        "resources": {"requests": dict(requests), "limits": dict(limits)},
        "securityContext": restricted_security_context(),
        "volumeMounts": tmp_mount(),
    }
    pod = restricted_pod_spec(workload, spec, restartPolicy="Never", containers=[container])
    cron_job = custom_resource(
        "batch/v1",
        "CronJob",
        workload,
        name=workload.retention_name,
        spec={
            "schedule": spec.retention.schedule,
            "timeZone": "Etc/UTC",
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": 600,
            "successfulJobsHistoryLimit": 1,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {
                "metadata": {"labels": retention_labels(workload)},
                "spec": {
                    "backoffLimit": 2,
                    "activeDeadlineSeconds": PRUNE_DEADLINE_SECONDS,
                    "ttlSecondsAfterFinished": 86400,
                    "template": {"metadata": {"labels": retention_labels(workload)}, "spec": pod},
                },
            },
        },
    )
    cron_job["metadata"]["labels"] = retention_labels(workload)
    return cron_job
