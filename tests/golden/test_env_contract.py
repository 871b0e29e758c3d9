"""The rendered Deployments and the worker's settings agree on every environment variable.

Read from the golden renders (kept byte-identical to a fresh render by test_golden),
so every example claim and every fixture XR is covered.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from contract import env
from functions.agent_executor.names import CONTAINER, INIT_CONTAINER
from functions.render.yaml_io import load_stream
from tests.conftest import ROOT
from tests.golden.test_golden import CASES as SOURCES
from tests.golden.test_golden import GOLDEN as GOLDEN_DIR
from tests.golden.test_golden import golden_name
from workers.agent_executor.settings import Settings

# (golden render, the tenant's own env names) for every example claim and fixture XR.
RENDERS = {
    GOLDEN_DIR / golden_name(path, claim.document["metadata"]["name"]): {
        e["name"] for e in claim.document.get("spec", {}).get("env", [])
    }
    for path, claim in SOURCES
}
# The renders whose claim names `api.tokenSecret`: only their Deployments carry API_TOKEN.
WITH_TOKEN = {
    GOLDEN_DIR / golden_name(path, claim.document["metadata"]["name"])
    for path, claim in SOURCES
    if claim.document.get("spec", {}).get("api", {}).get("tokenSecret")
}
GOLDEN = sorted(RENDERS)
WORKER_READS = set(Settings.model_fields)
MIGRATIONS_READS = {"DATABASE_URL", *env.POSTGRES_KEYS, *env.POSTGRES_TLS_KEYS}


def _rendered(path: Path, kind: str) -> list[dict[str, Any]]:
    return [d for d in load_stream(path) if d and d.get("kind") == kind]


def _container(pod: dict[str, Any], name: str, group: str = "containers") -> dict[str, Any]:
    return next(c for c in pod.get(group) or [] if c["name"] == name)


def _env_names(container: dict[str, Any]) -> set[str]:
    return {e["name"] for e in container.get("env", [])}


CASES = [p for p in GOLDEN if _rendered(p, "Deployment")]


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_every_spec_dependent_setting_is_set_by_the_deployment(path: Path) -> None:
    deployment = _rendered(path, "Deployment")[0]
    names = _env_names(_container(deployment["spec"]["template"]["spec"], CONTAINER))
    assert set(env.FROM_SPEC) | set(env.FROM_SECRETS) <= names


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_the_pods_own_name_and_namespace_come_from_the_downward_api(path: Path) -> None:
    # A worker's heartbeats name its pod: one stream subject, so one kept heartbeat, per pod.
    deployment = _rendered(path, "Deployment")[0]
    container = _container(deployment["spec"]["template"]["spec"], CONTAINER)
    from_fields = {
        e["name"]: e["valueFrom"]["fieldRef"]["fieldPath"]
        for e in container.get("env", [])
        if "fieldRef" in e.get("valueFrom", {})
    }
    assert from_fields == env.FROM_POD


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_the_api_token_is_set_exactly_when_the_claim_names_its_secret(path: Path) -> None:
    deployment = _rendered(path, "Deployment")[0]
    names = _env_names(_container(deployment["spec"]["template"]["spec"], CONTAINER))
    expected = set(env.API_TOKEN_KEYS) if path in WITH_TOKEN else set()
    assert names & set(env.API_TOKEN_KEYS) == expected


def test_some_render_covers_the_api_token() -> None:
    assert WITH_TOKEN & set(CASES), "no claim or fixture sets api.tokenSecret"


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_every_variable_the_deployment_sets_is_read_by_the_worker(path: Path) -> None:
    deployment = _rendered(path, "Deployment")[0]
    names = _env_names(_container(deployment["spec"]["template"]["spec"], CONTAINER))
    unread = names - RENDERS[path] - WORKER_READS
    assert not unread, f"the Deployment sets variables the worker never reads: {sorted(unread)}"


WITH_MIGRATIONS = [
    p
    for p in CASES
    if _rendered(p, "Deployment")[0]["spec"]["template"]["spec"].get("initContainers")
]


@pytest.mark.parametrize("path", WITH_MIGRATIONS, ids=[p.stem for p in WITH_MIGRATIONS])
def test_the_migrations_init_container_gets_only_what_run_migrations_reads(path: Path) -> None:
    pod = _rendered(path, "Deployment")[0]["spec"]["template"]["spec"]
    names = _env_names(_container(pod, INIT_CONTAINER, "initContainers"))
    assert names <= MIGRATIONS_READS
    assert set(env.POSTGRES_KEYS) <= names


def test_the_worker_reads_every_contract_variable() -> None:
    assert set(env.RESERVED) <= WORKER_READS


def test_retention_jobs_set_only_what_the_worker_reads() -> None:
    cron_jobs = [c for p in GOLDEN for c in _rendered(p, "CronJob")]
    assert cron_jobs, "no fixture composes the retention CronJob"
    for cron_job in cron_jobs:
        pod = cron_job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        for container in pod["containers"]:
            assert _env_names(container) <= WORKER_READS


def test_run_migrations_reads_every_variable_the_init_container_may_get() -> None:
    script = (ROOT / "scripts" / "ci" / "run-migrations.sh").read_text()
    assert all(f"${{{name}" in script for name in MIGRATIONS_READS)
