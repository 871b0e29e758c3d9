"""The repository's GitHub workflows: the contracts they promise tenants and operators."""

from __future__ import annotations

from typing import Any

import yaml

from functions.render.diff import COMMENT_MARKER
from tests.conftest import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"


def workflow(name: str) -> dict[Any, Any]:
    loaded: dict[Any, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    return loaded


def steps(flow: dict[Any, Any], job: str) -> str:
    return yaml.safe_dump(flow["jobs"][job]["steps"])


def test_ci_runs_lint_and_the_ci_entry_point() -> None:
    flow = workflow("ci.yml")
    assert "make lint" in steps(flow, "lint")
    assert "bash .ci/run" in steps(flow, "test")


def test_render_diff_posts_one_sticky_comment_on_pull_requests() -> None:
    flow = workflow("render-diff.yml")
    assert "pull_request" in flow[True]  # PyYAML reads the `on` key as True
    assert flow["permissions"]["pull-requests"] == "write"
    diff = steps(flow, "diff")
    assert "agentplane diff --base" in diff and "--format markdown" in diff
    assert COMMENT_MARKER in diff and "updateComment" in diff
    assert flow["jobs"]["diff"]["steps"][0]["with"]["fetch-depth"] == 0


def test_render_diff_runs_the_real_crossplane_render_and_validate() -> None:
    crossplane = steps(workflow("render-diff.yml"), "crossplane")
    assert "crossplane render" in crossplane
    assert "crossplane resource validate" in crossplane
    assert "functions/agent_executor/example/functions.yaml" in crossplane


def test_render_diff_renders_each_kind_through_its_own_composition() -> None:
    crossplane = steps(workflow("render-diff.yml"), "crossplane")
    for api in ("postgres-instance", "dragonfly-instance"):
        assert f"composition-{api}.yaml" in crossplane
        assert (ROOT / "functions/agent_executor/example" / f"composition-{api}.yaml").is_file()
    assert "AgentExecutor|PostgresInstance|DragonflyInstance" in crossplane


def test_images_push_only_from_main_and_tags() -> None:
    flow = workflow("images.yml")
    build = flow["jobs"]["build"]
    dockerfiles = [m["dockerfile"] for m in build["strategy"]["matrix"]["include"]]
    assert "functions/agent_executor/Dockerfile" in dockerfiles
    push = next(s for s in build["steps"] if s.get("uses", "").startswith("docker/build-push"))
    assert push["with"]["push"] == "${{ github.event_name != 'pull_request' }}"
