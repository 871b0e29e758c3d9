"""Benchmark RunFunction over gRPC: the AgentExecutor function against a trivial one.

Each server runs in its own process (as in a cluster), the client in this one.
For each function and caller count it prints calls/s, p50 and p99, then the
throughput ratio that DESIGN section 9 sets a target for.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import grpc
import yaml
from crossplane.function import resource
from crossplane.function.proto.v1 import run_function_pb2 as fnv1
from crossplane.function.proto.v1 import run_function_pb2_grpc as grpcv1

ROOT = Path(__file__).resolve().parent.parent
FULL_XR = ROOT / "tests" / "fixtures" / "xrs" / "every-field.yaml"
P99_TARGET_MS = 5.0
WARM_UP = 50
PORT_LINE = re.compile(r'"port": (\d+)|port=(\d+)')


@dataclass
class Result:
    """Figures for one function at one concurrency."""

    label: str
    callers: int
    calls: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rate(self) -> float:
        return self.calls / self.seconds

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def start_server(argv: list[str]) -> tuple[subprocess.Popen[str], int]:
    """Start a function server on a free port and read the port it reports."""
    proc = subprocess.Popen(
        [sys.executable, *argv],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        match = PORT_LINE.search(line)
        if match:
            return proc, int(match.group(1) or match.group(2))
    proc.kill()
    raise RuntimeError(f"server {argv} did not report a port")


def request_for(xr: dict[str, object], variant: int) -> fnv1.RunFunctionRequest:
    """A request for `xr`; `variant` changes the name so no two XRs are alike when asked."""
    xr = json.loads(json.dumps(xr))
    if variant >= 0:
        xr["metadata"]["name"] = f"{xr['metadata']['name']}-{variant}"  # type: ignore[index]
    return fnv1.RunFunctionRequest(
        meta=fnv1.RequestMeta(tag=str(variant)),
        observed=fnv1.State(composite=fnv1.Resource(resource=resource.dict_to_struct(xr))),
    )


async def drive(
    port: int, requests: list[fnv1.RunFunctionRequest], callers: int, label: str
) -> Result:
    """Send every request, `callers` at a time, over one channel."""
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = grpcv1.FunctionRunnerServiceStub(channel)
        for req in requests[:WARM_UP]:  # warm-up: imports, connections, caches of the server
            await stub.RunFunction(req)
        latencies: list[float] = []
        queue = list(reversed(requests[WARM_UP:]))

        async def caller() -> None:
            while queue:
                req = queue.pop()
                began = time.perf_counter()
                rsp = await stub.RunFunction(req)
                latencies.append((time.perf_counter() - began) * 1000)
                if any(r.severity == fnv1.SEVERITY_FATAL for r in rsp.results):
                    raise RuntimeError(f"{label}: fatal result {rsp.results}")

        began = time.perf_counter()
        await asyncio.gather(*(caller() for _ in range(callers)))
        return Result(label, callers, len(requests), time.perf_counter() - began, latencies)


def report(result: Result) -> None:
    print(
        f"{result.label:<28} callers={result.callers}  {result.rate:8.0f} calls/s  "
        f"p50={statistics.median(result.latencies_ms):6.2f} ms  p99={result.pct(0.99):6.2f} ms"
    )


async def run(calls: int) -> int:
    xr = yaml.safe_load(FULL_XR.read_text())
    full_proc, full_port = start_server(
        ["-m", "functions.agent_executor", "--insecure", "--address", "127.0.0.1:0"]
    )
    trivial_proc, trivial_port = start_server(["-m", "benchmarks.trivial_function"])
    try:
        results: dict[tuple[str, int], Result] = {}
        # `repeat`: the same XR every call, as Crossplane re-reconciles it;
        # `distinct`: a new XR every call, so nothing the server cached helps.
        # Each round's distinct XRs are new to the server (names never sent before,
        # warm-up included): a round must not find what an earlier one cached.
        names = itertools.count()
        for callers in (1, 8):
            cases = [
                ("trivial", trivial_port, [request_for(xr, -1)] * (calls + WARM_UP)),
                ("agent-executor (repeat)", full_port, [request_for(xr, -1)] * (calls + WARM_UP)),
                (
                    "agent-executor (distinct)",
                    full_port,
                    [request_for(xr, next(names)) for _ in range(calls + WARM_UP)],
                ),
            ]
            for label, port, reqs in cases:
                result = await drive(port, reqs, callers, label)
                results[(label, callers)] = result
                report(result)
        print()
        # DESIGN section 9: at 8 callers, the repeat case >= 0.75 of trivial and a
        # never-seen XR >= 0.5; single caller p99 < 5 ms for both.
        missed = []
        for label, target in (
            ("agent-executor (repeat)", 0.75),
            ("agent-executor (distinct)", 0.5),
        ):
            for callers in (1, 8):
                ratio = results[(label, callers)].rate / results[("trivial", callers)].rate
                verdict = ""
                if callers == 8:
                    verdict = "met" if ratio >= target else "MISSED"
                    if ratio < target:
                        missed.append(f"{label} ratio")
                print(
                    f"ratio {label:<26} / trivial at {callers} callers: {ratio:5.2f}"
                    + (f"  (target >= {target}: {verdict})" if verdict else "")
                )
        for label in ("agent-executor (repeat)", "agent-executor (distinct)"):
            p99 = results[(label, 1)].pct(0.99)
            verdict = "met" if p99 < P99_TARGET_MS else "MISSED"
            print(
                f"p99 single caller, {label}: {p99:.2f} ms (target < {P99_TARGET_MS} ms: {verdict})"
            )
            if p99 >= P99_TARGET_MS:
                missed.append(f"{label} p99")
        print("function targets: " + ("all met" if not missed else "MISSED " + ", ".join(missed)))
        return 0
    finally:
        for proc in (full_proc, trivial_proc):
            proc.terminate()
            proc.wait(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=3000, help="calls per case")
    return asyncio.run(run(parser.parse_args().calls))


if __name__ == "__main__":
    sys.exit(main())
