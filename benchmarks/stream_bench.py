"""Streaming latency: an LLM token leaving the fake, to the same token at an SSE client.

DESIGN section 9: p50 < 20 ms and p99 < 100 ms at 64 jobs in flight, and the time
`POST /jobs` takes to answer. Real NATS JetStream, PostgreSQL and Redis from local binaries,
one worker process at `WORKER_CONCURRENCY=64`, and a fake OpenAI-compatible server that
streams each token as its own SSE chunk, stamping the moment it writes it into the token's
text. One SSE client per job reads `GET /jobs/{id}/events`, from the moment its `POST /jobs` is
answered. Jobs are submitted one after the other; the figures are those of the tokens sent
once every job was accepted (all of them in flight), the ramp-up's are printed apart.

Baseline, measured in the same run: the same tokens read straight from each job's Redis
replay stream with `XREAD BLOCK` (what the worker's Redis writer alone costs). The ratio
of the two shows what the HTTP/SSE layer adds.

Every process shares the machine, so the CPU each one used during the measured round is
printed too (cores, and the worker's CPU per token): a latency figure is only the worker's
when the worker is not waiting for a core.

    python -m benchmarks.stream_bench [--jobs 64] [--tokens 40] [--interval 0.05] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from redis.asyncio import Redis

from benchmarks.worker_bench import CpuProbe, children, find_process
from testbed.database import migrate
from testbed.servers import nats_server, postgres_server, redis_server
from testbed.worker import Worker, agent_definition

ROOT = Path(__file__).resolve().parent.parent
STAMP = "@"
P50_TARGET_MS = 20.0
P99_TARGET_MS = 100.0


# --- the fake LLM: every token its own chunk, stamped when it is written ------------------------


def _chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    payload = {
        "id": "chatcmpl-stream",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "stream",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    data = f"data: {json.dumps(payload)}\n\n".encode()
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


class _StreamingFake(asyncio.Protocol):
    """One keep-alive connection; answers each chat completion with `tokens` timed chunks."""

    tokens = 40
    interval = 0.05

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buffer[:end])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        if len(self.buffer) < end + 4 + length:
            return
        del self.buffer[: end + 4 + length]
        asyncio.get_running_loop().create_task(self._answer())

    async def _answer(self) -> None:
        transport = self.transport
        assert transport is not None
        transport.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        transport.write(_chunk({"role": "assistant", "content": ""}))
        for _ in range(self.tokens):
            await asyncio.sleep(self.interval)
            transport.write(_chunk({"content": f"{STAMP}{time.time_ns()};"}))
        transport.write(_chunk({}, "stop"))
        usage = {"prompt_tokens": 10, "completion_tokens": self.tokens, "total_tokens": 50}
        tail = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "stream"}
        data = f"data: {json.dumps({**tail, 'choices': [], 'usage': usage})}\n\n".encode()
        transport.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        done = b"data: [DONE]\n\n"
        transport.write(f"{len(done):x}\r\n".encode() + done + b"\r\n0\r\n\r\n")


async def _serve_fake(tokens: int, interval: float) -> None:
    _StreamingFake.tokens, _StreamingFake.interval = tokens, interval
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_StreamingFake, "127.0.0.1", 0, backlog=1024)
    print(f"base_url=http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1", flush=True)
    async with server:
        await asyncio.Event().wait()


# --- the clients ---------------------------------------------------------------------------------


# (when the fake sent the token, ns since the epoch; milliseconds until it arrived)
Token = tuple[int, float]


def _latencies(delta: str, received_ns: int) -> list[Token]:
    stamps = (part.removeprefix(STAMP) for part in delta.split(";") if part.startswith(STAMP))
    return [(int(s), (received_ns - int(s)) / 1e6) for s in stamps if s.isdigit()]


async def _sse_client(client: httpx.AsyncClient, job_id: str, out: list[Token]) -> None:
    async with client.stream("GET", f"/jobs/{job_id}/events", timeout=120) as answer:
        event = ""
        async for line in answer.aiter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:") and event == "on_llm_stream":
                received = time.time_ns()
                out.extend(_latencies(json.loads(line[5:])["delta"], received))
            elif line.startswith("data:") and event == "end":
                return


async def _redis_client(redis: Redis, job_id: str, out: list[Token]) -> None:
    key, last = f"langgraph:stream:{job_id}:replay", "0-0"
    while True:
        reply: Any = await redis.xread({key: last}, block=5000)
        for _, entries in reply or []:
            for entry_id, fields in entries:
                last = entry_id.decode()
                received = time.time_ns()
                event = json.loads(fields[b"event"])
                if event["event_type"] == "on_llm_stream":
                    out.extend(_latencies(event["data"]["delta"], received))
                elif event["event_type"] == "end":
                    return


def _job(index: int, run: str) -> dict[str, Any]:
    return {
        "job_id": f"stream-{run}-{index}",
        "agent_definition": agent_definition(model="stream"),
        "input_payload": {"messages": [{"role": "user", "content": "Talk."}]},
    }


@dataclass
class Round:
    sse: list[Token] = field(default_factory=list)
    redis: list[Token] = field(default_factory=list)
    posts: list[float] = field(default_factory=list)
    all_accepted_ns: int = 0  # when the last job was accepted: all of them in flight


async def _round(url: str, redis_url: str, jobs: int, run: str) -> Round:
    """`jobs` submitted one after the other, each followed (SSE and Redis) once accepted."""
    result = Round()
    # One blocking XREAD, so one connection, per job followed.
    redis = Redis.from_url(redis_url, max_connections=jobs + 8)
    limits = httpx.Limits(max_connections=jobs * 2 + 8)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        followers = []
        for index in range(jobs):
            body = _job(index, run)
            began = time.perf_counter()
            answer = await client.post("/jobs", json=body)
            result.posts.append((time.perf_counter() - began) * 1000)
            assert answer.status_code == 202, answer.text
            # Followed as soon as it is accepted, as a client does. (Followers started only
            # after every submission replayed the first jobs' tokens from the stream, and
            # counted how long the later submissions took as streaming latency.)
            followers.append(asyncio.create_task(_sse_client(client, body["job_id"], result.sse)))
            followers.append(
                asyncio.create_task(_redis_client(redis, body["job_id"], result.redis))
            )
        result.all_accepted_ns = time.time_ns()
        await asyncio.wait_for(asyncio.gather(*followers), timeout=300)
    await redis.aclose()
    return result


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--jobs", type=int, default=64, help="jobs in flight at once")
    parser.add_argument("--tokens", type=int, help="tokens per LLM answer (100; quick 40)")
    parser.add_argument("--interval", type=float, default=0.05, help="seconds between tokens")
    parser.add_argument("--quick", action="store_true", help="fewer tokens per job")
    parser.add_argument("--serve-fake", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.tokens is None:
        args.tokens = 40 if args.quick else 100
    if args.serve_fake:
        asyncio.run(_serve_fake(args.tokens, args.interval))
        return 0

    fake = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.stream_bench", "--serve-fake",
         "--tokens", str(args.tokens), "--interval", str(args.interval)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert fake.stdout is not None
        base_url = fake.stdout.readline().strip().removeprefix("base_url=")
        with nats_server() as nats, redis_server() as redis_url, postgres_server() as pg:
            migrate(pg.url)
            env = {
                "NATS_URL": nats.url,
                "REDIS_URL": redis_url,
                "DATABASE_URL": pg.url,
                "OPENAI_BASE_URL": base_url,
                "OPENAI_API_KEY": "sk-bench",
                "NATS_CREATE_STREAMS": "true",
                "WORKER_CONCURRENCY": str(args.jobs),
                "POSTGRES_POOL_MAX": "20",
                "LOG_LEVEL": "WARNING",
                "WORKER_LOG_DIR": tempfile.gettempdir(),
            }
            worker = Worker(env).start()
            assert worker.proc is not None
            postmaster = (
                int((pg.data / "postmaster.pid").read_text().split()[0]) if pg.data else None
            )
            port = redis_url.rsplit(":", 1)[-1].split("/")[0]
            redis_pid = find_process("redis-server", f":{port}")
            worker_pid, nats_pid = worker.proc.pid, nats.proc.pid if nats.proc else None
            groups: dict[str, Callable[[], list[int]]] = {
                "worker": lambda: [worker_pid],
                "bench clients": lambda: [os.getpid()],
                "fake-llm": lambda: [fake.pid],
            }
            if redis_pid:
                groups["redis"] = lambda: [redis_pid]
            if nats_pid:
                groups["nats"] = lambda: [nats_pid]
            if postmaster:
                groups["postgres"] = lambda: [postmaster, *children(postmaster)]
            cpu = CpuProbe(groups)
            try:
                asyncio.run(_round(worker.url, redis_url, 4, "warm"))
                cpu.start()
                measured = asyncio.run(_round(worker.url, redis_url, args.jobs, "run"))
                cpu_report = cpu.stop()
            finally:
                worker.stop()
    finally:
        fake.terminate()
        fake.wait(timeout=10)

    expected = args.jobs * args.tokens
    print(
        f"== streaming latency, {args.jobs} jobs in flight, {args.tokens} tokens each, "
        f"one every {args.interval * 1000:g} ms"
    )
    print(f"tokens seen: SSE {len(measured.sse)} / Redis {len(measured.redis)} of {expected}")
    # With every job accepted (and followed) the worker has `jobs` in flight: the figures
    # are the tokens the fake sent from then on. Those of the ramp-up, while the jobs were
    # still being submitted one after the other, are shown too.
    steady_at = measured.all_accepted_ns
    figures: dict[str, list[float]] = {}
    for name, tokens in (("Redis XREAD (baseline)", measured.redis), ("SSE", measured.sse)):
        steady = [ms for sent, ms in tokens if sent >= steady_at]
        ramp = [ms for sent, ms in tokens if sent < steady_at]
        figures[name] = steady
        print(
            f"{name:24s} {args.jobs} in flight: p50 {statistics.median(steady):7.1f} ms  "
            f"p99 {_percentile(steady, 0.99):7.1f} ms  max {max(steady):7.1f} ms "
            f"({len(steady)} tokens)"
        )
        if ramp:
            print(
                f"{'':24s} ramp-up:      p50 {statistics.median(ramp):7.1f} ms  "
                f"p99 {_percentile(ramp, 0.99):7.1f} ms  ({len(ramp)} tokens)"
            )
    sse, direct = figures["SSE"], figures["Redis XREAD (baseline)"]
    ratio = statistics.median(sse) / max(statistics.median(direct), 0.001)
    print(f"SSE p50 / Redis p50: {ratio:.2f} (what the HTTP/SSE layer adds to the baseline)")
    print(
        f"{cpu_report}; worker {cpu.per_job_ms('worker', max(1, len(measured.sse))):.2f} "
        f"ms CPU per token streamed [{cpu.elapsed:.1f} s]"
    )
    p50, p99 = statistics.median(sse), _percentile(sse, 0.99)
    print(
        f"target at {args.jobs} in flight: p50 < {P50_TARGET_MS:g} ms: {p50:.1f} ms "
        + ("met" if p50 < P50_TARGET_MS else "MISSED")
        + f"; p99 < {P99_TARGET_MS:g} ms: {p99:.1f} ms "
        + ("met" if p99 < P99_TARGET_MS else "MISSED")
    )
    posts = measured.posts
    print(
        f"POST /jobs answered in p50 {statistics.median(posts):.1f} ms, "
        f"p99 {_percentile(posts, 0.99):.1f} ms ({len(posts)} submissions)"
    )
    return 0 if len(measured.sse) == expected else 1


if __name__ == "__main__":
    sys.exit(main())
