"""`agentplane` as a tenant runs it: subprocesses on temporary git repositories."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT
from tests.support.tenant_repo import agentplane, edit, make_tenant_repo

pytestmark = pytest.mark.slow

ANALYTICS = Path("claims/intelligence-analytics/agent-executor.yaml")
DEEPAGENTS = Path("claims/intelligence-deepagents/agent-executor.yaml")
POSTGRES = Path("claims/intelligence-deepagents/postgres.yaml")
DRAGONFLY = Path("claims/intelligence-deepagents/dragonfly.yaml")
PLACEHOLDER = "generated-at-first-reconcile"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository holding the function, the API manifests and the example claims."""
    return make_tenant_repo(tmp_path / "repo")


def test_diff_without_changes_exits_0(repo: Path) -> None:
    proc = agentplane(repo, "diff", "--base", "HEAD")
    assert (proc.returncode, proc.stdout) == (0, "no changes to rendered resources\n"), proc.stderr


def test_a_changed_claim_shows_only_its_own_resources(repo: Path) -> None:
    edit(repo / ANALYTICS, "concurrency: 4", "concurrency: 6")
    proc = agentplane(repo, "diff", "--base", "HEAD")
    assert proc.returncode == 1, proc.stderr
    assert "intelligence-analytics/analytics-executor" in proc.stdout
    assert "deepagents" not in proc.stdout
    assert "-          value: '4'\n+          value: '6'" in proc.stdout
    assert "Deployment intelligence-analytics/analytics-executor (changed)" in proc.stdout
    # the consumer's maxAckPending and maxRequestBatch follow concurrency
    assert "Consumer intelligence-analytics/analytics-executor-consumer (changed)" in proc.stdout


def test_a_change_to_the_function_shows_every_claim(repo: Path) -> None:
    edit(
        repo / "contract/runtime.py",
        "TERMINATION_GRACE_SECONDS = 300",
        "TERMINATION_GRACE_SECONDS = 600",
    )
    proc = agentplane(repo, "diff", "--base", "HEAD")
    assert proc.returncode == 1, proc.stderr
    assert "Deployment intelligence-analytics/analytics-executor (changed)" in proc.stdout
    assert "Deployment intelligence-deepagents/deepagents-executor (changed)" in proc.stdout
    assert "+      terminationGracePeriodSeconds: 600" in proc.stdout


def test_a_new_claim_file_shows_its_resources_as_added(repo: Path) -> None:
    new = repo / "claims/intelligence-deepagents/second.yaml"
    document = yaml.safe_load((repo / DEEPAGENTS).read_text())
    document["metadata"]["name"] = "second-executor"
    new.write_text(yaml.safe_dump(document))
    proc = agentplane(repo, "diff", "--base", "HEAD")
    assert proc.returncode == 1, proc.stderr
    assert "Deployment intelligence-deepagents/second-executor (added)" in proc.stdout
    assert "deepagents-executor" not in proc.stdout


def test_markdown_diff_is_a_pull_request_comment(repo: Path) -> None:
    edit(repo / DEEPAGENTS, "size: medium", "size: large")
    proc = agentplane(repo, "diff", "--base", "HEAD", "--format", "markdown")
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.startswith("<!-- agentplane-diff -->\n")
    assert "| claim | added | removed | changed |" in proc.stdout
    assert "<details><summary>" in proc.stdout
    assert "```diff" in proc.stdout
    assert "+            cpu: '4'" in proc.stdout


def test_diff_against_an_unknown_ref_exits_2(repo: Path) -> None:
    proc = agentplane(repo, "diff", "--base", "no-such-ref")
    assert proc.returncode == 2
    assert "no-such-ref" in proc.stderr


def test_an_invalid_claim_fails_validation_naming_file_and_field(repo: Path) -> None:
    edit(repo / ANALYTICS, "size: small", "size: huge")
    edit(
        repo / DEEPAGENTS,
        "image: ghcr.io/bizmatters/deepagents-runtime:0.4.2",
        "image: Not An Image",
    )
    proc = agentplane(repo, "validate", "claims")
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert any(line.startswith(f"{ANALYTICS}: spec.size: ") and "huge" in line for line in lines), (
        lines
    )
    assert any(line.startswith(f"{DEEPAGENTS}: spec.image: ") for line in lines), lines


def test_validation_catches_what_only_the_function_would_refuse(repo: Path) -> None:
    edit(repo / ANALYTICS, "memory: 768Mi", "memory: 8Gi")
    proc = agentplane(repo, "validate", "claims")
    assert proc.returncode == 1
    assert f"{ANALYTICS}: spec.resources.requests.memory: 8Gi exceeds the limit 3Gi" in proc.stdout


def test_validation_reports_unparseable_yaml_with_its_line(repo: Path) -> None:
    (repo / "claims/broken.yaml").write_text("apiVersion: v1\nkind: [unclosed\n")
    proc = agentplane(repo, "validate", "claims")
    assert proc.returncode == 1
    assert (
        "claims/broken.yaml:3:1: invalid YAML" in proc.stdout
        or "claims/broken.yaml:2" in proc.stdout
    )


def test_valid_claims_pass_validation(repo: Path) -> None:
    proc = agentplane(repo, "validate", "claims")
    assert proc.returncode == 0, proc.stdout
    assert "6 claim(s): ok" in proc.stderr


def test_render_prints_the_xr_then_resources_sorted_with_owner_and_composite_label(
    repo: Path,
) -> None:
    proc = agentplane(repo, "render", str(DEEPAGENTS))
    assert proc.returncode == 0, proc.stderr
    documents = [d for d in yaml.safe_load_all(proc.stdout) if d]
    xr, resources = documents[0], documents[1:]
    assert (xr["kind"], xr["metadata"]["name"]) == ("AgentExecutor", "deepagents-executor")
    assert xr["status"]["endpoint"] == "http://deepagents-executor.intelligence-deepagents.svc:8080"
    names = [
        r["metadata"]["annotations"]["crossplane.io/composition-resource-name"] for r in resources
    ]
    assert names == sorted(names)
    for document in resources:
        assert document["metadata"]["labels"]["crossplane.io/composite"] == "deepagents-executor"
        assert document["metadata"]["ownerReferences"] == [
            {
                "apiVersion": "platform.bizmatters.io/v1alpha1",
                "kind": "AgentExecutor",
                "name": "deepagents-executor",
                "uid": "",
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]


def test_render_of_a_directory_renders_every_claim_with_one_function(repo: Path) -> None:
    proc = agentplane(repo, "render", "claims", "--include-function-results")
    assert proc.returncode == 0, proc.stderr
    documents = [d for d in yaml.safe_load_all(proc.stdout) if d]
    xrs = [d for d in documents if d["kind"] == "AgentExecutor"]
    assert sorted(x["metadata"]["name"] for x in xrs) == [
        "analytics-executor",
        "deepagents-executor",
    ]
    # The database claims beside them, each through the Composition of its kind.
    kinds = {d["kind"] for d in documents}
    assert {"PostgresInstance", "Cluster", "DragonflyInstance", "Dragonfly"} <= kinds


def test_render_with_observed_resources_marks_the_xr_ready(repo: Path) -> None:
    shutil.copy(ROOT / "tests/fixtures/xrs/ready.yaml", repo / "ready.yaml")
    shutil.copy(ROOT / "tests/fixtures/observed/ready.yaml", repo / "observed.yaml")
    proc = agentplane(repo, "render", "ready.yaml", "--observed-resources", "observed.yaml")
    assert proc.returncode == 0, proc.stderr
    xr = next(d for d in yaml.safe_load_all(proc.stdout) if d)
    ready = next(c for c in xr["status"]["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "True"


def test_render_engine_crossplane_without_the_cli_says_what_is_missing(repo: Path) -> None:
    if shutil.which("crossplane"):
        pytest.fail("this test expects no crossplane CLI on PATH")
    proc = agentplane(repo, "render", str(DEEPAGENTS), "--engine", "crossplane")
    assert proc.returncode == 2
    assert "crossplane` CLI" in proc.stderr


# --- PostgresInstance and DragonflyInstance ------------------------------------------------------


def test_validation_names_file_and_field_of_bad_database_claims(repo: Path) -> None:
    edit(repo / POSTGRES, "owner: deepagents", "owner: postgres")
    edit(repo / DRAGONFLY, "replicas: 1", "replicas: 1\n  password: hunter2")
    proc = agentplane(repo, "validate", "claims")
    assert proc.returncode == 1
    lines = proc.stdout.splitlines()
    assert any(line.startswith(f"{POSTGRES}: spec.owner: ") for line in lines), lines
    assert f"{DRAGONFLY}: spec.password: unknown field" in lines, lines
    assert "hunter2" not in proc.stdout


def test_validation_catches_what_only_the_function_refuses_of_a_database(repo: Path) -> None:
    edit(repo / POSTGRES, "size: 20Gi", "size: 512Mi")
    proc = agentplane(repo, "validate", "claims")
    assert proc.returncode == 1
    assert f"{POSTGRES}: spec.storage.size: 512Mi is below 1Gi" in proc.stdout


def _decoded(secret: dict[str, object]) -> dict[str, str]:
    data = secret.get("data") or {}
    assert isinstance(data, dict)
    return {k: base64.b64decode(v).decode() for k, v in data.items()}


def test_render_of_a_database_claim_shows_the_placeholder_never_a_password(repo: Path) -> None:
    proc = agentplane(repo, "render", str(POSTGRES), str(DRAGONFLY))
    assert proc.returncode == 0, proc.stderr
    documents = [d for d in yaml.safe_load_all(proc.stdout) if d]
    kinds = [d["kind"] for d in documents]
    secrets = {d["metadata"]["name"]: _decoded(d) for d in documents if d["kind"] == "Secret"}

    assert kinds == [
        "PostgresInstance",
        "Cluster",
        "Secret",
        "Secret",
        "DragonflyInstance",
        "Secret",
        "Dragonfly",
    ]
    assert secrets["postgres-connection"]["POSTGRES_PASSWORD"] == PLACEHOLDER
    assert secrets["deepagents-db-credentials"]["password"] == PLACEHOLDER
    assert secrets["dragonfly-connection"]["DRAGONFLY_PASSWORD"] == PLACEHOLDER
    xr = documents[0]
    assert xr["status"]["endpoint"] == (
        "postgresql://deepagents-db-rw.intelligence-deepagents.svc:5432/deepagents"
    )
    assert documents[1]["metadata"]["ownerReferences"][0]["kind"] == "PostgresInstance"


def test_a_changed_database_claim_shows_only_its_own_resources(repo: Path) -> None:
    edit(repo / POSTGRES, "size: 20Gi", "size: 50Gi")
    proc = agentplane(repo, "diff", "--base", "HEAD")
    assert proc.returncode == 1, proc.stderr
    assert "Cluster intelligence-deepagents/deepagents-db (changed)" in proc.stdout
    assert "-    size: 20Gi\n+    size: 50Gi" in proc.stdout
    assert "deepagents-executor" not in proc.stdout
    assert "Secret" not in proc.stdout  # the password placeholder does not move


def test_a_new_cache_claim_shows_its_resources_as_added(repo: Path) -> None:
    (repo / "claims/intelligence-deepagents/second-cache.yaml").write_text(
        (repo / DRAGONFLY)
        .read_text()
        .replace("deepagents-cache", "second-cache")
        .replace("name: dragonfly-connection", "name: second-connection")
    )
    proc = agentplane(repo, "diff", "--base", "HEAD")
    assert proc.returncode == 1, proc.stderr
    assert "Dragonfly intelligence-deepagents/second-cache (added)" in proc.stdout
    assert "Secret intelligence-deepagents/second-connection (added)" in proc.stdout
    assert "deepagents-cache" not in proc.stdout


def test_render_with_compositions_of_other_kinds_names_the_missing_one(repo: Path) -> None:
    proc = agentplane(
        repo,
        "render",
        str(POSTGRES),
        "--composition",
        "platform/apis/agent-executor/composition.yaml",
    )
    assert proc.returncode == 2
    assert "no Composition composes platform.bizmatters.io/v1alpha1 PostgresInstance" in proc.stderr


def test_the_crossplane_engine_gets_the_composition_of_each_claims_kind(
    repo: Path, tmp_path: Path
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "crossplane"
    fake.write_text('#!/bin/sh\necho "crossplane $*"\n')
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    command = ["render", "claims/intelligence-deepagents", "--engine", "crossplane"]
    proc = subprocess.run(
        [sys.executable, "-m", "functions.render", *command],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    # `crossplane render CLAIM COMPOSITION FUNCTIONS`, the platform's files of the installation
    calls = {
        line.split()[2]: Path(line.split()[3]).relative_to(repo).as_posix()
        for line in proc.stdout.splitlines()
    }
    assert calls == {
        f"{DEEPAGENTS}": "platform/apis/agent-executor/composition.yaml",
        f"{DRAGONFLY}": "platform/apis/dragonfly-instance/composition.yaml",
        f"{POSTGRES}": "platform/apis/postgres-instance/composition.yaml",
    }
