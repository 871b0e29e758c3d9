"""Benchmark RunFunction over gRPC: the AgentExecutor function against a trivial one.

Each server runs in its own process (as in a cluster), the client in this one.
For each function and caller count it prints calls/s, p50 and p99, then the
throughput ratio that DESIGN section 9 sets a target for.
"""

from __future__ import annotations

import argparse
import asyncio
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
        for req in requests[:50]:  # warm-up: imports, connections, caches of the server
            await stub.RunFunction(req)
        latencies: list[float] = []
        queue = list(requests)

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
        cases = [
            ("trivial", trivial_port, [request_for(xr, -1)] * calls),
            ("agent-executor (repeat)", full_port, [request_for(xr, -1)] * calls),
            ("agent-executor (distinct)", full_port, [request_for(xr, i) for i in range(calls)]),
        ]
        for callers in (1, 8):
            for label, port, reqs in cases:
                result = await drive(port, reqs, callers, label)
                results[(label, callers)] = result
                report(result)
        print()
        ok = True
        for callers in (1, 8):
            base = results[("trivial", callers)].rate
            for label in ("agent-executor (repeat)", "agent-executor (distinct)"):
                ratio = results[(label, callers)].rate / base
                print(f"ratio {label:<26} / trivial at {callers} callers: {ratio:5.2f}")
                if callers == 8 and ratio < 0.5:
                    ok = False
        p99 = results[("agent-executor (distinct)", 1)].pct(0.99)
        print(f"p99 single caller, distinct XRs: {p99:.2f} ms (target < 5 ms)")
        print("target met" if ok and p99 < 5 else "TARGET MISSED")
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
