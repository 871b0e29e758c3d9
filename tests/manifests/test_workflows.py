"""The GitHub workflows and the Renovate config: what they promise, and that they are safe."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from functions.agent_executor.xrd import FUNCTION_PACKAGE
from functions.render.diff import COMMENT_MARKER
from tests.conftest import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"
WORKFLOW_FILES = sorted(WORKFLOWS.glob("*.yml"))
BIN = Path(sys.executable).parent
PINNED_USES = re.compile(
    r"^\s*(?:-\s+)?uses:\s+([\w.-]+/[\w./-]+)@([0-9a-f]{40}) # v\d+\.\d+\.\d+$"
)


def workflow(name: str) -> dict[Any, Any]:
    loaded: dict[Any, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    return loaded


def steps(flow: dict[Any, Any], job: str) -> str:
    """A job's steps as text: each `uses`, `run` script, `with` and `env` value, verbatim."""
    parts = []
    for step in flow["jobs"][job]["steps"]:
        parts += [step.get("uses", ""), step.get("run", "")]
        for inputs in (step.get("with") or {}, step.get("env") or {}):
            parts += [str(v) for v in inputs.values()]
    return "\n".join(parts)


def uses(flow: dict[Any, Any], job: str, action: str) -> list[dict[str, Any]]:
    return [s for s in flow["jobs"][job]["steps"] if s.get("uses", "").startswith(action + "@")]


def chart_version(component: str) -> str:
    app = yaml.safe_load((ROOT / "apps" / "components" / f"{component}.yaml").read_text())
    return str(next(s for s in app["spec"]["sources"] if "chart" in s)["targetRevision"])


# What each workflow promises.


def test_ci_runs_lint_and_the_ci_entry_point() -> None:
    flow = workflow("ci.yml")
    assert "make lint" in steps(flow, "lint")
    assert "bash .ci/run" in steps(flow, "test")


def test_the_ci_entry_point_needs_no_schema_directory() -> None:
    # The upstream schemas are in the repository (tests/schemas); nothing is skipped without them.
    assert "CRD_SCHEMA_DIR" not in (ROOT / ".ci" / "run").read_text()


def test_render_diff_posts_one_sticky_comment_on_pull_requests() -> None:
    flow = workflow("render-diff.yml")
    assert "pull_request" in flow[True]  # PyYAML reads the `on` key as True
    diff = steps(flow, "diff")
    assert "agentplane diff --base" in diff and "--format markdown" in diff
    assert flow["jobs"]["diff"]["steps"][0]["with"]["fetch-depth"] == 0
    comment = flow["jobs"]["comment"]
    assert comment["needs"] == "diff"
    assert COMMENT_MARKER in steps(flow, "comment") and "updateComment" in steps(flow, "comment")


def test_only_the_job_that_runs_no_pull_request_code_may_write_to_it() -> None:
    flow = workflow("render-diff.yml")
    writers = [
        name
        for name, job in flow["jobs"].items()
        if any(v == "write" for v in job["permissions"].values())
    ]
    assert writers == ["comment"]
    assert flow["jobs"]["comment"]["permissions"] == {"pull-requests": "write"}
    assert "actions/checkout" not in steps(flow, "comment")


def test_render_diff_pins_a_crossplane_cli_that_has_composition_render() -> None:
    env = workflow("render-diff.yml")["env"]
    # v2.3 moved the CLI to github.com/crossplane/cli (cli.crossplane.io, binary `crossplane`)
    # and `render` under `composition`; `resource validate` stayed.
    major, minor, _ = (int(p) for p in env["CROSSPLANE_CLI_VERSION"].removeprefix("v").split("."))
    assert (major, minor) >= (2, 3)
    crossplane = steps(workflow("render-diff.yml"), "crossplane")
    assert (
        "https://cli.crossplane.io/stable/${CROSSPLANE_CLI_VERSION}/bin/linux_amd64/crossplane"
        in crossplane
    )
    assert "crossplane composition render" in crossplane
    assert "crossplane resource validate" in crossplane
    assert (
        "functions/agent_executor/example/functions.yaml" in crossplane
        or "$example/functions.yaml" in crossplane
    )


def test_render_diff_renders_and_validates_with_the_crossplane_the_platform_deploys() -> None:
    flow = workflow("render-diff.yml")
    assert flow["env"]["CROSSPLANE_VERSION"] == "v" + chart_version("crossplane")
    crossplane = steps(flow, "crossplane")
    assert '--crossplane-version "$CROSSPLANE_VERSION"' in crossplane
    assert 'crossplane/crossplane:$CROSSPLANE_VERSION"' in crossplane
    assert "tests/schemas/crds" in crossplane  # composed custom resources, the tests' CRDs


def test_render_diff_renders_each_kind_through_its_own_composition() -> None:
    crossplane = steps(workflow("render-diff.yml"), "crossplane")
    for api in ("postgres-instance", "dragonfly-instance"):
        assert f"composition-{api}.yaml" in crossplane
        assert (ROOT / "functions/agent_executor/example" / f"composition-{api}.yaml").is_file()
    assert "AgentExecutor|PostgresInstance|DragonflyInstance" in crossplane
    assert '--xrd "platform/apis/$api/definition.yaml"' in crossplane


def test_the_function_is_ready_when_grpc_connects_not_when_a_log_line_appears() -> None:
    start = next(
        s
        for s in workflow("render-diff.yml")["jobs"]["crossplane"]["steps"]
        if "make run-function" in s.get("run", "")
    )["run"]
    assert "grep" not in start and "function.log" not in start.split("&")[1].split("cat")[0]
    assert "grpc.channel_ready_future" in start and 'insecure_channel("localhost:9443")' in start
    assert ":9443" in (ROOT / "Makefile").read_text()


def test_images_are_multi_arch_and_pushed_only_from_main_and_tags() -> None:
    flow = workflow("images.yml")
    assert flow[True]["push"] == {"branches": ["main"], "tags": ["v*"]}
    assert set(flow["env"]["PLATFORMS"].split(",")) == {"linux/amd64", "linux/arm64"}
    images = flow["jobs"]["images"]
    built = {m["image"]: m["dockerfile"] for m in images["strategy"]["matrix"]["include"]}
    assert built == {
        "agent-executor": "workers/agent_executor/Dockerfile",
        "function-agent-executor-runtime": "functions/agent_executor/Dockerfile",
    }
    (build,) = uses(flow, "images", "docker/build-push-action")
    assert build["with"]["platforms"] == "${{ env.PLATFORMS }}"
    assert build["with"]["push"] == "${{ github.event_name != 'pull_request' }}"
    assert uses(flow, "images", "docker/setup-qemu-action")


@pytest.mark.parametrize("job", ["images", "function-package"])
def test_tags_are_main_and_the_commit_on_main_and_the_version_on_a_release_tag(job: str) -> None:
    (meta,) = uses(workflow("images.yml"), job, "docker/metadata-action")
    tags = meta["with"]["tags"].splitlines()
    assert tags == [
        "type=ref,event=branch",
        "type=sha,format=long,enable=${{ github.ref_type == 'branch' }}",
        "type=semver,pattern=v{{version}}",
    ]
    assert meta["with"]["flavor"] == "latest=false"


def test_the_function_package_embeds_each_architectures_runtime_and_pushes_both_under_one_tag() -> (
    None
):
    flow = workflow("images.yml")
    package = steps(flow, "function-package")
    tarballs = [s["with"] for s in uses(flow, "function-package", "docker/build-push-action")]
    assert {(t["platforms"], t["outputs"].split("/")[-1]) for t in tarballs} == {
        ("linux/amd64", "runtime-amd64.tar"),
        ("linux/arm64", "runtime-arm64.tar"),
    }
    assert all(t["file"] == "functions/agent_executor/Dockerfile" for t in tarballs)
    assert "crossplane xpkg build" in package
    assert "--package-root functions/agent_executor/package" in package
    assert '--embed-runtime-image-tarball "$WORK/runtime-$arch.tar"' in package
    assert "crossplane xpkg push" in package
    assert (
        '-f "$WORK/function-agent-executor-amd64.xpkg,$WORK/function-agent-executor-arm64.xpkg"'
        in package
    )
    push = next(
        s for s in flow["jobs"]["function-package"]["steps"] if "xpkg push" in s.get("run", "")
    )
    assert push["if"] == "github.event_name != 'pull_request'"
    assert (ROOT / "functions/agent_executor/package/crossplane.yaml").is_file()


def test_the_platform_installs_the_package_the_release_tag_publishes() -> None:
    (meta,) = uses(workflow("images.yml"), "function-package", "docker/metadata-action")
    published = meta["with"]["images"].replace("${{ github.repository_owner }}", "bizmatters")
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    for path in (
        "platform/crossplane/functions/function.yaml",
        "platform/apis/agent-executor/function.yaml",
    ):
        function = yaml.safe_load((ROOT / path).read_text())
        assert function["spec"]["package"] == f"{published}:v{version}", path
    assert published == FUNCTION_PACKAGE


# Safe workflows: valid, pinned, least privilege, no persisted credentials, zizmor-clean.


def test_workflows_are_valid_against_the_github_workflow_schema() -> None:
    result = subprocess.run(
        [BIN / "check-jsonschema", "--builtin-schema", "vendor.github-workflows", *WORKFLOW_FILES],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_finds_nothing_even_as_a_pedantic_auditor() -> None:
    result = subprocess.run(
        [BIN / "zizmor", "--offline", "--persona=pedantic", "--no-progress", WORKFLOWS],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout + result.stderr


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=[p.name for p in WORKFLOW_FILES])
def test_every_action_is_pinned_by_commit_with_its_version_alongside(path: Path) -> None:
    lines = [line for line in path.read_text().splitlines() if re.match(r"^\s*(-\s+)?uses:", line)]
    assert lines
    for line in lines:
        assert PINNED_USES.match(line), line


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=[p.name for p in WORKFLOW_FILES])
def test_permissions_are_granted_per_job_and_none_at_the_top(path: Path) -> None:
    flow = yaml.safe_load(path.read_text())
    assert flow["permissions"] == {}
    for name, job in flow["jobs"].items():
        assert isinstance(job.get("permissions"), dict) and job["permissions"], name
        assert set(job["permissions"].values()) <= {"read", "write"}, name


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=[p.name for p in WORKFLOW_FILES])
def test_checkouts_do_not_keep_the_token(path: Path) -> None:
    flow = yaml.safe_load(path.read_text())
    for name in flow["jobs"]:
        for step in uses(flow, name, "actions/checkout"):
            assert step["with"]["persist-credentials"] is False, name


# Renovate keeps the pins current.


def renovate() -> dict[str, Any]:
    config: dict[str, Any] = json.loads((ROOT / "renovate.json").read_text())
    return config


def test_renovate_config_is_valid_against_renovates_schema() -> None:
    result = subprocess.run(
        [BIN / "check-jsonschema", "--builtin-schema", "vendor.renovate", ROOT / "renovate.json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _matches(patterns: list[str], relative: str) -> bool:
    return any(re.search(p.strip("/"), relative) for p in patterns)


def test_renovate_reads_every_argo_cd_application_with_a_chart() -> None:
    patterns = renovate()["argocd"]["managerFilePatterns"]
    charts = [
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "apps").rglob("*.yaml")
        if "chart:" in p.read_text()
    ]
    assert len(charts) >= 7  # Crossplane, KEDA, External Secrets, NATS, NACK, CNPG, Dragonfly
    assert all(_matches(patterns, c) for c in charts)


def _regex_manager(file: str) -> list[dict[str, Any]]:
    return [m for m in renovate()["customManagers"] if _matches(m["managerFilePatterns"], file)]


def _extract(file: str) -> list[dict[str, str]]:
    found = []
    text = (ROOT / file).read_text()
    for manager in _regex_manager(file):
        for pattern in manager["matchStrings"]:
            for match in re.finditer(pattern.replace("(?<", "(?P<"), text):
                found.append(
                    {**match.groupdict(), **{k: v for k, v in manager.items() if "Template" in k}}
                )
    return found


def test_renovate_moves_the_chart_versions_the_readmes_name_with_their_applications() -> None:
    for component in ("crossplane", "keda", "external-secrets", "cloudnative-pg"):
        (found,) = _extract(f"platform/{component}/README.md")
        assert found["depName"] == component
        assert found["currentValue"] == chart_version(component)


def test_renovate_keeps_the_crossplane_cli_the_render_engine_and_the_image_pins_current() -> None:
    workflow_pins = {
        f["depNameTemplate"]: f["currentValue"]
        for f in _extract(".github/workflows/render-diff.yml")
    }
    assert workflow_pins == {
        "crossplane/cli": workflow("render-diff.yml")["env"]["CROSSPLANE_CLI_VERSION"],
        "crossplane/crossplane": workflow("render-diff.yml")["env"]["CROSSPLANE_VERSION"],
    }
    for dockerfile in ("functions/agent_executor/Dockerfile", "workers/agent_executor/Dockerfile"):
        assert {f["depName"] for f in _extract(dockerfile)} == {"python", "uv"}


def test_renovate_updates_python_pins_and_the_uv_lock() -> None:
    config = renovate()
    assert (
        "config:recommended" in config["extends"]
    )  # pep621 (pyproject + uv.lock) is on by default
    assert config["lockFileMaintenance"]["enabled"] is True
    assert "enabledManagers" not in config


def test_the_operations_guide_says_what_is_published_when() -> None:
    guide = (ROOT / "docs" / "operations.md").read_text()
    section = guide.split("## Published images and the function package")[1].split("\n## ")[0]
    for (image,) in [
        (m["image"],)
        for m in workflow("images.yml")["jobs"]["images"]["strategy"]["matrix"]["include"]
    ]:
        assert f"`{image}`" in section
    assert "`function-agent-executor`" in section and "crossplane xpkg push -f" in section
    assert "`main`, `sha-<" in section and "`vX.Y.Z`" in section and "No `latest` tag" in section
    assert "linux/amd64" in section and "linux/arm64" in section
