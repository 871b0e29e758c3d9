"""Benchmark `agentplane render` and `agentplane diff` of 1,000 generated claims (DESIGN
section 9: render under 5 s, diff of 1,000 changed claims, both sides rendered, under 10 s).

Each figure has a baseline measured in the same run: rendering one claim, and a diff in the
same 1,000-claim repository where one claim changed. Both are the fixed cost (interpreter,
imports, starting the function; for diff also the base worktree and a second function).

The 1,000-claim output is then checked byte for byte against the concatenation of the
claims rendered one at a time in this process with PyYAML's own representer
(`--no-check` skips it).
"""

from __future__ import annotations

import argparse
import copy
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "claims" / "intelligence-deepagents" / "agent-executor.yaml"
RENDER_TARGET_SECONDS = 5.0
DIFF_TARGET_SECONDS = 10.0
# What a tenant repository needs for `diff`: the function and the APIs at each commit.
REPO_PARTS = ("contract", "functions", "platform/apis")
GIT = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com"]


def claim(index: int, concurrency: int | None = None) -> dict[str, Any]:
    """Claim `index` of a generated tenant: names, namespaces and concurrency vary."""
    document: dict[str, Any] = copy.deepcopy(_BASE)
    document["metadata"]["name"] = f"executor-{index:04d}"
    document["metadata"]["namespace"] = f"team-{index % 10}"
    document["spec"]["concurrency"] = concurrency or 1 + index % 16
    return document


_BASE = yaml.safe_load(TEMPLATE.read_text())


def write_claims(directory: Path, count: int) -> list[Path]:
    """`count` distinct claims in `directory`, one file each; the files in render order."""
    paths = []
    for index in range(count):
        path = directory / f"claim-{index:04d}.yaml"
        path.write_text(yaml.safe_dump(claim(index)))
        paths.append(path)
    return paths


def agentplane(*args: str, cwd: Path = ROOT, stdout: int | None = subprocess.DEVNULL) -> str:
    """Run `agentplane ARGS`; its stdout when captured. Exit 1 is diff's "changes"."""
    proc = subprocess.run(
        [sys.executable, "-m", "functions.render", *args],
        cwd=cwd,
        stdout=stdout,
        check=False,
        text=True,
    )
    if proc.returncode not in (0, 1):
        raise SystemExit(f"agentplane {' '.join(args)}: exit {proc.returncode}")
    return proc.stdout or ""


def timed(run: Callable[[], object]) -> tuple[float, float]:
    """Wall seconds of `run`, and the CPU seconds of every process it ran (the CLI, its
    workers and its function processes, all reaped by then)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    run()
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return wall, cpu


def make_repo(target: Path, count: int) -> None:
    """A tenant repository with `count` claims (claims/team-N/), committed on `main`."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for part in REPO_PARTS:
        shutil.copytree(ROOT / part, target / part, ignore=ignore)
    for index in range(count):
        path = target / "claims" / f"team-{index % 10}" / f"executor-{index:04d}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(claim(index)))
    for args in (["init", "--quiet", "--initial-branch=main"], ["add", "-A"]):
        subprocess.run([*GIT, *args], cwd=target, check=True)
    subprocess.run([*GIT, "commit", "--quiet", "-m", "base"], cwd=target, check=True)


def change_claims(repo: Path, indices: range) -> None:
    """Give each claim in `indices` another concurrency, in the working tree."""
    for index in indices:
        path = repo / "claims" / f"team-{index % 10}" / f"executor-{index:04d}.yaml"
        path.write_text(yaml.safe_dump(claim(index, concurrency=32 + index % 16)))


def restore_claims(repo: Path) -> None:
    subprocess.run([*GIT, "checkout", "--quiet", "--", "claims"], cwd=repo, check=True)


def reference_render(paths: list[Path]) -> str:
    """Each claim rendered alone, in turn, and printed with PyYAML's stock representer."""
    from functions.render.cli import DEFAULT_COMPOSITIONS, DEFAULT_FUNCTIONS
    from functions.render.engine import Engine
    from functions.render.yaml_io import load_stream
    from testbed.stock_yaml import stock_dump

    compositions = [d for p in DEFAULT_COMPOSITIONS for d in load_stream(p)]
    functions = load_stream(DEFAULT_FUNCTIONS)
    out = []
    with Engine(ROOT, compositions, functions) as engine:
        for path in paths:
            for document in load_stream(path):
                rendered = engine.render(document)
                out += [f"---\n{stock_dump(d, sort_keys=True)}" for d in rendered.documents()]
    return "".join(out)


def report(
    name: str,
    count: int,
    singles: list[tuple[float, float]],
    batches: list[tuple[float, float]],
    target: float,
) -> None:
    single, batch = [w for w, _ in singles], [w for w, _ in batches]
    one, many = statistics.median(single), statistics.median(batch)
    cpu_one = statistics.median(c for _, c in singles)
    cpu_many = statistics.median(c for _, c in batches)
    print(f"{name} 1 claim:      median {one:5.2f} s  (min {min(single):.2f}), CPU {cpu_one:.2f} s")
    print(
        f"{name} {count} claims: median {many:5.2f} s  (min {min(batch):.2f}), CPU {cpu_many:.2f} s"
    )
    print(f"  marginal cost per claim: {(many - one) / max(count - 1, 1) * 1000:5.2f} ms")
    print(f"  ratio {count} claims / 1 claim: {many / one:4.2f}")
    verdict = "met" if many < target else "MISSED"
    print(f"  target {count} claims < {target:.0f} s: {verdict}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--claims", type=int, default=1000)
    parser.add_argument("--no-diff", action="store_true", help="skip the diff benchmark")
    parser.add_argument("--no-check", action="store_true", help="skip the byte-identity check")
    args = parser.parse_args()
    # A shared machine slows every figure; CPU seconds (all processes) over the cores is what
    # a quiet one would take at best.
    cores, load = len(os.sched_getaffinity(0)), os.getloadavg()[0]
    print(f"{cores} cores, load average {load:.2f} at the start")
    with tempfile.TemporaryDirectory() as tmp:
        many, one = Path(tmp) / "many", Path(tmp) / "one"
        many.mkdir()
        one.mkdir()
        paths = write_claims(many, args.claims)
        write_claims(one, 1)
        agentplane("render", str(one))  # warm the page cache and .pyc files
        singles = [timed(lambda: agentplane("render", str(one))) for _ in range(args.runs)]
        batches = [timed(lambda: agentplane("render", str(many))) for _ in range(args.runs)]
        report("render", args.claims, singles, batches, RENDER_TARGET_SECONDS)

        if not args.no_diff:
            repo = Path(tmp) / "repo"
            make_repo(repo, args.claims)
            diff_one, diff_all = [], []
            for _ in range(args.runs):
                change_claims(repo, range(1))
                diff_one.append(timed(lambda: agentplane("diff", "--base", "HEAD", cwd=repo)))
                change_claims(repo, range(args.claims))
                diff_all.append(timed(lambda: agentplane("diff", "--base", "HEAD", cwd=repo)))
                restore_claims(repo)
            report("diff", args.claims, diff_one, diff_all, DIFF_TARGET_SECONDS)

        if not args.no_check:
            output = agentplane("render", str(many), stdout=subprocess.PIPE)
            same = output == reference_render(paths)
            print(f"{args.claims}-claim output == claims rendered alone: {same}")
            if not same:
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
