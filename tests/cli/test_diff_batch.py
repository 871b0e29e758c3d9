"""`agentplane diff` of enough claims for worker processes prints exactly the diff of each
claim rendered alone on each side and printed with PyYAML's own representer: changed,
added and removed claims, and documents both sides render alike left out."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from functions.render.batch import document_key
from functions.render.claims import find_claims
from functions.render.cli import DEFAULT_COMPOSITIONS, DEFAULT_FUNCTIONS
from functions.render.diff import DiffResult, compare, format_text
from functions.render.engine import Engine
from functions.render.yaml_io import load_stream
from testbed.stock_yaml import stock_dump
from tests.conftest import ROOT
from tests.support.tenant_repo import agentplane, commit_all, git, make_tenant_repo

pytestmark = pytest.mark.slow

TEMPLATE = yaml.safe_load((ROOT / "claims/intelligence-deepagents/agent-executor.yaml").read_text())
COUNT = 12  # 24 renders: worker processes on a machine with two cores or more


def claim_file(repo: Path, index: int) -> Path:
    return repo / "claims" / f"team-{index % 3}" / f"executor-{index:02d}.yaml"


def write_claim(repo: Path, index: int, concurrency: int, size: str = "medium") -> None:
    claim = copy.deepcopy(TEMPLATE)
    claim["metadata"]["name"] = f"executor-{index:02d}"
    claim["metadata"]["namespace"] = f"team-{index % 3}"
    claim["spec"]["concurrency"] = concurrency
    claim["spec"]["size"] = size
    path = claim_file(repo, index)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(claim))


def alone(engine: Engine, root: Path, files: list[str]) -> dict[tuple[str, str], str]:
    """(claim file, resource) → YAML, each claim rendered on its own."""
    rendered = {}
    for claim in find_claims([root / f for f in files if (root / f).is_file()]):
        label = f"{claim.path.relative_to(root)} ({claim.label})"
        for document in engine.render(claim.document).documents():
            rendered[(label, document_key(document))] = stock_dump(document, sort_keys=True)
    return rendered


def test_a_large_diff_is_each_claim_rendered_alone_on_each_side(tmp_path: Path) -> None:
    repo = make_tenant_repo(tmp_path / "repo")
    for index in range(COUNT):
        write_claim(repo, index, concurrency=1 + index)
    commit_all(repo, "many claims")
    base = tmp_path / "base"
    git(repo, "worktree", "add", "--detach", "--quiet", str(base), "HEAD")
    for index in range(COUNT - 2):  # every Deployment changes; one claim also grows
        write_claim(repo, index, concurrency=40 + index, size="large" if index == 3 else "medium")
    claim_file(repo, COUNT - 2).unlink()  # removed
    write_claim(repo, COUNT, concurrency=2)  # added
    files = sorted(
        p.relative_to(repo).as_posix() for i in range(COUNT + 1) for p in [claim_file(repo, i)]
    )

    proc = agentplane(repo, "diff", "--base", "HEAD")

    assert proc.returncode == 1, proc.stderr
    compositions = [d for path in DEFAULT_COMPOSITIONS for d in load_stream(path)]
    with Engine(ROOT, compositions, load_stream(DEFAULT_FUNCTIONS)) as engine:
        before, after = alone(engine, base, files), alone(engine, repo, files)
    expected = format_text(DiffResult(compare(before, after)))
    assert proc.stdout == expected
    statuses = {line.rsplit("(", 1)[1] for line in proc.stdout.splitlines() if line[:4] == "=== "}
    assert statuses == {"changed)", "added)", "removed)"}
