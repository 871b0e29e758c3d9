"""`agentplane render` refuses what `validate` refuses about a document's type, in the same
words and order, and prints the function's warnings without being asked."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.tenant_repo import agentplane, edit, make_tenant_repo

pytestmark = pytest.mark.slow

DEEPAGENTS = Path("claims/intelligence-deepagents/agent-executor.yaml")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_tenant_repo(tmp_path / "repo")


def test_an_unserved_version_is_refused_as_validate_refuses_it(repo: Path) -> None:
    edit(repo / DEEPAGENTS, "platform.bizmatters.io/v1alpha1", "platform.bizmatters.io/v1alpha2")
    rendered = agentplane(repo, "render", str(DEEPAGENTS))
    validated = agentplane(repo, "validate", str(DEEPAGENTS))
    assert (rendered.returncode, rendered.stdout) == (1, "")
    assert rendered.stderr == validated.stdout
    assert "v1alpha2 AgentExecutor is not served" in rendered.stderr


def test_the_latest_tag_warning_is_printed_without_function_results(repo: Path) -> None:
    edit(repo / DEEPAGENTS, "deepagents-runtime:0.4.2", "deepagents-runtime:latest")
    proc = agentplane(repo, "render", str(DEEPAGENTS))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.startswith(
        f"{DEEPAGENTS}: warning: spec.image: 'ghcr.io/bizmatters/deepagents-runtime:latest' "
        "uses the mutable 'latest' tag"
    )
    assert "kind: Result" not in proc.stdout
