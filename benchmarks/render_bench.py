"""Benchmark `agentplane render` of 100 generated claims in one run (DESIGN section 9).

The baseline, measured in the same run, is rendering one claim: it is the fixed
cost (interpreter, imports, starting the function once). The difference divided
by 99 is the marginal cost per claim.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "claims" / "intelligence-deepagents" / "agent-executor.yaml"
TARGET_SECONDS = 3.0


def write_claims(directory: Path, count: int) -> None:
    """`count` distinct claims (names, namespaces, concurrency vary) in `directory`."""
    base = yaml.safe_load(TEMPLATE.read_text())
    for index in range(count):
        claim = copy.deepcopy(base)
        claim["metadata"]["name"] = f"executor-{index:03d}"
        claim["metadata"]["namespace"] = f"team-{index % 10}"
        claim["spec"]["concurrency"] = 1 + index % 16
        (directory / f"claim-{index:03d}.yaml").write_text(yaml.safe_dump(claim))


def timed_render(path: Path) -> float:
    """Wall seconds of one `agentplane render PATH`, output discarded."""
    began = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "functions.render", "render", str(path)],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - began


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--claims", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        many, one = Path(tmp) / "many", Path(tmp) / "one"
        many.mkdir()
        one.mkdir()
        write_claims(many, args.claims)
        write_claims(one, 1)
        timed_render(one)  # warm the page cache and .pyc files
        singles = [timed_render(one) for _ in range(args.runs)]
        batches = [timed_render(many) for _ in range(args.runs)]
    single, batch = statistics.median(singles), statistics.median(batches)
    print(f"render 1 claim:    median {single:5.2f} s  (min {min(singles):.2f})")
    print(f"render {args.claims} claims: median {batch:5.2f} s  (min {min(batches):.2f})")
    print(f"marginal cost per claim: {(batch - single) / (args.claims - 1) * 1000:5.1f} ms")
    print(f"ratio {args.claims} claims / 1 claim: {batch / single:4.2f}")
    verdict = "met" if batch < TARGET_SECONDS else "MISSED"
    print(f"target {args.claims} claims < {TARGET_SECONDS:.1f} s: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
