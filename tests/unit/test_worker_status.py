"""What a worker's heartbeat says about it: rates, tokens today, activity, identity."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from contract.heartbeats import heartbeat_subject, subject_part
from workers.agent_executor.worker_status import (
    Counts,
    Identity,
    StatusTracker,
    image_version,
    jobs_per_minute,
    tokens_today,
)

T0 = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("samples", "expected"),
    [
        ([], 0.0),
        ([(0.0, 5)], 0.0),
        ([(0.0, 0), (60.0, 10)], 10.0),
        ([(0.0, 0), (30.0, 10)], 20.0),
        ([(0.0, 4), (0.0, 9)], 0.0),  # no time between them
        ([(0.0, 0), (100.0, 0), (400.0, 30)], 6.0),  # the first sample is out of the window
        ([(0.0, 10), (60.0, 3)], 0.0),  # counters never go back; a restart is not negative
    ],
)
def test_jobs_per_minute_over_the_recent_samples(
    samples: list[tuple[float, int]], expected: float
) -> None:
    assert jobs_per_minute(samples) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("today", "tokens", "baseline", "expected", "next_baseline"),
    [
        (date(2025, 5, 1), 120, None, 120, (date(2025, 5, 1), 0)),
        (date(2025, 5, 1), 500, (date(2025, 5, 1), 0), 500, (date(2025, 5, 1), 0)),
        (date(2025, 5, 2), 500, (date(2025, 5, 1), 0), 0, (date(2025, 5, 2), 500)),
        (date(2025, 5, 2), 800, (date(2025, 5, 2), 500), 300, (date(2025, 5, 2), 500)),
    ],
    ids=["first-sample", "same-day", "new-day", "later-same-new-day"],
)
def test_tokens_today_start_again_at_midnight_utc(
    today: date,
    tokens: int,
    baseline: tuple[date, int] | None,
    expected: int,
    next_baseline: tuple[date, int],
) -> None:
    assert tokens_today(today, tokens, baseline) == (expected, next_baseline)


@pytest.mark.parametrize(
    ("image", "version"),
    [
        ("ghcr.io/bizmatters/deepagents-runtime:0.4.2", "0.4.2"),
        ("registry.local:5000/agents/exec:1.2", "1.2"),
        ("registry.local:5000/agents/exec", "latest"),
        ("ghcr.io/a/b@sha256:" + "ab" * 32, "sha256:" + "ab" * 32),
        ("busybox", "latest"),
        (None, None),
    ],
)
def test_the_version_is_the_images_tag_or_digest(image: str | None, version: str | None) -> None:
    assert image_version(image) == version


@pytest.mark.parametrize(
    ("name", "token"),
    [
        ("deepagents-executor-7d9f8-x2k4p", "deepagents-executor-7d9f8-x2k4p"),
        ("build.example.com", "build_example_com"),
        ("a*b>c d", "a_b_c_d"),
        ("", "_"),
    ],
)
def test_a_name_is_always_one_subject_token(name: str, token: str) -> None:
    assert subject_part(name) == token


def test_the_heartbeat_subject_names_namespace_executor_and_pod() -> None:
    assert (
        heartbeat_subject("intelligence-deepagents", "deepagents-executor", "pod-1")
        == "agent.heartbeat.intelligence-deepagents.deepagents-executor.pod-1"
    )


def _tracker() -> StatusTracker:
    identity = Identity("tenant-a", "exec", "exec-abc", "ghcr.io/x/exec:2.0")
    return StatusTracker(identity, 15.0, 8, T0, started_monotonic=100.0)


def test_a_snapshot_carries_identity_counts_and_uptime() -> None:
    status = _tracker().snapshot(Counts(3, 2, 1, 900), "running", T0, monotonic=160.0)

    assert (status.namespace, status.executor, status.pod) == ("tenant-a", "exec", "exec-abc")
    assert (status.image, status.version) == ("ghcr.io/x/exec:2.0", "2.0")
    assert (status.completed, status.failed, status.in_flight) == (3, 2, 1)
    assert status.uptime_seconds == 60.0
    assert status.tokens_today == 900
    assert (status.concurrency, status.heartbeat_seconds) == (8, 15.0)


def test_last_activity_moves_while_jobs_run_or_finish_and_stays_while_idle() -> None:
    tracker = _tracker()
    busy = tracker.snapshot(Counts(0, 0, 2, 0), "running", T0, 100.0)
    finished = tracker.snapshot(Counts(2, 0, 0, 0), "running", T0 + timedelta(seconds=15), 115.0)
    idle = tracker.snapshot(Counts(2, 0, 0, 0), "running", T0 + timedelta(seconds=30), 130.0)

    assert busy.last_activity_at == T0
    assert finished.last_activity_at == T0 + timedelta(seconds=15)
    assert idle.last_activity_at == T0 + timedelta(seconds=15)


def test_a_worker_that_never_ran_a_job_has_no_last_activity() -> None:
    status = _tracker().snapshot(Counts(0, 0, 0, 0), "running", T0, 100.0)
    assert status.last_activity_at is None
    assert status.jobs_per_minute == 0.0


def test_jobs_per_minute_comes_from_successive_snapshots() -> None:
    tracker = _tracker()
    tracker.snapshot(Counts(0, 0, 0, 0), "running", T0, 100.0)
    status = tracker.snapshot(Counts(9, 3, 0, 0), "running", T0 + timedelta(minutes=2), 220.0)
    assert status.jobs_per_minute == 6.0
