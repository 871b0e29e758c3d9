"""Running git for the tenant tooling."""

from __future__ import annotations

import subprocess
from pathlib import Path


class GitError(RuntimeError):
    """A git command failed; the message carries git's own words."""


def git(repo: Path, *args: str) -> str:
    """Run git in `repo` and return stdout; raise GitError with git's message on failure."""
    proc = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        reason = proc.stderr.strip() or proc.stdout.strip() or f"exit status {proc.returncode}"
        raise GitError(f"git {' '.join(args)}: {reason}")
    return proc.stdout


def merge_base(repo: Path, ref: str) -> str:
    """The commit where HEAD's history left `ref`'s, as a pull request compares against;
    git's own message (e.g. `Not a valid object name`) when `ref` does not exist."""
    return git(repo, "merge-base", ref, "HEAD").strip()
