"""`agentplane diff --base REF` compares against the merge-base of REF and HEAD, as a pull
request does, and reports every git failure in git's own words."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.tenant_repo import agentplane, commit_all, edit, git, make_tenant_repo

pytestmark = pytest.mark.slow

ANALYTICS = Path("claims/intelligence-analytics/agent-executor.yaml")
DEEPAGENTS = Path("claims/intelligence-deepagents/agent-executor.yaml")


@pytest.fixture
def behind(tmp_path: Path) -> Path:
    """A branch `feature` that changed the deepagents executor, while `main` moved on
    (after the branch point) with a change to the analytics executor."""
    repo = make_tenant_repo(tmp_path / "repo")
    git(repo, "switch", "--quiet", "-c", "feature")
    edit(repo / DEEPAGENTS, "size: medium", "size: large")
    commit_all(repo, "feature: a larger executor")
    git(repo, "switch", "--quiet", "main")
    edit(repo / ANALYTICS, "concurrency: 4", "concurrency: 6")
    commit_all(repo, "main: more concurrency for analytics")
    git(repo, "switch", "--quiet", "feature")
    return repo


def test_a_branch_behind_its_base_shows_only_its_own_changes(behind: Path) -> None:
    proc = agentplane(behind, "diff", "--base", "main")
    assert proc.returncode == 1, proc.stderr
    assert "intelligence-deepagents/deepagents-executor (changed)" in proc.stdout
    assert "analytics" not in proc.stdout


@pytest.mark.parametrize(
    ("ref", "git_says"),
    [
        ("origin/mian", "Not a valid object name origin/mian"),
        ("no-such-ref", "Not a valid object name no-such-ref"),
    ],
)
def test_an_unknown_ref_is_reported_in_gits_own_words(
    behind: Path, ref: str, git_says: str
) -> None:
    proc = agentplane(behind, "diff", "--base", ref)
    assert proc.returncode == 2
    assert git_says in proc.stderr, proc.stderr
