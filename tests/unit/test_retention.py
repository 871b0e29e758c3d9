"""The retention CronJob the function composes runs the worker's real prune command."""

from __future__ import annotations

import pytest

from functions.agent_executor import names
from functions.agent_executor.admission import admit
from functions.agent_executor.builders.retention import build_retention_cron_job
from functions.agent_executor.compose import desired_resources
from functions.agent_executor.names import Workload
from functions.agent_executor.spec import AgentExecutorSpec
from workers.agent_executor.retention import parse_age

WORKLOAD = Workload("worker", "team-a")


def spec(**retention: object) -> AgentExecutorSpec:
    verdict = admit("worker", "team-a", {"image": "ghcr.io/a/b:1", "retention": retention})
    assert verdict.spec is not None, verdict.errors
    return verdict.spec


def test_retention_is_off_by_default() -> None:
    assert names.RETENTION not in desired_resources(WORKLOAD, spec())


def test_the_cron_job_prunes_with_the_configured_age_and_schedule() -> None:
    cron = build_retention_cron_job(
        WORKLOAD, spec(enabled=True, olderThan="14d", schedule="@daily")
    )
    assert (cron["kind"], cron["metadata"]["name"]) == ("CronJob", "worker-retention")
    assert cron["spec"]["schedule"] == "@daily"
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    container = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["python", "-m", "workers.agent_executor", "prune"]
    assert container["args"] == ["--older-than", "14d"]
    assert {e["name"] for e in container["env"]} >= {"POSTGRES_HOST", "POSTGRES_PASSWORD"}


def test_prune_pods_are_not_selected_by_the_worker_service_or_pdb() -> None:
    cron = build_retention_cron_job(WORKLOAD, spec(enabled=True))
    labels = cron["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    assert not WORKLOAD.selector_labels().items() <= labels.items()


@pytest.mark.parametrize("age", ["1s", "90m", "12h", "7d", "2w", "365d"])
def test_every_age_the_api_admits_the_worker_parses(age: str) -> None:
    assert spec(enabled=True, olderThan=age).retention.older_than == age
    assert parse_age(age).total_seconds() > 0


@pytest.mark.parametrize("age", ["0d", "7", "7 days", "-1d", "1y"])
def test_an_age_the_worker_cannot_parse_is_refused_by_the_api(age: str) -> None:
    verdict = admit("worker", "team-a", {"image": "ghcr.io/a/b:1", "retention": {"olderThan": age}})
    assert verdict.spec is None
    assert verdict.errors[0].startswith("spec.retention.olderThan:")
    with pytest.raises(ValueError, match="older-than"):
        parse_age(age)


def test_a_malformed_schedule_is_refused() -> None:
    verdict = admit(
        "worker", "team-a", {"image": "ghcr.io/a/b:1", "retention": {"schedule": "daily"}}
    )
    assert verdict.errors[0].startswith("spec.retention.schedule: must be a five-field cron")
