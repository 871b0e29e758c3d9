"""A temporary tenant repository for `agentplane` tests: the function, the APIs, the CRDs
`validate` reads and the example claims, committed on `main`; helpers to run the CLI in it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

PARTS = (
    "contract",
    "functions",
    "platform/apis",
    "tests/schemas/crds/external-secrets.io",
    "claims",
)
AUTHOR = ("-c", "user.name=t", "-c", "user.email=t@t")


def git(repo: Path, *args: str) -> str:
    """Run git in `repo` as a test author; stdout."""
    proc = subprocess.run(["git", *AUTHOR, *args], cwd=repo, check=True, capture_output=True)
    return proc.stdout.decode()


def make_tenant_repo(target: Path) -> Path:
    """Copy the repository parts the CLI needs to `target` and commit them on `main`."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for part in PARTS:
        shutil.copytree(ROOT / part, target / part, ignore=ignore)
    git(target, "init", "--quiet", "--initial-branch=main")
    commit_all(target, "base")
    return target


def commit_all(repo: Path, message: str) -> None:
    """Commit every change in `repo`."""
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", message)


def agentplane(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`agentplane ARGS` run from `repo` with the repository's own code."""
    return subprocess.run(
        [sys.executable, "-m", "functions.render", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def edit(path: Path, old: str, new: str) -> None:
    """Replace `old` (which must be there) with `new` in a file."""
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))
