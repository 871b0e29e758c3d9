"""Run one job: the resume rule, the agent, the ledger. Shared by NATS and HTTP.

Resume rule (DESIGN section 6): a job whose ledger row is finished is not run
again, its recorded result is returned for republishing; a job with an
unfinished checkpoint continues from it with `None` input; otherwise it starts.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any, Literal

import httpx
import openai
import psycopg
import structlog
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.errors import GraphRecursionError
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from contract import limits
from contract.events import CANCELLED
from workers.agent_executor.agent.definition import parse_definition
from workers.agent_executor.agent.graph import (
    RunContext,
    build_graph,
    final_result,
    initial_state,
)
from workers.agent_executor.agent.llm import LLMClient
from workers.agent_executor.agent.ports import AgentError
from workers.agent_executor.budget import PostgresBudget
from workers.agent_executor.budget_override import PerRunBudget
from workers.agent_executor.envelope import JobExecutionEvent
from workers.agent_executor.governance import GOVERNANCE, violation_of
from workers.agent_executor.job_locks import JobLocks
from workers.agent_executor.ledger import JobRecord, Ledger
from workers.agent_executor.metrics import IN_FLIGHT, JOB_DURATION, JOBS, RUNNING_JOBS
from workers.agent_executor.settings import Settings
from workers.agent_executor.streaming import EventPublisher, RedisEvents

log = structlog.get_logger()

Outcome = Literal["completed", "failed"]
BUSY = "Busy"


class JobCancelledError(AgentError):
    """The job was asked to stop (`agent.control.cancel.<job_id>` or DELETE /jobs/{job_id})."""

    type = CANCELLED


class StepLimitExceededError(AgentError):
    """The job took more graph steps than JOB_MAX_STEPS (a model that keeps calling tools)."""

    type = limits.STEP_LIMIT_EXCEEDED


class TimeoutExceededError(AgentError):
    """The job ran longer than JOB_TIMEOUT_SECONDS."""

    type = limits.TIMEOUT_EXCEEDED


class ResultTooLargeError(AgentError):
    """The job's result is larger than JOB_MAX_RESULT_BYTES."""

    type = limits.RESULT_TOO_LARGE


class JobIdConflictError(Exception):
    """The job id belongs to another job (another definition or input); never a second result."""

    type = "JobIdConflict"


class TransientError(Exception):
    """A fault worth retrying later (LLM 429/5xx, database, network); the job is not failed."""

    def __init__(self, message: str, kind: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.type = kind
        self.retry_after = retry_after


@dataclass(frozen=True)
class JobResult:
    """A finished job: its outcome, the result event data, and whether it ran just now."""

    job_id: str
    outcome: Outcome
    data: dict[str, Any]
    republished: bool = False


def failure(message: str, kind: str) -> dict[str, Any]:
    """Result data of a failed job."""
    return {"error": {"message": message, "type": kind}}


def classify(exc: BaseException) -> TransientError | None:
    """The transient fault `exc` stands for, or None when it is not transient."""
    if isinstance(exc, openai.RateLimitError):
        retry = exc.response.headers.get("retry-after") if exc.response is not None else None
        return TransientError(f"LLM rate limited: {exc.message}", "RateLimited", _seconds(retry))
    if isinstance(exc, openai.APIStatusError) and exc.status_code >= 500:
        return TransientError(f"LLM server error {exc.status_code}", "LLMUnavailable")
    if isinstance(exc, openai.APIConnectionError | httpx.TransportError):
        return TransientError(f"LLM unreachable: {exc}", "LLMUnavailable")
    if isinstance(exc, psycopg.OperationalError | PoolTimeout):
        return TransientError(f"database unavailable: {exc}", "DatabaseUnavailable")
    if isinstance(exc, ConnectionError | TimeoutError):
        return TransientError(f"connection failed: {exc}", "ConnectionFailed")
    return None


def recorded(record: JobRecord, republished: bool = False) -> JobResult:
    """The JobResult of a finished ledger row."""
    assert record.result is not None, f"job {record.job_id} has no recorded result"
    outcome: Outcome = "completed" if record.outcome == "completed" else "failed"
    return JobResult(record.job_id, outcome, record.result, republished)


def _steps_taken(snapshot: Any) -> int:
    """Supersteps a checkpointed run has taken so far (LangGraph's checkpoint metadata)."""
    step = (getattr(snapshot, "metadata", None) or {}).get("step")
    return step + 1 if isinstance(step, int) and step >= 0 else 0


def _conflict(job_id: str) -> str:
    return (
        f"job id {job_id!r} was already used for a job with another agent_definition or "
        "input_payload; use a new job id"
    )


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


class _JobPolicy:
    """The run's PolicyReporter: what the agent refuses is reported as this job's violation.

    A refused tool is reported once per attempt: a model that calls it again and again is
    one violation, not one per call.
    """

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        self.refused: set[str] = set()

    def tool_script_refused(self, tool: str) -> None:
        if tool in self.refused:
            return
        self.refused.add(tool)
        GOVERNANCE.report(
            self.job_id,
            "ToolScriptRefused",
            f"tool '{tool}' has a script and tool scripts are disabled (ALLOW_TOOL_SCRIPTS=false)",
            tool=tool,
        )


class Runner:
    """Executes jobs against the shared pool, checkpointer, Redis and LLM client."""

    def __init__(
        self,
        settings: Settings,
        pool: AsyncConnectionPool,
        saver: AsyncPostgresSaver,
        events: EventPublisher,
        llm: LLMClient,
        locks: JobLocks,
    ) -> None:
        self.settings = settings
        self.pool = pool
        self.events = events
        self.llm = llm
        self.ledger = Ledger(pool)
        self.locks = locks
        # Compiled once: every job passes its own thread_id and RunContext.
        self.graph = build_graph(
            llm,
            allow_tool_scripts=settings.ALLOW_TOOL_SCRIPTS,
            script_timeout=settings.TOOL_SCRIPT_TIMEOUT_SECONDS,
        ).compile(checkpointer=saver)
        # TOKEN_BUDGET_PER_RUN, or set_budget's override (kept current by ControlCommands).
        self.per_run_budget = PerRunBudget(settings.TOKEN_BUDGET_PER_RUN)
        self.running: set[str] = set()
        # Jobs running here that must stop at their next step.
        self.cancelled: set[str] = set()

    def cancel(self, job_id: str) -> bool:
        """Stop `job_id` at its next step if it runs in this process; True when it does."""
        if job_id in self.running:
            self.cancelled.add(job_id)
            return True
        return False

    async def fail(
        self, job_id: str, message: str, kind: str, digest: str, counted_as: str = "failed"
    ) -> JobResult:
        """Record a failure without running (poison input, dead letter); first result wins.

        Raises JobIdConflictError when `job_id` belongs to a job of another digest.
        """
        record = await self.ledger.finish(job_id, "failed", failure(message, kind), digest)
        if record.conflicts_with(digest):
            raise JobIdConflictError(_conflict(job_id))
        JOBS.labels(outcome=counted_as).inc()
        await self._events(job_id).end(failure(message, kind)["error"])
        return recorded(record)

    def _events(self, job_id: str) -> RedisEvents:
        return self.events.sink(job_id)

    async def run(self, job: JobExecutionEvent) -> JobResult:
        """Run `job` to an outcome, or raise TransientError to be retried later.

        A session advisory lock on the job id is held for the whole run (`JobLocks`):
        JetStream may hand a still-running job to a second worker (after a server restart),
        and two runs of one thread would interleave their checkpoints.
        """
        try:
            acquired = await self.locks.try_acquire(job.job_id)
        except psycopg.OperationalError as exc:
            raise TransientError(f"database unavailable: {exc}", "DatabaseUnavailable") from exc
        if not acquired:
            raise TransientError("job is running on another worker", BUSY, retry_after=5)
        try:
            return await self._run_locked(job)
        finally:
            await self.locks.release(job.job_id)

    async def _run_locked(self, job: JobExecutionEvent) -> JobResult:
        digest = job.digest()
        try:
            # One statement: counts the attempt of an unfinished job, returns a finished one.
            record = await self.ledger.start_attempt(job.job_id, job.trace_id, digest)
        except Exception as exc:
            transient = classify(exc)
            if transient is None:
                raise
            raise transient from exc
        if record.conflicts_with(digest):
            raise JobIdConflictError(_conflict(job.job_id))
        if record.status != "running":
            log.info("job already finished; republishing", job_id=job.job_id)
            return recorded(record, republished=True)

        events = self._events(job.job_id)
        began = time.monotonic()
        IN_FLIGHT.inc()
        self.running.add(job.job_id)
        if record.cancel_requested_at is not None:
            self.cancelled.add(job.job_id)
        try:
            with RUNNING_JOBS.running():
                data = await self._execute_within_limits(
                    job, events, first_attempt=record.attempts == 1
                )
            outcome: Outcome = "completed"
        except AgentError as exc:
            data, outcome = failure(str(exc), exc.type), "failed"
            violation = violation_of(exc)
            if violation is not None:
                GOVERNANCE.violation(job.job_id, violation)
        except Exception as exc:
            transient = classify(exc)
            if transient is not None:
                JOB_DURATION.labels(outcome="retried").observe(time.monotonic() - began)
                raise transient from exc
            log.exception("job failed unexpectedly", job_id=job.job_id)
            data, outcome = failure(f"{type(exc).__name__}: {exc}", "InternalError"), "failed"
        finally:
            IN_FLIGHT.dec()
            self.running.discard(job.job_id)
            self.cancelled.discard(job.job_id)

        try:
            record = await self.ledger.finish(job.job_id, outcome, data, digest)
        except Exception as exc:
            transient = classify(exc)
            if transient is None:
                raise
            raise transient from exc
        if record.conflicts_with(digest):
            raise JobIdConflictError(_conflict(job.job_id))
        result = recorded(record)
        error_type = (result.data.get("error") or {}).get("type")
        counted = "cancelled" if error_type == JobCancelledError.type else result.outcome
        JOBS.labels(outcome=counted).inc()
        JOB_DURATION.labels(outcome=counted).observe(time.monotonic() - began)
        await events.end(result.data.get("error"))
        return result

    async def _execute_within_limits(
        self, job: JobExecutionEvent, events: RedisEvents, *, first_attempt: bool
    ) -> dict[str, Any]:
        """`_execute` bounded by the wall-clock timeout, its result by JOB_MAX_RESULT_BYTES."""
        timeout = self.settings.JOB_TIMEOUT_SECONDS
        deadline = asyncio.timeout(timeout)
        try:
            async with deadline:
                data = await self._execute(job, events, first_attempt=first_attempt)
        except TimeoutError as exc:
            if not deadline.expired():
                raise  # a connection timeout inside the run: transient, classified later
            raise TimeoutExceededError(
                f"job {job.job_id} ran longer than its limit of {timeout:g} s"
            ) from exc
        size = len(json.dumps(data, separators=(",", ":")).encode())
        if size > self.settings.JOB_MAX_RESULT_BYTES:
            raise ResultTooLargeError(
                f"result is {size} bytes, more than the limit of "
                f"{self.settings.JOB_MAX_RESULT_BYTES} bytes (limits.maxResultBytes)"
            )
        return data

    async def _execute(
        self, job: JobExecutionEvent, events: RedisEvents, *, first_attempt: bool
    ) -> dict[str, Any]:
        definition = parse_definition(job.agent_definition)
        budget = PostgresBudget(self.pool, self.per_run_budget, self.settings.DAILY_TOKEN_BUDGET)
        context = RunContext(definition, events, budget, _JobPolicy(job.job_id))
        max_steps = self.settings.JOB_MAX_STEPS
        config: RunnableConfig = {"configurable": {"thread_id": job.job_id}}
        # No earlier attempt (the ledger counts them), so no checkpoint to look for.
        snapshot = None if first_attempt else await self.graph.aget_state(config)
        # Pending tasks (writes saved, next checkpoint not) mean unfinished, even with no `next`.
        unfinished = snapshot is not None and bool(snapshot.next or snapshot.tasks)
        if snapshot is not None and snapshot.values and not unfinished:
            state = snapshot.values  # the graph finished before its result was recorded
        else:
            if snapshot is not None and unfinished:
                log.info("resuming from checkpoint", job_id=job.job_id, next=list(snapshot.next))
            graph_input = None if unfinished else initial_state(job.input_payload)
            state = snapshot.values if snapshot is not None else {}
            self._check_cancelled(job.job_id)
            # The step limit counts every attempt's steps: a resumed run gets what is left.
            steps_taken = _steps_taken(snapshot) if unfinished else 0
            run_config: RunnableConfig = {
                **config,
                "recursion_limit": max(1, max_steps - steps_taken),
            }
            # Step by step, so a cancel request takes effect at the next step boundary.
            # Synchronous checkpoints: a step is durable before the next LLM call starts,
            # so a kill never loses a finished call.
            try:
                async for values in self.graph.astream(
                    graph_input,
                    run_config,
                    context=context,
                    stream_mode="values",
                    durability="sync",
                ):
                    state = values
                    self._check_cancelled(job.job_id)
            except GraphRecursionError as exc:
                raise StepLimitExceededError(
                    f"job {job.job_id} did not finish within {max_steps} steps (limits.maxSteps)"
                ) from exc
        result: dict[str, Any] = {**final_result(state), "status": "completed"}
        if definition.warnings:
            # How the definition was read differently than written (deepagents-runtime's
            # leniency: several orchestrators, unknown tools) is part of the answer.
            result["warnings"] = list(definition.warnings)
        return {"result": result}

    def _check_cancelled(self, job_id: str) -> None:
        if job_id in self.cancelled:
            raise JobCancelledError(f"job {job_id} was cancelled")
