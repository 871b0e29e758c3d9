"""This worker's status, as its heartbeats carry it (contract/heartbeats.py `WorkerStatus`).

The counts come from the process's own Prometheus metrics (jobs by outcome, in flight, LLM
tokens), so the heartbeat and `/metrics` can never disagree and the job path needs no hook.
What the metrics do not hold is derived from successive samples: jobs per minute over the
recent minutes, tokens since 00:00 UTC, and when the pod was last seen working.
"""

from __future__ import annotations

import os
import socket
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from prometheus_client import REGISTRY

from contract.heartbeats import State, WorkerStatus
from workers.agent_executor.metrics import LLM_TOKENS
from workers.agent_executor.settings import Settings

# Jobs per minute is measured over this window of samples.
RATE_WINDOW_SECONDS = 300.0
FAILED_OUTCOMES = ("failed", "cancelled", "dead_lettered")
DEFAULT_NAMESPACE = "default"


@dataclass(frozen=True)
class Counts:
    """The process's job and token counters at one moment."""

    completed: int
    failed: int
    in_flight: int
    tokens: int

    @property
    def finished(self) -> int:
        """Jobs that reached an outcome."""
        return self.completed + self.failed


def read_counts() -> Counts:
    """The counters as the metrics hold them now."""

    def sample(name: str, labels: dict[str, str] | None = None) -> int:
        return int(REGISTRY.get_sample_value(name, labels or {}) or 0)

    jobs = "agent_executor_jobs_total"
    tokens = sum(
        int(s.value)
        for metric in LLM_TOKENS.collect()
        for s in metric.samples
        if s.name.endswith("_total")
    )
    return Counts(
        completed=sample(jobs, {"outcome": "completed"}),
        failed=sum(sample(jobs, {"outcome": o}) for o in FAILED_OUTCOMES),
        in_flight=sample("agent_executor_jobs_in_flight"),
        tokens=tokens,
    )


def jobs_per_minute(samples: list[tuple[float, int]], window: float = RATE_WINDOW_SECONDS) -> float:
    """Finished jobs per minute between the oldest sample within `window` of the newest and the
    newest; 0 with fewer than two samples or no time between them.

    `samples` are (monotonic seconds, jobs finished so far), oldest first.
    """
    if len(samples) < 2:
        return 0.0
    newest_at, newest = samples[-1]
    oldest_at, oldest = next((t, n) for t, n in samples if newest_at - t <= window)
    elapsed = newest_at - oldest_at
    if elapsed <= 0:
        return 0.0
    return max(0, newest - oldest) * 60.0 / elapsed


def tokens_today(
    today: date, tokens: int, baseline: tuple[date, int] | None
) -> tuple[int, tuple[date, int]]:
    """Tokens used since 00:00 UTC `today`, and the baseline to pass next time.

    The baseline is the token total when the day was first seen: a process that started
    today counts from zero; on a new day the count starts again (tokens of the last sample
    interval before midnight are counted in the new day).
    """
    if baseline is None:
        baseline = (today, 0)
    elif baseline[0] != today:
        baseline = (today, tokens)
    return max(0, tokens - baseline[1]), baseline


def image_version(image: str | None) -> str | None:
    """The tag or digest of an image reference (`repo:tag`, `repo@sha256:...`, a registry
    host:port included); `latest` for a reference with neither, None without an image."""
    if not image:
        return None
    if "@" in image:
        return image.rpartition("@")[2]
    name = image.rpartition("/")[2]
    return name.rpartition(":")[2] if ":" in name else "latest"


@dataclass(frozen=True)
class Identity:
    """Who this worker is in the fleet."""

    namespace: str
    executor: str
    pod: str
    image: str | None

    @classmethod
    def of(cls, settings: Settings) -> Identity:
        """From the Deployment's env. Outside Kubernetes: namespace `default`, and the host
        name with the process id as the pod, so workers started side by side on one machine
        are told apart (each pod keeps one heartbeat in the stream)."""
        return cls(
            namespace=settings.POD_NAMESPACE or DEFAULT_NAMESPACE,
            executor=settings.OTEL_SERVICE_NAME,
            pod=settings.POD_NAME or f"{socket.gethostname()}-{os.getpid()}",
            image=settings.EXECUTOR_IMAGE,
        )


@dataclass
class StatusTracker:
    """Turns successive counter samples into `WorkerStatus` snapshots."""

    identity: Identity
    heartbeat_seconds: float
    concurrency: int
    started_at: datetime
    started_monotonic: float
    samples: deque[tuple[float, int]] = field(default_factory=deque)
    last_activity_at: datetime | None = None
    _tokens_baseline: tuple[date, int] | None = None

    def snapshot(
        self, counts: Counts, state: State, now: datetime, monotonic: float
    ) -> WorkerStatus:
        """The status at `now` (wall clock, UTC) / `monotonic`, given the counters then."""
        previous = self.samples[-1][1] if self.samples else 0
        # Working now, or finished something since the last sample: active (to one interval).
        if counts.in_flight > 0 or counts.finished != previous:
            self.last_activity_at = now
        self.samples.append((monotonic, counts.finished))
        while self.samples and monotonic - self.samples[0][0] > RATE_WINDOW_SECONDS:
            self.samples.popleft()
        today, self._tokens_baseline = tokens_today(
            now.date(), counts.tokens, self._tokens_baseline
        )
        return WorkerStatus(
            namespace=self.identity.namespace,
            executor=self.identity.executor,
            pod=self.identity.pod,
            image=self.identity.image,
            version=image_version(self.identity.image),
            state=state,
            started_at=self.started_at,
            uptime_seconds=max(0.0, monotonic - self.started_monotonic),
            heartbeat_seconds=self.heartbeat_seconds,
            concurrency=self.concurrency,
            in_flight=counts.in_flight,
            completed=counts.completed,
            failed=counts.failed,
            jobs_per_minute=round(jobs_per_minute(list(self.samples)), 2),
            tokens_today=today,
            last_activity_at=self.last_activity_at,
            sent_at=now,
        )


def utc_now() -> datetime:
    """The wall clock, UTC."""
    return datetime.now(UTC)
