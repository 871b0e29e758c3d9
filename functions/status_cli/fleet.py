"""The fleet as an operator reads it: each pod's health from its newest heartbeat, per-executor
totals, and the table and JSON `agentplane status` prints. Pure: no clock, no I/O."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from contract.heartbeats import STALE_AFTER_INTERVALS, WorkerStatus

Health = Literal["healthy", "draining", "stopped", "stale"]


def health(status: WorkerStatus, age_seconds: float) -> Health:
    """A pod's health from its newest heartbeat, `age_seconds` old.

    Stopped: its last heartbeat said so (a graceful shutdown). Stale: it missed
    STALE_AFTER_INTERVALS heartbeats (crashed, hung, cut off from NATS). Otherwise what
    the heartbeat says: running is healthy; draining finishes its jobs after SIGTERM.
    """
    if status.state == "stopped":
        return "stopped"
    if age_seconds > STALE_AFTER_INTERVALS * status.heartbeat_seconds:
        return "stale"
    return "healthy" if status.state == "running" else "draining"


@dataclass(frozen=True)
class Pod:
    """One pod's newest heartbeat and how old it is."""

    status: WorkerStatus
    age_seconds: float

    @property
    def health(self) -> Health:
        """See `health`."""
        return health(self.status, self.age_seconds)


def pods(heartbeats: Iterable[tuple[WorkerStatus, datetime]], now: datetime) -> list[Pod]:
    """Each pod once (its newest heartbeat), sorted by namespace, executor and pod.

    `heartbeats` pairs each status with when it was seen (stored by the stream, or answered).
    """
    newest: dict[tuple[str, str, str], tuple[WorkerStatus, datetime]] = {}
    for status, seen in heartbeats:
        key = (status.namespace, status.executor, status.pod)
        if key not in newest or seen > newest[key][1]:
            newest[key] = (status, seen)
    return [
        Pod(status, max(0.0, (now - seen).total_seconds()))
        for key, (status, seen) in sorted(newest.items())
    ]


@dataclass(frozen=True)
class ExecutorSummary:
    """Totals over the pods of one executor that are not stopped."""

    namespace: str
    executor: str
    pods: int
    healthy: int
    stale: int
    in_flight: int
    concurrency: int
    jobs_per_minute: float
    completed: int
    failed: int
    tokens_today: int


def summaries(fleet: list[Pod]) -> list[ExecutorSummary]:
    """One summary per executor; a stopped pod is history and is not counted."""
    groups: dict[tuple[str, str], list[Pod]] = {}
    for pod in fleet:
        if pod.health != "stopped":
            groups.setdefault((pod.status.namespace, pod.status.executor), []).append(pod)
    result = []
    for (namespace, executor), members in sorted(groups.items()):
        live = [p for p in members if p.health != "stale"]
        result.append(
            ExecutorSummary(
                namespace=namespace,
                executor=executor,
                pods=len(members),
                healthy=sum(1 for p in members if p.health == "healthy"),
                stale=len(members) - len(live),
                in_flight=sum(p.status.in_flight for p in live),
                concurrency=sum(p.status.concurrency for p in live),
                jobs_per_minute=round(sum(p.status.jobs_per_minute for p in live), 2),
                completed=sum(p.status.completed for p in members),
                failed=sum(p.status.failed for p in members),
                tokens_today=sum(p.status.tokens_today for p in members),
            )
        )
    return result


def all_healthy(fleet: list[Pod]) -> bool:
    """True when some pod is healthy and none is stale (the exit status of `status`)."""
    return any(p.health == "healthy" for p in fleet) and not any(p.health == "stale" for p in fleet)


def duration(seconds: float) -> str:
    """A short age: `42s`, `3m`, `2h05m`, `3d04h`."""
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m"
    if whole < 86400:
        return f"{whole // 3600}h{whole % 3600 // 60:02d}m"
    return f"{whole // 86400}d{whole % 86400 // 3600:02d}h"


COLUMNS = (
    "EXECUTOR",
    "POD",
    "HEALTH",
    "BEAT",
    "IN-FLIGHT",
    "JOBS/MIN",
    "DONE",
    "FAILED",
    "TOKENS TODAY",
    "UPTIME",
    "IDLE",
    "VERSION",
)


def _row(pod: Pod, now: datetime) -> tuple[str, ...]:
    status = pod.status
    if status.in_flight and pod.health != "stale":
        idle = "busy"
    elif status.last_activity_at is None:
        idle = "never"
    else:
        idle = duration(max(0.0, (now - status.last_activity_at).total_seconds()))
    return (
        status.executor,
        status.pod,
        pod.health,
        f"{duration(pod.age_seconds)} ago",
        f"{status.in_flight}/{status.concurrency}",
        f"{status.jobs_per_minute:g}",
        str(status.completed),
        str(status.failed),
        f"{status.tokens_today:,}",
        duration(status.uptime_seconds),
        idle,
        status.version or "-",
    )


def table(fleet: list[Pod], now: datetime) -> str:
    """The pods as aligned columns, then one line per executor with its totals."""
    if not fleet:
        return "no worker has published a heartbeat in the last hour\n"
    rows = [COLUMNS, *(_row(p, now) for p in fleet)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.append("")
    for s in summaries(fleet):
        stale = f", {s.stale} stale" if s.stale else ""
        lines.append(
            f"{s.namespace}/{s.executor}: {s.healthy}/{s.pods} pods healthy{stale}, "
            f"{s.in_flight}/{s.concurrency} in flight, {s.jobs_per_minute:g} jobs/min, "
            f"{s.completed} done, {s.failed} failed, {s.tokens_today:,} tokens today"
        )
    return "\n".join(lines) + "\n"


def as_json(fleet: list[Pod]) -> dict[str, Any]:
    """The fleet for scripts: every pod's status with its health and age, and the totals."""
    return {
        "pods": [
            {
                **p.status.model_dump(mode="json"),
                "health": p.health,
                "age_seconds": round(p.age_seconds, 3),
            }
            for p in fleet
        ],
        "executors": [s.__dict__ for s in summaries(fleet)],
        "healthy": all_healthy(fleet),
    }
