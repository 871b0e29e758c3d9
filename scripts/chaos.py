"""Chaos run for the agent executor worker (`make chaos N=1000`).

    python scripts/chaos.py --jobs N [--workers 3] [--seed S] [--kill-every SECONDS] [--fresh-start]

Starts NATS (JetStream, in a temp dir this run owns, so that it can restart it), PostgreSQL
(migrated once with `scripts/ci/run-migrations.sh`) and Redis from `testbed/servers.py`,
an OpenAI-compatible fake (`testbed/fake_openai.py`) that answers each job from that
job's own script after 50-300 ms, and `--workers` worker processes (`python -m
workers.agent_executor` with `NATS_CREATE_STREAMS=true`, `NATS_ACK_WAIT_SECONDS=5`,
`HEARTBEAT_SECONDS=1`, `NATS_MAX_DELIVER=20`). It publishes N structured CloudEvents with unique
job ids to `agent.execute.chaos`. While they run it SIGKILLs a random live worker at random
moments (mean interval `--kill-every`, seeded RNG) and starts a replacement at once, and
restarts the NATS server once, when half of the results are in. For a share of the jobs
(`--llm-error-rate`) the fake answers one LLM step with HTTP 500 the first time it is asked,
so transient-fault redeliveries mix with the kills. When the work queue is empty (every job
acked) or the deadline passes, it reads the whole AGENT_STATUS stream, the AGENT_DLQ stream and
the ledger (`agent_jobs`) and prints a report.

With `--fresh-start` the run begins the way a new Deployment does on a new database: one
`run-migrations.sh` per worker, all started at the same instant (the pods' init containers),
then every worker at the same instant, each waiting for `/ready` (at most 120 s); by default
the database is migrated once and the first worker starts before the others.

Jobs, kind chosen per job by the seeded RNG: `text` (1 LLM call: the answer), `tool` (2: a
`write_file` call, then the answer) and `task` (3: a `task` call, the specialist's answer, the
orchestrator's answer). The job id is in the first user message of every request, orchestrator
and specialist alike, and the fake picks the reply from the request itself: the agent (by its
system prompt) and the step (how many assistant messages the request already holds). So a
repeated request gets the same reply, and concurrency cannot mix jobs up. Each worker process
gets its own `OPENAI_BASE_URL` path (`/w/<tag>/v1`, a new tag per start), so the fake knows
which process made each request.

Counts:

- published: jobs published. completed / failed: jobs whose first result event in
  AGENT_STATUS is `agent.status.completed` / `agent.status.failed`. lost: jobs with no result
  event. duplicated: jobs with more than one result event in AGENT_STATUS (JetStream drops a
  republish with the same `Nats-Msg-Id` only within the stream's duplicate window, 120 s).
- wrong results: completed jobs whose output (or written file) is not what their script makes.

The repeated-LLM-call rule, exactly:

- A request counts as an LLM call when the fake received its body and answered it from the
  script. Requests answered with an injected HTTP 500 are counted apart: nothing of them is
  checkpointed, and their retry is the same step, not a repeat.
- needed = the calls a clean run makes = the sum of the script lengths (1, 2 or 3 per job).
- repeated(job) = for each step (agent, index) of the job's script, its calls beyond the first,
  plus every call for a step the script does not have. When every job ran every step,
  sum(repeated) = LLM calls answered - needed.
- A SIGKILL *hits* a job when the killed process made at least one LLM request for that job
  (the job was running there) and the job had not finished at the moment of the kill (the
  ledger's `finished_at` is later than the kill, or empty; both clocks are this host's).
  A kill can cost a job at most the one step it had in flight on the killed process, so
  allowance(job) = hits(job): one repeated call per kill that hit it.
- beyond(job) = max(0, repeated(job) - allowance(job)); "repeated beyond allowance" is the sum
  over the jobs. The NATS restart and the injected errors grant no allowance.

Exit status 0 only when lost == 0, duplicated == 0, repeated beyond allowance == 0 and no
completed job has a wrong result (a "completed" event with the wrong output is a lost job in
disguise). Failed jobs, dead letters and ledger disagreements are reported too; with these
scripts none should occur. Each kind of problem is counted and a few cases are shown, with the
job's calls in order (`agent#step@worker`) for repeated calls. `run_chaos(...)` returns the
`Report`; worker logs are kept when the run fails (or under `--log-dir`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import random
import re
import shutil
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import nats  # noqa: E402
import psycopg  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from nats.js import JetStreamContext  # noqa: E402
from starlette.requests import ClientDisconnect  # noqa: E402
from starlette.types import ASGIApp, Receive, Scope, Send  # noqa: E402

from testbed.database import (  # noqa: E402
    at_once,
    fresh_database,
    migrate,
    migrate_concurrently,
)
from testbed.fake_openai import (  # noqa: E402
    DEFAULT_TEXT,
    FakeOpenAI,
    Reply,
    ToolCall,
    fake_openai,
    text,
    tool_calls,
)
from testbed.servers import (  # noqa: E402
    NatsServer,
    local_nats_server,
    postgres_server,
    redis_server,
)
from testbed.worker import Worker, agent_definition, cloudevent, results  # noqa: E402

SUBJECT = "agent.execute.chaos"
EXECUTION_STREAM = "AGENT_EXECUTION"
ACK_WAIT_SECONDS = 5
MAX_DELIVER = 20
ORCHESTRATOR_PROMPT = "You are the chaos orchestrator."
SPECIALIST_PROMPT = "You are the chaos researcher."
KINDS = ("text", "tool", "task")
KIND_WEIGHTS = (0.2, 0.5, 0.3)
LATENCY_SECONDS = (0.05, 0.3)
JOB_ID = re.compile(r"chaos-[0-9a-f]{8}-\d{5}")
WORKER_PATH = re.compile(r"^/w/([A-Za-z0-9_-]+)(/.*)$")
WORKER_HEADER = "x-chaos-worker"
PROBLEMS_SHOWN = 5  # examples per kind of problem
MILESTONES = (0.5, 0.9, 0.99, 1.0)  # shares of the result events, timed in the report

Step = tuple[str, int]  # (agent, index of the call within that agent's conversation)


# --- the jobs and their scripts ---------------------------------------------------------------


@dataclass(frozen=True)
class JobPlan:
    """One job: its kind and the reply the fake gives for each of its LLM steps."""

    job_id: str
    kind: str
    replies: dict[Step, Reply]
    fail_first: Step | None = None  # the first request for this step gets an HTTP 500

    def body(self) -> dict[str, Any]:
        """The JobExecutionEvent."""
        return {
            "job_id": self.job_id,
            "agent_definition": agent_definition(
                specialist=self.kind == "task",
                model="gpt-chaos",
                tools=("write_file",),
                orchestrator_prompt=ORCHESTRATOR_PROMPT,
                specialist_prompt=SPECIALIST_PROMPT,
            ),
            "input_payload": {
                "messages": [
                    {"role": "user", "content": f"Chaos job {self.job_id}: write the report."}
                ]
            },
            "trace_id": f"trace-{self.job_id}",
        }

    def expected_output(self) -> str:
        return f"final answer for {self.job_id}"

    def report_path(self) -> str:
        return f"/reports/{self.job_id}.md"


def plan_jobs(count: int, rng: random.Random, run: str, error_rate: float = 0.0) -> list[JobPlan]:
    """`count` jobs with unique ids (`chaos-<run>-<index>`); seeded kinds, latencies, errors."""
    plans = []
    for index in range(count):
        job_id = f"chaos-{run}-{index:05d}"
        kind = rng.choices(KINDS, KIND_WEIGHTS)[0]

        def latency() -> float:
            return round(rng.uniform(*LATENCY_SECONDS), 3)

        final = text(f"final answer for {job_id}", latency=latency())
        replies: dict[Step, Reply] = {}
        if kind == "text":
            replies[("orchestrator", 0)] = final
        elif kind == "tool":
            write = ToolCall(
                "write_file", {"file_path": f"/reports/{job_id}.md", "content": job_id}
            )
            replies[("orchestrator", 0)] = tool_calls(write, latency=latency())
            replies[("orchestrator", 1)] = final
        else:
            delegate = ToolCall(
                "task",
                {"subagent_type": "researcher", "description": f"Research chaos job {job_id}."},
            )
            replies[("orchestrator", 0)] = tool_calls(delegate, latency=latency())
            replies[("researcher", 0)] = text(f"facts for {job_id}", latency=latency())
            replies[("orchestrator", 1)] = final
        fail_first = rng.choice(sorted(replies)) if rng.random() < error_rate else None
        plans.append(JobPlan(job_id, kind, replies, fail_first))
    return plans


# --- the fake LLM, keyed by job ---------------------------------------------------------------


@dataclass(frozen=True)
class LLMCall:
    """One request the fake received."""

    job_id: str | None
    step: Step
    worker: str
    at: float
    answered: bool  # False: an injected HTTP error
    scripted: bool  # the job's script has this step


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def request_step(messages: Sequence[dict[str, Any]]) -> tuple[str | None, Step]:
    """The job a request belongs to and its step: (agent by system prompt, assistant turns)."""
    job_id = None
    for message in messages:
        if message.get("role") == "user":
            found = JOB_ID.search(_content_text(message.get("content")))
            if found:
                job_id = found.group(0)
                break
    system = next((m for m in messages if m.get("role") == "system"), None)
    agent = "?"
    if system is not None:
        # The worker appends notes on the built-in tools: the definition's prompt comes first.
        prompt = _content_text(system.get("content"))
        agent = (
            "researcher"
            if prompt.startswith(SPECIALIST_PROMPT)
            else "orchestrator"
            if prompt.startswith(ORCHESTRATOR_PROMPT)
            else "?"
        )
    turns = sum(1 for m in messages if m.get("role") == "assistant")
    return job_id, (agent, turns)


class _WorkerTag:
    """ASGI middleware: `/w/<tag>/v1/...` is served as `/v1/...` with the tag in a header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            found = WORKER_PATH.match(scope["path"])
            if found:
                path = found.group(2)
                scope = {
                    **scope,
                    "path": path,
                    "raw_path": path.encode(),
                    "headers": [
                        *scope["headers"],
                        (WORKER_HEADER.encode(), found.group(1).encode()),
                    ],
                }
        with contextlib.suppress(ClientDisconnect):  # a SIGKILLed worker's half-sent request
            await self.app(scope, receive, send)


class ChaosFake(FakeOpenAI):
    """The fake LLM answering each request from its job's script, recording every call."""

    def __init__(self, plans: Sequence[JobPlan]) -> None:
        self.plans = {plan.job_id: plan for plan in plans}
        self._calls_lock = threading.Lock()
        self._calls: list[LLMCall] = []
        self._failed: set[tuple[str, Step]] = set()
        super().__init__()

    def _build_app(self) -> FastAPI:
        app = super()._build_app()
        app.add_middleware(_WorkerTag)
        return app

    def _next_reply(self, body: dict[str, Any], headers: dict[str, str]) -> tuple[Reply, str]:
        # The base class records the request and applies `fail_next`; the script is ours.
        # Requests of one job never run at once (one graph step at a time), so the check
        # of `_failed` below cannot race with itself for the same job.
        reply, request_id = super()._next_reply(body, headers)
        job_id, step = request_step(body.get("messages") or [])
        plan = self.plans.get(job_id) if job_id else None
        scripted = plan.replies.get(step) if plan else None
        if (
            reply.status is None
            and plan is not None
            and plan.fail_first == step
            and (plan.job_id, step) not in self._failed
        ):
            with self._calls_lock:
                self._failed.add((plan.job_id, step))
            reply = Reply(status=500)
        answered = reply.status is None
        if answered:
            reply = scripted or Reply(text=DEFAULT_TEXT)
        call = LLMCall(
            job_id=job_id,
            step=step,
            worker=headers.get(WORKER_HEADER, "?"),
            at=time.time(),
            answered=answered,
            scripted=scripted is not None,
        )
        with self._calls_lock:
            self._calls.append(call)
        return reply, request_id

    @property
    def calls(self) -> list[LLMCall]:
        with self._calls_lock:
            return list(self._calls)

    def worker_url(self, tag: str) -> str:
        """The OPENAI_BASE_URL for the worker process tagged `tag`."""
        root = self.base_url.removesuffix("/v1")
        return f"{root}/w/{tag}/v1"


# --- the servers and the workers --------------------------------------------------------------


@dataclass(frozen=True)
class Kill:
    """A SIGKILL: which worker process (tag) and when (epoch seconds)."""

    worker: str
    at: float


class Workers:
    """`count` worker slots; each start is a new process with a new tag."""

    def __init__(self, count: int, env: dict[str, str], fake: ChaosFake) -> None:
        self.env = env
        self.fake = fake
        self.slots: list[Worker | None] = [None] * count
        self.tags: list[str] = [""] * count
        self.generations = [0] * count
        self.starts = 0
        self._lock = threading.Lock()

    def start(self, slot: int) -> None:
        """Start a process in `slot` and wait until it is ready (blocking)."""
        with self._lock:
            self.generations[slot] += 1
            self.starts += 1
            tag = f"w{slot}g{self.generations[slot]}"
        worker = Worker({**self.env, "OPENAI_BASE_URL": self.fake.worker_url(tag)})
        worker.start(timeout=120)
        with self._lock:
            self.slots[slot], self.tags[slot] = worker, tag

    def start_together(self) -> None:
        """Start every slot at the same instant, as the pods of a new Deployment (blocking)."""
        outcomes = at_once([functools.partial(self.start, slot) for slot in range(len(self.slots))])
        errors = [o for o in outcomes if isinstance(o, BaseException)]
        if errors:
            raise RuntimeError(
                f"{len(errors)} of {len(self.slots)} workers started together did not become "
                f"ready: {errors[0]}"
            )

    def kill(self, slot: int) -> Kill:
        """SIGKILL the process in `slot`."""
        with self._lock:
            worker, tag = self.slots[slot], self.tags[slot]
            self.slots[slot] = None
        assert worker is not None
        at = time.time()
        worker.kill()
        return Kill(tag, at)

    def stop_all(self) -> None:
        for worker in self.slots:
            if worker is not None:
                with contextlib.suppress(Exception):
                    worker.stop()


# --- the report -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerRow:
    status: str
    outcome: str | None
    attempts: int
    finished_at: float | None


@dataclass
class Report:
    """What a chaos run saw; `ok`: nothing lost, duplicated, wrong or repeated beyond allowance."""

    jobs: int
    workers: int
    seed: int
    settings: str = ""
    elapsed: float = 0.0
    startup: float = 0.0  # seconds until every worker was ready
    kills: int = 0
    nats_restarts: int = 0
    completed: int = 0
    failed: int = 0
    lost: int = 0
    duplicated: int = 0
    wrong_results: int = 0
    dead_lettered: int = 0
    unacked: int = 0
    ledger_finished: int = 0
    ledger_running: int = 0
    ledger_missing: int = 0
    ledger_mismatches: int = 0
    redeliveries: int = 0
    llm_requests: int = 0
    llm_errors: int = 0
    llm_calls: int = 0
    llm_needed: int = 0
    llm_repeated: int = 0
    allowance: int = 0
    repeated_beyond_allowance: int = 0
    timed_out: bool = False
    milestones: dict[float, float] = field(default_factory=dict)
    problems: dict[str, list[str]] = field(default_factory=dict)  # kind -> every case
    log_dir: str = ""

    @property
    def ok(self) -> bool:
        return (
            self.lost == 0
            and self.duplicated == 0
            and self.wrong_results == 0
            and self.repeated_beyond_allowance == 0
        )

    def render(self) -> str:
        rows: list[tuple[str, object]] = [
            ("jobs published", self.jobs),
            ("completed", self.completed),
            ("failed", self.failed),
            ("lost (no result event)", self.lost),
            ("duplicated (>1 result event)", self.duplicated),
            ("wrong results", self.wrong_results),
            ("dead-lettered", self.dead_lettered),
            ("left unacked in the work queue", self.unacked),
            ("ledger: finished / running / missing", self._triple()),
            ("ledger disagrees with the result event", self.ledger_mismatches),
            ("redeliveries (ledger attempts - 1)", self.redeliveries),
            ("worker SIGKILLs", self.kills),
            ("NATS restarts", self.nats_restarts),
            ("LLM requests answered with an injected 500", self.llm_errors),
            ("LLM requests seen by the fake", self.llm_requests),
            ("LLM calls answered", self.llm_calls),
            ("LLM calls a clean run needs", self.llm_needed),
            ("LLM calls repeated", self.llm_repeated),
            ("allowance (1 per kill x job running on it)", self.allowance),
            ("LLM calls repeated beyond allowance", self.repeated_beyond_allowance),
            ("seconds until every worker was ready", f"{self.startup:.1f}"),
            ("seconds to 50 / 90 / 99 / 100 % of results", self._milestones()),
        ]
        width = max(len(name) for name, _ in rows)
        lines = [
            f"chaos: {self.jobs} jobs, {self.workers} workers, seed {self.seed}, {self.settings}, "
            f"{self.elapsed:.1f} s" + (" (DEADLINE PASSED)" if self.timed_out else "")
        ]
        lines += [f"  {name:<{width}}  {value}" for name, value in rows]
        for kind, cases in self.problems.items():
            shown = min(len(cases), PROBLEMS_SHOWN)
            lines.append(f"  problem: {kind} ({len(cases)} jobs; {shown} shown)")
            lines += [f"    {case}" for case in cases[:shown]]
        if self.log_dir:
            lines.append(f"  worker logs: {self.log_dir}")
        lines.append(f"result: {'PASS' if self.ok else 'FAIL'}")
        return "\n".join(lines)

    def _milestones(self) -> str:
        return " / ".join(
            f"{self.milestones[m]:.1f}" if m in self.milestones else "-" for m in MILESTONES
        )

    def _triple(self) -> str:
        return f"{self.ledger_finished} / {self.ledger_running} / {self.ledger_missing}"


def _problem(report: Report, kind: str, case: str) -> None:
    report.problems.setdefault(kind, []).append(case)


def _result_ok(plan: JobPlan, event: dict[str, Any]) -> bool:
    result = (event.get("data") or {}).get("result") or {}
    if result.get("output") != plan.expected_output():
        return False
    if plan.kind == "tool":
        written = (result.get("files") or {}).get(plan.report_path()) or {}
        return bool(written.get("content") == [plan.job_id])
    return True


def _trail(calls: Sequence[LLMCall], killed_at: dict[str, float]) -> str:
    """The job's calls in order; a move to another worker says whether a kill explains it."""
    parts = []
    previous: LLMCall | None = None
    for call in sorted(calls, key=lambda c: c.at):
        if previous is not None and call.worker != previous.worker:
            killed = killed_at.get(previous.worker, float("inf")) <= call.at
            parts.append(f"[moved {'after its kill' if killed else 'WITHOUT a kill'}]")
        error = "" if call.answered else "(500)"
        parts.append(f"{call.step[0]}#{call.step[1]}@{call.worker}{error}")
        previous = call
    return " ".join(parts)


def analyse(
    report: Report,
    plans: Sequence[JobPlan],
    events: Sequence[dict[str, Any]],
    ledger: dict[str, LedgerRow],
    calls: Sequence[LLMCall],
    kills: Sequence[Kill],
) -> Report:
    """Fill in the counts of `report` from what the run left behind (see the module doc)."""
    by_job: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        job_id = str((event.get("data") or {}).get("job_id"))
        by_job[job_id].append(event)
    plan_of = {plan.job_id: plan for plan in plans}
    strangers = set(by_job) - set(plan_of)
    for job_id in sorted(strangers):
        _problem(report, "result for a job nobody published", job_id)

    for plan in plans:
        found = by_job.get(plan.job_id, [])
        row = ledger.get(plan.job_id)
        if row is None:
            report.ledger_missing += 1
        elif row.status == "running":
            report.ledger_running += 1
        else:
            report.ledger_finished += 1
        if row is not None:
            report.redeliveries += max(0, row.attempts - 1)
        if not found:
            report.lost += 1
            _problem(report, "lost", f"{plan.job_id}: ledger {row}")
            continue
        if len(found) > 1:
            report.duplicated += 1
            subjects = [e.get("nats_subject") for e in found]
            _problem(report, "duplicated", f"{plan.job_id}: {len(found)} result events {subjects}")
        first = found[0]
        outcome = "completed" if first.get("nats_subject") == "agent.status.completed" else "failed"
        if outcome == "completed":
            report.completed += 1
            if not _result_ok(plan, first):
                report.wrong_results += 1
                _problem(report, "wrong result", f"{plan.job_id}: {first.get('data')}")
        else:
            report.failed += 1
            _problem(report, "failed", f"{plan.job_id}: {first.get('data')}")
        if row is None or row.outcome != outcome:
            report.ledger_mismatches += 1
            _problem(report, "ledger disagrees", f"{plan.job_id}: event {outcome}, ledger {row}")

    calls_of: dict[str | None, list[LLMCall]] = defaultdict(list)
    for call in calls:
        calls_of[call.job_id].append(call)
    report.llm_requests = len(calls)
    report.llm_errors = sum(1 for c in calls if not c.answered)
    report.llm_calls = len(calls) - report.llm_errors
    report.llm_needed = sum(len(plan.replies) for plan in plans)
    killed_at = {kill.worker: kill.at for kill in kills}
    for owner, job_calls in calls_of.items():
        answered = [c for c in job_calls if c.answered]
        per_step = Counter(c.step for c in answered if c.scripted)
        unscripted = sum(1 for c in answered if not c.scripted)
        repeated = sum(n - 1 for n in per_step.values()) + unscripted
        row = ledger.get(owner) if owner else None
        finished = row.finished_at if row is not None else None
        hits = sum(
            1
            for worker in {c.worker for c in job_calls}
            if worker in killed_at and (finished is None or finished > killed_at[worker])
        )
        beyond = max(0, repeated - hits) if owner in plan_of else len(answered)
        report.llm_repeated += repeated
        report.allowance += hits
        report.repeated_beyond_allowance += beyond
        if beyond:
            _problem(
                report,
                "LLM calls repeated beyond allowance",
                f"{owner or '(no job id)'}: {repeated} repeated, {hits} kill hits: "
                + _trail(job_calls, killed_at),
            )
    return report


# --- the run ----------------------------------------------------------------------------------


async def _connect(url: str) -> tuple[Any, JetStreamContext]:
    async def quiet(exc: Exception) -> None:
        del exc  # the planned NATS restart: the client reconnects by itself

    nc = await nats.connect(
        url,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        allow_reconnect=True,
        error_cb=quiet,
    )
    return nc, nc.jetstream(timeout=3)


async def _queue_depths(js: JetStreamContext) -> tuple[int, int] | None:
    """(result events, messages left in the work queue), or None while NATS is away."""
    try:
        status = await js.stream_info("AGENT_STATUS")
        work = await js.stream_info(EXECUTION_STREAM)
    except Exception:
        return None
    return int(status.state.messages), int(work.state.messages)


async def _stream_size(js: JetStreamContext, name: str) -> int:
    try:
        return int((await js.stream_info(name)).state.messages)
    except nats.js.errors.NotFoundError:
        return 0


def _read_ledger(database_url: str, run: str) -> dict[str, LedgerRow]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT job_id, status, outcome, attempts, finished_at FROM agent_jobs"
            " WHERE job_id LIKE %s",
            (f"chaos-{run}-%",),
        ).fetchall()
    ledger = {}
    for job_id, status, outcome, attempts, finished_at in rows:
        stamp = finished_at.timestamp() if isinstance(finished_at, datetime) else None
        ledger[str(job_id)] = LedgerRow(str(status), outcome, int(attempts), stamp)
    return ledger


@dataclass
class Chaos:
    """The knobs of a run."""

    jobs: int
    workers: int = 3
    seed: int = 1
    kill_every: float = 1.5
    max_kills: int | None = None
    llm_error_rate: float = 0.03
    concurrency: int = 16
    deadline: float | None = None
    settle: float = 2.0


async def _drive(
    chaos: Chaos,
    rng: random.Random,
    plans: Sequence[JobPlan],
    nats_server: NatsServer,
    workers: Workers,
    report: Report,
) -> list[Kill]:
    kills: list[Kill] = []
    nc, js = await _connect(nats_server.url)
    try:
        for plan in plans:
            await js.publish(
                SUBJECT,
                json.dumps(cloudevent(plan.body())).encode(),
                headers={"Nats-Msg-Id": plan.job_id},
            )
        began = time.monotonic()
        deadline = began + (chaos.deadline or max(180.0, chaos.jobs * 0.6))

        def interval(mean: float) -> float:
            return rng.uniform(0.5, 1.5) * mean

        next_kill = began + interval(chaos.kill_every) if chaos.kill_every > 0 else float("inf")
        starting: dict[int, asyncio.Task[None]] = {}
        while True:
            for slot, task in list(starting.items()):
                if task.done():
                    del starting[slot]
                    task.result()  # a replacement that cannot start ends the run
            depths = await _queue_depths(js)
            if depths is not None:
                for share in MILESTONES:
                    if share not in report.milestones and depths[0] >= share * chaos.jobs:
                        report.milestones[share] = time.monotonic() - began
                if depths[1] == 0:
                    break
            now = time.monotonic()
            if now > deadline:
                report.timed_out = True
                break
            if report.nats_restarts == 0 and depths is not None and depths[0] >= chaos.jobs // 2:
                # Never while a worker starts: its first connect to NATS must succeed.
                await asyncio.gather(*starting.values())
                await asyncio.to_thread(nats_server.restart)
                report.nats_restarts += 1
                continue
            if now >= next_kill and (chaos.max_kills is None or len(kills) < chaos.max_kills):
                alive = [slot for slot in range(chaos.workers) if slot not in starting]
                if alive:
                    slot = rng.choice(alive)
                    kills.append(workers.kill(slot))
                    starting[slot] = asyncio.create_task(asyncio.to_thread(workers.start, slot))
                next_kill = now + interval(chaos.kill_every)
            await asyncio.sleep(0.2)
        await asyncio.gather(*starting.values())
        # A late republish (a redelivery racing the ack) would land now; give it the chance.
        await asyncio.sleep(chaos.settle)
        report.elapsed = time.monotonic() - began
        report.unacked = await _stream_size(js, EXECUTION_STREAM)
        report.dead_lettered = await _stream_size(js, "AGENT_DLQ")
    finally:
        await nc.close()
    return kills


def run_chaos(
    jobs: int,
    workers: int = 3,
    seed: int = 1,
    kill_every: float = 1.5,
    *,
    max_kills: int | None = None,
    llm_error_rate: float = 0.03,
    concurrency: int = 16,
    deadline: float | None = None,
    log_dir: Path | None = None,
    fresh_start: bool = False,
) -> Report:
    """Run the chaos scenario end to end and return its report (see the module doc)."""
    chaos = Chaos(
        jobs=jobs,
        workers=workers,
        seed=seed,
        kill_every=kill_every,
        max_kills=max_kills,
        llm_error_rate=llm_error_rate,
        concurrency=concurrency,
        deadline=deadline,
    )
    rng = random.Random(seed)  # noqa: S311 - reproducible chaos, not cryptography
    run = uuid.uuid4().hex[:8]
    plans = plan_jobs(jobs, rng, run, llm_error_rate)
    report = Report(
        jobs=jobs,
        workers=workers,
        seed=seed,
        settings=f"kill every ~{kill_every:g} s, concurrency {concurrency}, "
        f"LLM 500s for {llm_error_rate:.0%} of jobs" + (", fresh start" if fresh_start else ""),
    )
    logs = log_dir or Path(tempfile.mkdtemp(prefix="chaos-logs-"))
    logs.mkdir(parents=True, exist_ok=True)
    report.log_dir = str(logs)
    with contextlib.ExitStack() as stack:
        # Never NATS_URL: the run restarts this server.
        nats_server = stack.enter_context(local_nats_server())
        redis_url = stack.enter_context(redis_server())
        postgres = stack.enter_context(postgres_server())
        if fresh_start:
            # A database nothing has touched, migrated as new pods' init containers do it.
            database_url = stack.enter_context(fresh_database(postgres.url))
            migrate_concurrently(database_url, workers)
        else:
            database_url = postgres.url
            migrate(database_url)
        fake = stack.enter_context(fake_openai(ChaosFake(plans)))
        assert isinstance(fake, ChaosFake)
        env = {
            "NATS_URL": nats_server.url,
            "REDIS_URL": redis_url,
            "DATABASE_URL": database_url,
            "OPENAI_API_KEY": "sk-chaos-not-a-secret",
            "NATS_CREATE_STREAMS": "true",
            "NATS_ACK_WAIT_SECONDS": str(ACK_WAIT_SECONDS),
            "NATS_MAX_DELIVER": str(MAX_DELIVER),
            "HEARTBEAT_SECONDS": "1",
            "WORKER_CONCURRENCY": str(concurrency),
            "SHUTDOWN_TIMEOUT_SECONDS": "10",
            "WORKER_LOG_DIR": str(logs),
        }
        pool = Workers(workers, env, fake)
        stack.callback(pool.stop_all)
        began = time.monotonic()
        if fresh_start:
            pool.start_together()  # streams and consumer too: whoever comes first creates them
        else:
            pool.start(0)  # the first one creates the streams and the consumer
            threads = [threading.Thread(target=pool.start, args=(s,)) for s in range(1, workers)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        if any(worker is None for worker in pool.slots):
            raise RuntimeError(f"a worker did not start; logs in {logs}")
        report.startup = time.monotonic() - began
        kills = asyncio.run(_drive(chaos, rng, plans, nats_server, pool, report))
        report.kills = len(kills)
        events = asyncio.run(results(nats_server.url))
        ledger = _read_ledger(database_url, run)
        analyse(report, plans, events, ledger, fake.calls, kills)
    if report.ok and log_dir is None:
        shutil.rmtree(logs, ignore_errors=True)
        report.log_dir = ""
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--jobs", type=int, default=1000, help="jobs to publish [1000]")
    parser.add_argument("--workers", type=int, default=3, help="worker processes [3]")
    parser.add_argument("--seed", type=int, default=1, help="seed of every random choice [1]")
    parser.add_argument(
        "--kill-every", type=float, default=1.5, help="mean seconds between SIGKILLs [1.5]; 0: none"
    )
    parser.add_argument("--max-kills", type=int, default=None, help="stop killing after this")
    parser.add_argument(
        "--llm-error-rate",
        type=float,
        default=0.03,
        help="share of jobs whose LLM answers one of their calls with HTTP 500 first [0.03]",
    )
    parser.add_argument("--concurrency", type=int, default=16, help="WORKER_CONCURRENCY [16]")
    parser.add_argument("--deadline", type=float, default=None, help="seconds [max(180, 0.6 N)]")
    parser.add_argument("--log-dir", type=Path, default=None, help="keep the worker logs here")
    parser.add_argument(
        "--fresh-start",
        action="store_true",
        help="new database; all migration runs (one per worker), then all workers, at once",
    )
    args = parser.parse_args(argv)
    report = run_chaos(
        args.jobs,
        args.workers,
        args.seed,
        args.kill_every,
        max_kills=args.max_kills,
        llm_error_rate=args.llm_error_rate,
        concurrency=args.concurrency,
        deadline=args.deadline,
        log_dir=args.log_dir,
        fresh_start=args.fresh_start,
    )
    print(report.render(), flush=True)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
