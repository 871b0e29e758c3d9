"""Benchmark the agent executor worker against same-run baselines (DESIGN section 9).

Real NATS (JetStream), Redis and PostgreSQL are started from local binaries
(`testbed/servers.py`); workers run as `python -m workers.agent_executor`
processes (`testbed/worker.py`). The LLM is a fake OpenAI-compatible server
in its own process, written here on raw asyncio so that it is never the bottleneck:
it answers a request whose last message is from the user with one `write_file` tool
call, any other with text, in SSE form with a usage chunk, after the latency named
by the model (`fake-200ms` waits 200 ms, `fake-0ms` answers at once). It keeps no
state, so any number of concurrent jobs each make exactly two LLM calls and one
tool call.

The defaults are the second release's targets (DESIGN section 9):

1. Overhead: jobs/s of the whole pipeline (NATS in, ledger, checkpoints, Redis
   events, result out) against the same graph run bare in this process on
   LangGraph + AsyncPostgresSaver, zero-latency LLM, concurrency 64, alternating
   rounds. Target: pipeline >= 90 % of bare.
2. Concurrency: LLM answers after 2 s, one worker at WORKER_CONCURRENCY=256;
   jobs/s against 256 / (latency of one job alone, measured in the same run) and
   256 / (two LLM calls), the median of several runs (they vary with how the jobs'
   bursts of CPU line up). Target >= 90 %. Also reported: the worker's resident memory
   per in-flight execution (RSS with every slot busy minus RSS idle, per slot) and the
   most PostgreSQL client connections seen during the run (one worker, nothing else
   connected: all of them are the worker's).
3. Memory: worker RSS idle and with every slot in flight; RSS after N and after
   M jobs (default 1,000 and 10,000). Target: no growth (<= 5 %).

Besides each figure it prints the CPU used per process during the run (in cores),
how much of the machine everything else used (the cores are shared), and the
worker's CPU time per job. Part 0 measures the fake LLM's own cost per request
(and that of `testbed/fake_openai.py`); part 2 repeats at a few slots
(`--control-slots`) to tell scheduling limits from CPU limits. `--quick` scales
every count down; `--only PART` runs a subset.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import nats
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from openai import AsyncOpenAI
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parent.parent
SUBJECT = "agent.execute.bench"
USER_TEXT = "Write a report."
ANSWER_TEXT = "All done, the report is in /notes.md."
TOOL_ARGUMENTS = {"file_path": "/notes.md", "content": "fact one\nfact two\nfact three"}
CLK_TCK = os.sysconf("SC_CLK_TCK")
MIB = 1024 * 1024
# The bare baseline's pool: POSTGRES_POOL_MAX's default, which the worker uses too (plus one
# connection for its job locks).
POOL_MAX = 20
OVERHEAD_TARGET = 0.90
CONCURRENCY_TARGET = 0.90
GROWTH_TARGET = 0.05


def model_name(latency: float) -> str:
    """The fake model that answers after `latency` seconds."""
    return f"fake-{round(latency * 1000)}ms"


# --- the fake LLM: raw asyncio HTTP/1.1, SSE answers -------------------------------------------

_LATENCY = re.compile(rb"-(\d+)ms$")
_ANSWERS: dict[tuple[str, bool, bool], bytes] = {}


def _sse_body(model: str, tool: bool, include_usage: bool) -> bytes:
    created = int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
        payload = {
            "id": "chatcmpl-bench",
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return f"data: {json.dumps(payload)}\n\n"

    parts = [chunk({"role": "assistant", "content": ""})]
    if tool:
        arguments = json.dumps(TOOL_ARGUMENTS)
        half = len(arguments) // 2
        parts.append(
            chunk(
                {
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": "call_bench_0",
                            "type": "function",
                            "function": {"name": "write_file", "arguments": ""},
                        }
                    ]
                }
            )
        )
        for fragment in (arguments[:half], arguments[half:]):
            parts.append(chunk({"tool_calls": [{"index": 0, "function": {"arguments": fragment}}]}))
        parts.append(chunk({}, "tool_calls"))
    else:
        third = -(-len(ANSWER_TEXT) // 3)
        for start in range(0, len(ANSWER_TEXT), third):
            parts.append(chunk({"content": ANSWER_TEXT[start : start + third]}))
        parts.append(chunk({}, "stop"))
    if include_usage:
        usage = {"prompt_tokens": 40, "completion_tokens": 12, "total_tokens": 52}
        payload = {
            "id": "chatcmpl-bench",
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [],
            "usage": usage,
        }
        parts.append(f"data: {json.dumps(payload)}\n\n")
    parts.append("data: [DONE]\n\n")
    return "".join(parts).encode()


def _http(status: str, body: bytes, content_type: str) -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


def _answer(head: bytes, body: bytes) -> tuple[bytes, float]:
    """The full HTTP response to one request and how long to wait before sending it."""
    if not head.startswith(b"POST ") or b"/chat/completions " not in head.split(b"\r\n", 1)[0]:
        return _http("404 Not Found", b"{}", "application/json"), 0.0
    request = json.loads(body)
    if not request.get("stream"):
        return _http("400 Bad Request", b'{"error": "stream only"}', "application/json"), 0.0
    model = str(request.get("model", "fake-0ms"))
    tool = request["messages"][-1].get("role") == "user"
    offered = [(t.get("function") or {}).get("name") for t in request.get("tools") or []]
    if tool and "write_file" not in offered:
        # Like a real model (and testbed's strict fake): never call a tool that was not offered.
        return _http(
            "400 Bad Request", b'{"error": "write_file not offered"}', "application/json"
        ), 0.0
    include_usage = bool((request.get("stream_options") or {}).get("include_usage"))
    key = (model, tool, include_usage)
    response = _ANSWERS.get(key)
    if response is None:
        response = _http("200 OK", _sse_body(model, tool, include_usage), "text/event-stream")
        _ANSWERS[key] = response
    match = _LATENCY.search(model.encode())
    return response, int(match.group(1)) / 1000 if match else 0.0


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return 0


class _FakeLLMProtocol(asyncio.Protocol):
    """One keep-alive connection; the client waits for each answer before the next request."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end])
            total = end + 4 + _content_length(head)
            if len(self.buffer) < total:
                return
            body = bytes(self.buffer[end + 4 : total])
            del self.buffer[:total]
            response, delay = _answer(head, body)
            if delay > 0:
                asyncio.get_running_loop().call_later(delay, self._send, response)
            else:
                self._send(response)

    def _send(self, response: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(response)


async def _serve_fake_llm() -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_FakeLLMProtocol, "127.0.0.1", 0, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    print(f"base_url=http://127.0.0.1:{port}/v1", flush=True)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    async with server:
        await stop.wait()


def _serve_test_fake() -> None:
    """testbed/fake_openai.py (FastAPI + uvicorn) in this process, for its capacity."""
    from testbed.fake_openai import fake_openai

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with fake_openai() as fake:
        print(f"base_url={fake.base_url}", flush=True)
        while not stop.wait(0.5):
            pass


@dataclass
class FakeProcess:
    """A fake LLM server in its own process."""

    proc: subprocess.Popen[str]
    base_url: str

    @classmethod
    def start(cls, mode: str) -> FakeProcess:
        proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.worker_bench", mode],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("base_url="):
            proc.kill()
            raise RuntimeError(f"the fake LLM ({mode}) did not start: {line!r}")
        return cls(proc, line.strip().removeprefix("base_url="))

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


# --- processes: CPU time and resident memory ---------------------------------------------------


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw.rsplit(")", 1)[1].split()


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a live process, 0 when it is gone."""
    fields = _stat_fields(pid)
    return (int(fields[11]) + int(fields[12])) / CLK_TCK if fields else 0.0


def children(parent: int) -> list[int]:
    """The direct children of `parent`.

    Read from the kernel's per-thread `children` lists: the connection sampler runs in the
    bench process, beside the bare baseline, and scanning every process in /proc twice a
    second cost that baseline about 7 % of its CPU. The scan is the fallback for kernels
    without those lists.
    """
    lists = list(Path(f"/proc/{parent}/task").glob("*/children"))
    if lists:
        found: list[int] = []
        for path in lists:
            with contextlib.suppress(OSError):
                found += [int(pid) for pid in path.read_text().split()]
        return found
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields and int(fields[1]) == parent:
                found.append(int(entry.name))
    return found


def find_process(*needles: str) -> int | None:
    """A process whose command line contains every needle."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if all(n in cmdline for n in needles):
            return int(entry.name)
    return None


def client_backends(postmaster: int) -> int:
    """PostgreSQL backends serving a TCP client (`postgres: user db 127.0.0.1(port) ...`)."""
    count = 0
    for pid in children(postmaster):
        with contextlib.suppress(OSError):
            if b"127.0.0.1(" in Path(f"/proc/{pid}/cmdline").read_bytes():
                count += 1
    return count


def rss_bytes(pid: int) -> int:
    """VmRSS of a process from /proc/<pid>/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent not idle since boot (all cores)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / CLK_TCK


@dataclass
class CpuProbe:
    """CPU used by named process groups over an interval, and by everything else."""

    groups: dict[str, Callable[[], list[int]]]
    postmaster: int | None = None
    started: dict[str, dict[int, float]] = field(default_factory=dict)
    busy: float = 0.0
    wall: float = 0.0
    used: dict[str, float] = field(default_factory=dict)  # CPU seconds of the last interval
    connections: int = 0  # the most PostgreSQL client backends seen at once
    sampler: asyncio.Task[None] | None = None
    elapsed: float = 0.0  # wall seconds of the last interval

    def _snapshot(self) -> dict[str, dict[int, float]]:
        return {name: {p: cpu_seconds(p) for p in pids()} for name, pids in self.groups.items()}

    def start(self) -> None:
        self.started = self._snapshot()
        self.busy = machine_busy_seconds()
        self.wall = time.perf_counter()
        self.connections = 0
        if self.postmaster is not None:
            self.sampler = asyncio.get_running_loop().create_task(self._sample(self.postmaster))

    async def _sample(self, postmaster: int) -> None:
        while True:
            self.connections = max(self.connections, client_backends(postmaster))
            await asyncio.sleep(0.5)

    def stop(self) -> str:
        """`name cores, ...` over the interval, then the machine and the rest of it."""
        ended = self._snapshot()
        wall = self.elapsed = time.perf_counter() - self.wall
        if self.sampler is not None:
            self.sampler.cancel()
        busy = (machine_busy_seconds() - self.busy) / wall
        parts, ours = [], 0.0
        for name, pids in ended.items():
            before = self.started.get(name, {})
            self.used[name] = sum(max(0.0, t - before.get(p, 0.0)) for p, t in pids.items())
            ours += self.used[name] / wall
            parts.append(f"{name} {self.used[name] / wall:.2f}")
        others = max(0.0, busy - ours)
        connections = (
            f"; postgres connections <= {self.connections}" if self.postmaster is not None else ""
        )
        return (
            f"cpu cores: {', '.join(parts)}; machine {busy:.2f} of {os.cpu_count()}, "
            f"other processes {others:.2f}{connections}"
        )

    def per_job_ms(self, group: str, jobs: int) -> float:
        """CPU milliseconds `group` spent per job over the last interval."""
        return self.used.get(group, 0.0) * 1000 / jobs


# --- jobs, the pipeline driver -----------------------------------------------------------------


def agent_definition(model: str) -> dict[str, Any]:
    """The orchestrator of the worker tests (file tools), on the fake model."""
    from testbed.worker import agent_definition as definition

    return definition(model=model)


def job_event(job_id: str, model: str) -> dict[str, Any]:
    """A structured CloudEvent carrying one job, as the platform publishes it."""
    from testbed.worker import cloudevent

    return cloudevent(
        {
            "job_id": job_id,
            "agent_definition": agent_definition(model),
            "input_payload": {"messages": [{"role": "user", "content": USER_TEXT}]},
            "trace_id": job_id,
        }
    )


@dataclass
class Batch:
    """A finished batch of jobs."""

    jobs: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.jobs / self.seconds


class Pipeline:
    """Publishes jobs to AGENT_EXECUTION and collects their result events."""

    def __init__(self, nats_url: str) -> None:
        self.nats_url = nats_url
        self.nc: NatsClient | None = None
        self.js: JetStreamContext | None = None
        self.published: dict[str, float] = {}
        self.finished: dict[str, float] = {}
        self.failures: list[dict[str, Any]] = []
        self.all_done = asyncio.Event()

    async def open(self) -> None:
        self.nc = await nats.connect(self.nats_url)
        self.js = self.nc.jetstream()
        await self.nc.subscribe("agent.status.*", cb=self._on_result)

    async def close(self) -> None:
        if self.nc is not None:
            await self.nc.close()

    async def _on_result(self, msg: Msg) -> None:
        data = json.loads(msg.data)["data"]
        job_id = data["job_id"]
        if job_id not in self.published or job_id in self.finished:
            return
        self.finished[job_id] = time.perf_counter()
        output = (data.get("result") or {}).get("output")
        if msg.subject != "agent.status.completed" or output != ANSWER_TEXT:
            self.failures.append(data)
        if len(self.finished) == len(self.published):
            self.all_done.set()

    async def run(self, count: int, model: str, prefix: str, limit: float = 0) -> Batch:
        """Publish `count` jobs at once and wait for every result."""
        assert self.js is not None
        js = self.js
        tag = f"{prefix}-{uuid.uuid4().hex[:8]}"
        bodies = [(f"{tag}-{i:06d}", job_event(f"{tag}-{i:06d}", model)) for i in range(count)]
        payloads = [(job_id, json.dumps(body).encode()) for job_id, body in bodies]
        self.published, self.finished, self.failures = {}, {}, []
        self.all_done = asyncio.Event()

        async def publish(job_id: str, payload: bytes) -> None:
            self.published[job_id] = time.perf_counter()
            await js.publish(SUBJECT, payload)

        began = time.perf_counter()
        for start in range(0, count, 256):
            await asyncio.gather(*(publish(j, p) for j, p in payloads[start : start + 256]))
        try:
            await asyncio.wait_for(self.all_done.wait(), limit or max(120.0, count / 5))
        except TimeoutError:
            raise RuntimeError(
                f"{prefix}: {len(self.finished)} of {count} results within the timeout"
            ) from None
        if self.failures:
            raise RuntimeError(f"{prefix}: {len(self.failures)} jobs failed: {self.failures[0]}")
        seconds = max(self.finished.values()) - began
        latencies = [self.finished[j] - t for j, t in self.published.items()]
        return Batch(count, seconds, latencies)


# --- the bare baseline: the same graph on LangGraph + AsyncPostgresSaver, in this process ------


class _NoEvents:
    async def emit(self, event_type: str, data: dict[str, Any]) -> None:
        del event_type, data


class _NoBudget:
    async def before_call(self, run_tokens: int) -> None:
        del run_tokens

    async def record(self, model: str, prompt_tokens: int, completion_tokens: int) -> None:
        del model, prompt_tokens, completion_tokens


class Bare:
    """The agent graph compiled once with AsyncPostgresSaver over an AsyncConnectionPool."""

    def __init__(self, database_url: str, base_url: str, model: str) -> None:
        self.database_url = database_url
        self.base_url = base_url
        self.model = model
        self.graph: Any = None
        self.pool: Any = None
        self.llm: Any = None
        self.context: Any = None

    async def open(self) -> None:
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
        from psycopg.rows import dict_row
        from psycopg_pool import AsyncConnectionPool

        from workers.agent_executor.agent.definition import parse_definition
        from workers.agent_executor.agent.graph import RunContext, build_graph
        from workers.agent_executor.agent.llm import LLMClient

        self.pool = AsyncConnectionPool(
            self.database_url,
            min_size=1,
            max_size=POOL_MAX,
            open=False,
            kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
        )
        await self.pool.open(wait=True, timeout=30)
        saver = AsyncPostgresSaver(self.pool)
        # The library's documented start; a no-op here, where run-migrations.sh ran first.
        await saver.setup()
        self.llm = LLMClient(openai_api_key="sk-bench", openai_base_url=self.base_url)
        self.context = RunContext(
            parse_definition(agent_definition(self.model)), _NoEvents(), _NoBudget()
        )
        self.graph = build_graph(self.llm, allow_tool_scripts=False, script_timeout=30.0).compile(
            checkpointer=saver
        )

    async def close(self) -> None:
        if self.llm is not None:
            await self.llm.aclose()
        if self.pool is not None:
            await self.pool.close()
        self.graph = self.pool = self.llm = None

    async def run(self, count: int, concurrency: int) -> Batch:
        """`count` runs with distinct thread ids, at most `concurrency` at once."""
        from workers.agent_executor.agent.graph import initial_state

        tag = f"bare-{uuid.uuid4().hex[:8]}"
        gate = asyncio.Semaphore(concurrency)
        latencies: list[float] = []

        async def one(index: int) -> None:
            async with gate:
                began = time.perf_counter()
                state = await self.graph.ainvoke(
                    initial_state({"messages": [{"role": "user", "content": USER_TEXT}]}),
                    {"configurable": {"thread_id": f"{tag}-{index:06d}"}},
                    context=self.context,
                )
                latencies.append(time.perf_counter() - began)
                if state.get("output") != ANSWER_TEXT or len(state["messages"]) != 4:
                    raise RuntimeError(f"bare run ended unexpectedly: {state}")

        began = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(count)))
        return Batch(count, time.perf_counter() - began, latencies)


# --- the environment: servers, workers ---------------------------------------------------------


@dataclass
class Env:
    """Running servers and what the workers need to reach them."""

    nats_url: str
    redis_url: str
    database_url: str
    fake: FakeProcess
    log_dir: Path
    probe_groups: dict[str, Callable[[], list[int]]]
    postmaster: int | None

    def worker_env(self, concurrency: int) -> dict[str, str]:
        return {
            "NATS_URL": self.nats_url,
            "REDIS_URL": self.redis_url,
            "DATABASE_URL": self.database_url,
            "OPENAI_BASE_URL": self.fake.base_url,
            "OPENAI_API_KEY": "sk-bench",
            "NATS_CREATE_STREAMS": "true",
            "WORKER_CONCURRENCY": str(concurrency),
            "WORKER_LOG_DIR": str(self.log_dir),
        }

    def probe(self, workers: list[Any]) -> CpuProbe:
        groups = {"bench": lambda: [os.getpid()]}
        if workers:
            groups["worker"] = lambda: [w.proc.pid for w in workers]
        return CpuProbe({**groups, **self.probe_groups}, self.postmaster)


@contextlib.contextmanager
def environment(log_dir: Path) -> Iterator[Env]:
    """NATS, Redis and PostgreSQL (migrated) from local binaries, and the raw fake LLM."""
    from testbed.database import migrate
    from testbed.servers import nats_server, postgres_server, redis_server

    with nats_server() as nats_srv, redis_server() as redis_url, postgres_server() as pg:
        migrate(pg.url)
        fake = FakeProcess.start("--serve-fake-llm")
        try:
            postmaster = (
                int((pg.data / "postmaster.pid").read_text().split()[0]) if pg.data else None
            )
            redis_pid = find_process("redis-server", f":{urlsplit(redis_url).port}")
            nats_pid = nats_srv.proc.pid if nats_srv.proc else None
            groups: dict[str, Callable[[], list[int]]] = {"fake-llm": lambda: [fake.proc.pid]}
            if postmaster:
                groups["postgres"] = lambda: [postmaster, *children(postmaster)]
            if nats_pid:
                groups["nats"] = lambda: [nats_pid]
            if redis_pid:
                groups["redis"] = lambda: [redis_pid]
            yield Env(nats_srv.url, redis_url, pg.url, fake, log_dir, groups, postmaster)
        finally:
            fake.stop()


class Workers:
    """Worker processes started through the test harness, stopped on exit."""

    def __init__(self, env: Env) -> None:
        self.env = env
        self.started: list[Any] = []

    async def start(self, concurrency: int, count: int = 1) -> list[Any]:
        from testbed.worker import Worker

        workers = [Worker(self.env.worker_env(concurrency)) for _ in range(count)]
        for worker in workers:
            self.started.append(worker)
            await asyncio.to_thread(worker.start)
        return workers

    def stop(self, workers: list[Any]) -> None:
        for worker in workers:
            with contextlib.suppress(Exception):
                worker.terminate(timeout=30)
            worker.stop()

    def stop_all(self) -> None:
        self.stop(self.started)


# --- 0. the fake LLM's own capacity ------------------------------------------------------------


async def fake_capacity(base_url: str, requests: int, concurrency: int) -> float:
    """Requests/s that `concurrency` streaming SDK clients in this process get from a fake."""
    client = AsyncOpenAI(base_url=base_url, api_key="sk-bench", max_retries=0)
    messages: Any = [
        {"role": "user", "content": USER_TEXT},
        {"role": "assistant", "content": None, "tool_calls": []},
        {"role": "tool", "tool_call_id": "call_bench_0", "content": "Updated file /notes.md"},
    ]
    gate = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with gate:
            stream = await client.chat.completions.create(
                model="fake-0ms",
                messages=messages,
                stream=True,
                stream_options={"include_usage": True},
            )
            async with stream:
                async for _ in stream:
                    pass

    try:
        await asyncio.gather(*(one() for _ in range(concurrency)))  # warm-up, connections
        began = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(requests)))
        return requests / (time.perf_counter() - began)
    finally:
        await client.close()


async def measure_fake_capacity(env: Env, requests: int) -> None:
    print("== 0. fake LLM capacity (streaming SDK clients at concurrency 64 in this process)")
    test_fake = FakeProcess.start("--serve-test-fake")
    try:
        for label, fake in (("tests/support/fake_openai", test_fake), ("raw asyncio", env.fake)):
            before = cpu_seconds(fake.proc.pid)
            client_before = cpu_seconds(os.getpid())
            began = time.perf_counter()
            rate = await fake_capacity(fake.base_url, requests, 64)
            wall = time.perf_counter() - began
            server_cpu = (cpu_seconds(fake.proc.pid) - before) / (requests + 64)
            client_cpu = (cpu_seconds(os.getpid()) - client_before) / (requests + 64)
            print(
                f"  {label:<26} {rate:7.0f} req/s  server {server_cpu * 1000:5.2f} ms CPU/req "
                f"(one core: {1 / max(server_cpu, 1e-6):6.0f} req/s)  client "
                f"{client_cpu * 1000:5.2f} ms CPU/req  [{wall:.1f} s]"
            )
    finally:
        test_fake.stop()
    print()


# --- 1. pipeline overhead ----------------------------------------------------------------------


@dataclass
class OverheadResult:
    bare: list[float]
    pipeline: list[float]
    bare_cpu_ms: list[float] = field(default_factory=list)
    worker_cpu_ms: list[float] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return statistics.median(self.pipeline) / statistics.median(self.bare)

    @property
    def cpu_ratio(self) -> float:
        """Bare CPU per job over the worker's: the throughput ratio when each has a core."""
        return statistics.median(self.bare_cpu_ms) / statistics.median(self.worker_cpu_ms)


async def measure_overhead(
    env: Env, workers: Workers, jobs: int, concurrency: int, rounds: int, processes: int
) -> OverheadResult:
    model = model_name(0)
    per_worker = max(1, concurrency // processes)
    print(
        f"== 1. overhead: {jobs} jobs (2 LLM calls + 1 tool call), zero-latency LLM, "
        f"concurrency {concurrency}; pipeline = {processes} worker process(es) at "
        f"WORKER_CONCURRENCY={per_worker}; {rounds} alternating rounds"
    )
    started = await workers.start(per_worker, processes)
    pipeline = Pipeline(env.nats_url)
    await pipeline.open()
    bare = Bare(env.database_url, env.fake.base_url, model)
    result = OverheadResult([], [])
    try:
        await pipeline.run(2 * concurrency, model, "warm")
        for index in range(rounds):
            for label in ("bare", "pipeline"):
                if label == "bare":
                    # A fresh pool per round, closed before the pipeline's turn, so that its
                    # idle connections never count against the worker's.
                    await bare.open()
                    await bare.run(2 * concurrency, concurrency)
                probe = env.probe(started if label == "pipeline" else [])
                probe.start()
                if label == "bare":
                    batch = await bare.run(jobs, concurrency)
                    result.bare.append(batch.rate)
                else:
                    batch = await pipeline.run(jobs, model, f"ovh{index}")
                    result.pipeline.append(batch.rate)
                cpu = probe.stop()
                where = "the bench process" if label == "bare" else "the worker"
                runner = probe.per_job_ms("bench" if label == "bare" else "worker", jobs)
                (result.bare_cpu_ms if label == "bare" else result.worker_cpu_ms).append(runner)
                print(
                    f"  round {index + 1} {label:<8} {batch.rate:7.1f} jobs/s  "
                    f"{runner:5.1f} ms CPU/job in {where}"
                )
                print(f"    {cpu}")
                if label == "bare":
                    await bare.close()
    finally:
        await bare.close()
        await pipeline.close()
        workers.stop(started)
    verdict = "met" if result.ratio >= OVERHEAD_TARGET else "MISSED"
    print(
        f"  median bare {statistics.median(result.bare):.1f} jobs/s, pipeline "
        f"{statistics.median(result.pipeline):.1f} jobs/s -> pipeline / bare = "
        f"{result.ratio:.2f} (target >= {OVERHEAD_TARGET:.2f}: {verdict})"
    )
    print(
        f"  median CPU per job: bare {statistics.median(result.bare_cpu_ms):.1f} ms, worker "
        f"{statistics.median(result.worker_cpu_ms):.1f} ms -> {result.cpu_ratio:.2f} "
        "(the throughput ratio if each had a core of its own)"
    )
    print()
    return result


# --- 2. concurrency with a slow LLM ------------------------------------------------------------


@dataclass
class ConcurrencyResult:
    single: float
    rate: float
    slots: int
    latency: float  # of one LLM call; a job makes two
    rss_idle: int = 0
    rss_loaded: int = 0  # the most seen with every slot busy
    connections: int = 0  # the most PostgreSQL client connections seen

    @property
    def ratio(self) -> float:
        return self.rate / (self.slots / self.single)

    @property
    def theoretical_ratio(self) -> float:
        return self.rate / (self.slots / (2 * self.latency))

    @property
    def per_execution(self) -> float:
        """Resident bytes per in-flight execution."""
        return (self.rss_loaded - self.rss_idle) / self.slots


def scrape(text: str, name: str) -> float:
    """The sum of every sample of `name` (labels ignored) in a Prometheus text exposition."""
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                total += sample.value
    return total


class Occupancy:
    """Busy slots sampled from the worker's /metrics, its mean job time and mean LLM call
    time, over a run.

    Splits a shortfall against slots / job-latency: slots left idle (fetching), or jobs that take
    longer in the worker than alone, in their LLM calls or in the rest of the job.
    """

    def __init__(self, url: str, pid: int, slots: int) -> None:
        self.url = url
        self.pid = pid
        self.slots = slots
        self.client = httpx.AsyncClient(timeout=5)
        self.samples: list[float] = []
        self.task: asyncio.Task[None] | None = None
        self.before: dict[str, float] = {}
        self.rss_loaded = 0  # the most RSS seen while every slot was busy

    async def _totals(self) -> dict[str, float]:
        text = (await self.client.get(f"{self.url}/metrics")).text
        names = (
            "agent_executor_job_duration_seconds",
            "agent_executor_llm_request_duration_seconds",
        )
        return {
            f"{name}_{part}": scrape(text, f"{name}_{part}")
            for name in names
            for part in ("sum", "count")
        }

    async def _sample(self) -> None:
        while True:
            text = (await self.client.get(f"{self.url}/metrics")).text
            busy = scrape(text, "agent_executor_jobs_in_flight")
            self.samples.append(busy)
            if busy >= self.slots:
                with contextlib.suppress(OSError, RuntimeError):
                    self.rss_loaded = max(self.rss_loaded, rss_bytes(self.pid))
            await asyncio.sleep(0.25)  # a scrape costs the worker CPU: sample sparingly

    async def start(self) -> None:
        self.before = await self._totals()
        self.task = asyncio.get_running_loop().create_task(self._sample())

    async def stop(self, slots: int) -> str:
        """`slots busy ..., mean job time ..., mean LLM call ...` over the run."""
        if self.task is not None:
            self.task.cancel()
        after = await self._totals()
        await self.client.aclose()

        def mean_ms(name: str) -> float:
            count = after[f"{name}_count"] - self.before[f"{name}_count"]
            total = after[f"{name}_sum"] - self.before[f"{name}_sum"]
            return total / count * 1000 if count else 0.0

        busy = statistics.mean(self.samples) if self.samples else 0.0
        return (
            f"slots busy {busy:.1f} of {slots} on average; in the worker a job took "
            f"{mean_ms('agent_executor_job_duration_seconds'):.0f} ms, an LLM call "
            f"{mean_ms('agent_executor_llm_request_duration_seconds'):.0f} ms"
        )


@dataclass
class SlowRun:
    """One batch of the concurrency run, with what the worker used meanwhile."""

    batch: Batch
    probe: CpuProbe
    report: str
    rss_loaded: int = 0


@dataclass
class SlowBatches:
    """The concurrency run: one job alone several times, then the batches."""

    alone: list[float]
    runs: list[SlowRun]
    rss_idle: int = 0


async def _slow_batches(
    env: Env, workers: Workers, slots: int, jobs: int, model: str, singles: int, repeats: int
) -> SlowBatches:
    """One worker at `slots`: warm-up, `singles` jobs one at a time, then `repeats` times
    `jobs` at once."""
    started = await workers.start(slots)
    pid = started[0].proc.pid
    pipeline = Pipeline(env.nats_url)
    await pipeline.open()
    result = SlowBatches([], [])
    try:
        await pipeline.run(slots, model, "warm")
        result.alone = [(await pipeline.run(1, model, "single")).seconds for _ in range(singles)]
        result.rss_idle = await settled_rss(pid)
        for _ in range(repeats):
            probe = env.probe(started)
            occupancy = Occupancy(started[0].url, pid, slots)
            await occupancy.start()
            probe.start()
            batch = await pipeline.run(jobs, model, "conc")
            report = f"{probe.stop()}\n    {await occupancy.stop(slots)}"
            result.runs.append(SlowRun(batch, probe, report, occupancy.rss_loaded))
    finally:
        await pipeline.close()
        workers.stop(started)
    return result


async def measure_concurrency(
    env: Env,
    workers: Workers,
    jobs: int,
    latency: float,
    slots: int,
    control: int,
    repeats: int,
) -> ConcurrencyResult:
    model = model_name(latency)
    print(
        f"== 2. concurrency: LLM answers after {latency * 1000:.0f} ms, one worker at "
        f"WORKER_CONCURRENCY={slots}, {repeats} x {jobs} jobs"
    )
    batches = await _slow_batches(env, workers, slots, jobs, model, 5, repeats)
    singles, runs = batches.alone, batches.runs
    single = statistics.median(singles)
    print(
        f"  one job alone: median {single * 1000:.0f} ms "
        f"(min {min(singles) * 1000:.0f}, max {max(singles) * 1000:.0f}; "
        f"two LLM calls = {2 * latency * 1000:.0f} ms)"
    )
    for index, run in enumerate(runs, 1):
        lat = sorted(run.batch.latencies)
        cpu_ms = run.probe.per_job_ms("worker", jobs)
        ratio = run.batch.rate / (slots / single)
        print(
            f"  run {index}: {run.batch.rate:.1f} jobs/s in {run.batch.seconds:.1f} s -> "
            f"{ratio:.2f} (queueing included: p50 {statistics.median(lat):.2f} s); worker "
            f"{cpu_ms:.1f} ms CPU/job, so one core caps it at {1000 / cpu_ms:.1f} jobs/s"
        )
        print(f"    {run.report}")
    # Jobs that start together stay in step (every LLM call takes the same time), so how
    # their bursts of CPU line up varies from run to run: the median is the figure.
    rates = sorted(run.batch.rate for run in runs)
    result = ConcurrencyResult(
        single,
        statistics.median(rates),
        slots,
        latency,
        rss_idle=batches.rss_idle,
        rss_loaded=max(run.rss_loaded for run in runs),
        connections=max(run.probe.connections for run in runs),
    )
    verdict = "met" if result.ratio >= CONCURRENCY_TARGET else "MISSED"
    spread = f"runs {rates[0] / (slots / single):.2f}..{rates[-1] / (slots / single):.2f}"
    print(
        f"  ideal {slots} / {single:.3f} s = {slots / single:.1f} jobs/s -> median "
        f"{result.ratio:.2f}, {spread} (target >= {CONCURRENCY_TARGET:.2f}: {verdict})"
    )
    print(
        f"  theoretical {slots} / {2 * latency:g} s (two LLM calls) = "
        f"{slots / (2 * latency):.1f} jobs/s -> {result.theoretical_ratio:.2f}"
    )
    if result.rss_loaded:
        print(
            f"  RSS idle {result.rss_idle / MIB:.1f} MiB, with {slots} in flight "
            f"{result.rss_loaded / MIB:.1f} MiB -> {result.per_execution / 1024:.0f} KiB per "
            "in-flight execution"
        )
    else:
        print(f"  RSS: never saw all {slots} slots busy")
    print(
        f"  PostgreSQL client connections during the run: at most {result.connections} "
        "(one worker, nothing else connected)"
    )
    if control:
        # The same at few slots, where one core is enough: separates scheduling from CPU.
        small_batches = await _slow_batches(env, workers, control, control * 3, model, 0, 1)
        (small,) = small_batches.runs
        print(
            f"  control at WORKER_CONCURRENCY={control}: {small.batch.rate:.1f} jobs/s -> "
            f"{small.batch.rate / (control / single):.2f} of {control} / {single:.3f} s "
            f"(worker {small.probe.per_job_ms('worker', control * 3):.1f} ms CPU/job)"
        )
    print()
    return result


# --- 3. memory ---------------------------------------------------------------------------------


async def in_flight(client: httpx.AsyncClient, url: str) -> int:
    text = (await client.get(f"{url}/metrics")).text
    for line in text.splitlines():
        if line.startswith("agent_executor_jobs_in_flight "):
            return int(float(line.split()[1]))
    return 0


async def settled_rss(pid: int, seconds: float = 2.0) -> int:
    """RSS after the worker has been idle for `seconds` (median of a few samples)."""
    samples = []
    for _ in range(5):
        await asyncio.sleep(seconds / 5)
        samples.append(rss_bytes(pid))
    return int(statistics.median(samples))


@dataclass
class MemoryResult:
    fresh: int
    idle: int
    loaded: int
    slots: int
    series: list[tuple[int, int]]

    @property
    def per_execution(self) -> float:
        return (self.loaded - self.idle) / self.slots

    @property
    def growth(self) -> float:
        first, last = self.series[0][1], self.series[-1][1]
        return (last - first) / first


async def measure_memory(
    env: Env, workers: Workers, slots: int, first: int, total: int, slow: float
) -> MemoryResult:
    print(
        f"== 3. memory: one worker at WORKER_CONCURRENCY={slots}; RSS idle, with {slots} in "
        f"flight (LLM {slow * 1000:.0f} ms), after {first} and {total} jobs (zero-latency LLM)"
    )
    (worker,) = await workers.start(slots)
    pid = worker.proc.pid
    pipeline = Pipeline(env.nats_url)
    await pipeline.open()
    done = 0
    try:
        fresh = await settled_rss(pid)
        warm = 2 * slots
        await pipeline.run(warm, model_name(0), "warm")
        done += warm
        idle = await settled_rss(pid)
        peak = 0
        async with httpx.AsyncClient() as client:
            loaded = asyncio.create_task(pipeline.run(slots, model_name(slow), "inflight"))
            while not loaded.done():
                if await in_flight(client, worker.url) == slots:
                    peak = max(peak, rss_bytes(pid))
                await asyncio.sleep(0.05)
            await loaded
        done += slots
        if not peak:
            raise RuntimeError(f"never saw {slots} jobs in flight")
        print(
            f"  RSS fresh {fresh / MIB:.1f} MiB, idle after {warm} jobs {idle / MIB:.1f} MiB, "
            f"{slots} in flight {peak / MIB:.1f} MiB -> "
            f"{(peak - idle) / slots / 1024:.0f} KiB per in-flight execution"
        )
        series: list[tuple[int, int]] = []
        step = max(1, first)
        probe = env.probe([worker])
        probe.start()
        began = time.perf_counter()
        while done < total:
            count = (first - done) if done < first else min(step, total - done)
            batch = await pipeline.run(count, model_name(0), "mem")
            done += count
            series.append((done, await settled_rss(pid)))
            print(
                f"  after {done:6d} jobs: RSS {series[-1][1] / MIB:6.1f} MiB  "
                f"(last batch {batch.rate:.0f} jobs/s)"
            )
        print(f"    {probe.stop()} [{time.perf_counter() - began:.0f} s, settling included]")
    finally:
        await pipeline.close()
        workers.stop([worker])
    result = MemoryResult(fresh, idle, peak, slots, series)
    verdict = "met" if abs(result.growth) <= GROWTH_TARGET else "MISSED"
    print(
        f"  growth {series[0][0]} -> {series[-1][0]} jobs: {result.growth * 100:+.1f} % "
        f"(target <= {GROWTH_TARGET * 100:.0f} %: {verdict})"
    )
    print()
    return result


# --- main --------------------------------------------------------------------------------------


def report_worker_logs(log_dir: Path) -> None:
    """Warnings and errors the workers logged, by message (a clean run has none)."""
    for log in sorted(log_dir.glob("worker-*.log")):
        counts: dict[str, int] = {}
        for line in log.read_text(errors="replace").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                record = {"level": "raw", "msg": line[:120]}
            if not isinstance(record, dict) or record.get("level") in ("info", "debug"):
                continue
            key = f"{record.get('level')}: {record.get('msg')} {record.get('error', '')}"[:200]
            counts[key] = counts.get(key, 0) + 1
        for key, count in sorted(counts.items(), key=lambda kv: -kv[1])[:5]:
            print(f"  {log.name}: {count} x {key}")


async def run(args: argparse.Namespace) -> int:
    only = set(args.only or ["capacity", "overhead", "concurrency", "memory"])
    print(
        f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start; "
        f"Python {sys.version.split()[0]}"
    )
    print()
    with tempfile.TemporaryDirectory(prefix="worker-bench-") as tmp, environment(Path(tmp)) as env:
        workers = Workers(env)
        try:
            summary: list[str] = []
            if "capacity" in only:
                await measure_fake_capacity(env, args.capacity_requests)
            if "overhead" in only:
                overhead = await measure_overhead(
                    env, workers, args.jobs, args.concurrency, args.rounds, args.workers
                )
                summary.append(
                    f"1. overhead: pipeline / bare = {overhead.ratio:.2f} "
                    f"(target >= {OVERHEAD_TARGET:.2f}): "
                    + ("met" if overhead.ratio >= OVERHEAD_TARGET else "MISSED")
                    + f"; by CPU per job {overhead.cpu_ratio:.2f}"
                )
            if "concurrency" in only:
                conc = await measure_concurrency(
                    env,
                    workers,
                    args.slow_jobs,
                    args.latency,
                    args.slots,
                    args.control_slots,
                    args.repeats,
                )
                rss = (
                    f"{conc.per_execution / 1024:.0f} KiB RSS per in-flight execution"
                    if conc.rss_loaded
                    else "RSS per execution not seen"
                )
                summary.append(
                    f"2. concurrency: {conc.ratio:.2f} of {conc.slots} / single-job latency "
                    f"(target >= {CONCURRENCY_TARGET:.2f}): "
                    + ("met" if conc.ratio >= CONCURRENCY_TARGET else "MISSED")
                    + f"; {conc.theoretical_ratio:.2f} of {conc.slots} / two LLM calls; "
                    f"{rss}; <= {conc.connections} PostgreSQL connections"
                )
            if "memory" in only:
                memory = await measure_memory(
                    env, workers, args.slots, args.memory_first, args.memory_total, 2.0
                )
                summary.append(
                    f"3. memory: {memory.per_execution / 1024:.0f} KiB per in-flight execution; "
                    f"RSS {memory.series[0][0]} -> {memory.series[-1][0]} jobs "
                    f"{memory.growth * 100:+.1f} % (target <= {GROWTH_TARGET * 100:.0f} %): "
                    + ("met" if abs(memory.growth) <= GROWTH_TARGET else "MISSED")
                )
            print("== summary")
            for line in summary:
                print(f"  {line}")
        finally:
            workers.stop_all()
            report_worker_logs(Path(tmp))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--jobs", type=int, help="jobs per overhead round (1000; quick 300)")
    parser.add_argument("--rounds", type=int, help="alternating overhead rounds (3; quick 1)")
    parser.add_argument("--concurrency", type=int, default=64, help="overhead concurrency")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (overhead)")
    parser.add_argument("--slots", type=int, default=256, help="WORKER_CONCURRENCY (2 and 3)")
    parser.add_argument(
        "--control-slots", type=int, help="second concurrency run, 3 jobs a slot (8; 0: none)"
    )
    parser.add_argument("--latency", type=float, default=2.0, help="slow LLM latency, seconds")
    parser.add_argument(
        "--slow-jobs", type=int, help="jobs of the concurrency run (4 x slots; 2 x slots)"
    )
    parser.add_argument("--repeats", type=int, help="concurrency runs, median reported (3; 1)")
    parser.add_argument("--memory-first", type=int, help="first RSS point, jobs (1000; 500)")
    parser.add_argument("--memory-total", type=int, help="last RSS point, jobs (10000; 5000)")
    parser.add_argument("--capacity-requests", type=int, help="fake LLM capacity (1000; 300)")
    parser.add_argument(
        "--quick", action="store_true", help="scaled-down defaults (the second figure of each)"
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=["capacity", "overhead", "concurrency", "memory"],
        help="run only this part (repeatable)",
    )
    parser.add_argument("--serve-fake-llm", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve-test-fake", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_fake_llm:
        asyncio.run(_serve_fake_llm())
        return 0
    if args.serve_test_fake:
        _serve_test_fake()
        return 0
    scale = {
        "jobs": (1000, 300),
        "rounds": (3, 1),
        "slow_jobs": (4 * args.slots, 2 * args.slots),
        "repeats": (3, 1),
        "control_slots": (8, 0),
        "memory_first": (1000, 500),
        "memory_total": (10000, 5000),
        "capacity_requests": (1000, 300),
    }
    for name, (full, quick) in scale.items():
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
