"""How `agentplane status` judges and shows the fleet from the workers' heartbeats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contract.heartbeats import State, WorkerStatus
from functions.status_cli.fleet import (
    Pod,
    all_healthy,
    as_json,
    duration,
    health,
    pods,
    summaries,
    table,
)

NOW = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)


def status(**overrides: Any) -> WorkerStatus:
    fields: dict[str, Any] = {
        "namespace": "intelligence-deepagents",
        "executor": "deepagents-executor",
        "pod": "deepagents-executor-7d9f8-x2k4p",
        "image": "ghcr.io/bizmatters/deepagents-runtime:0.4.2",
        "version": "0.4.2",
        "state": "running",
        "started_at": NOW - timedelta(hours=2),
        "uptime_seconds": 7200,
        "heartbeat_seconds": 15,
        "concurrency": 8,
        "in_flight": 3,
        "completed": 120,
        "failed": 4,
        "jobs_per_minute": 2.5,
        "tokens_today": 48000,
        "last_activity_at": NOW - timedelta(seconds=5),
        "sent_at": NOW - timedelta(seconds=5),
    }
    return WorkerStatus(**{**fields, **overrides})


@pytest.mark.parametrize(
    ("state", "interval", "age", "expected"),
    [
        ("running", 15, 0, "healthy"),
        ("running", 15, 29.9, "healthy"),
        ("running", 15, 30, "healthy"),  # exactly two intervals: not yet missed two
        ("running", 15, 30.1, "stale"),
        ("running", 1, 2.5, "stale"),
        ("draining", 15, 10, "draining"),
        ("draining", 15, 31, "stale"),
        ("stopped", 15, 10, "stopped"),
        ("stopped", 15, 3000, "stopped"),  # a graceful stop is never stale
    ],
)
def test_a_pod_is_stale_once_its_heartbeat_is_older_than_two_intervals(
    state: State, interval: float, age: float, expected: str
) -> None:
    assert health(status(state=state, heartbeat_seconds=interval), age) == expected


def test_each_pod_is_shown_once_with_its_newest_heartbeat_in_order() -> None:
    older = status(pod="b-pod", completed=1)
    newer = status(pod="b-pod", completed=2)
    other = status(pod="a-pod", executor="analytics-executor")
    fleet = pods(
        [
            (older, NOW - timedelta(seconds=20)),
            (other, NOW - timedelta(seconds=1)),
            (newer, NOW - timedelta(seconds=4)),
        ],
        NOW,
    )

    assert [(p.status.executor, p.status.pod, p.status.completed) for p in fleet] == [
        ("analytics-executor", "a-pod", 120),
        ("deepagents-executor", "b-pod", 2),
    ]
    assert [p.age_seconds for p in fleet] == [1.0, 4.0]


def test_an_executors_totals_leave_out_stopped_pods_and_stale_pods_load() -> None:
    fleet = [
        Pod(status(pod="p1", in_flight=2, jobs_per_minute=1.5, completed=10), 3),
        Pod(status(pod="p2", in_flight=5, jobs_per_minute=9, completed=7), 99),  # stale
        Pod(status(pod="p3", state="stopped", completed=100), 5),
    ]
    (summary,) = summaries(fleet)

    assert (summary.pods, summary.healthy, summary.stale) == (2, 1, 1)
    # A stale pod's last load is not load now; its counts still happened.
    assert (summary.in_flight, summary.concurrency, summary.jobs_per_minute) == (2, 8, 1.5)
    assert (summary.completed, summary.failed, summary.tokens_today) == (17, 8, 96000)


@pytest.mark.parametrize(
    ("fleet", "expected"),
    [
        ([], False),
        ([Pod(status(), 3)], True),
        ([Pod(status(), 3), Pod(status(pod="gone", state="stopped"), 900)], True),
        ([Pod(status(), 3), Pod(status(pod="dead"), 45)], False),
        ([Pod(status(state="stopped"), 3)], False),
        ([Pod(status(state="draining"), 3)], False),
    ],
    ids=["empty", "one-healthy", "healthy-and-stopped", "one-stale", "only-stopped", "draining"],
)
def test_the_fleet_is_healthy_when_a_pod_runs_and_none_is_stale(
    fleet: list[Pod], expected: bool
) -> None:
    assert all_healthy(fleet) is expected


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0, "0s"),
        (59.9, "59s"),
        (60, "1m"),
        (3599, "59m"),
        (3600, "1h00m"),
        (7500, "2h05m"),
        (90000, "1d01h"),
    ],
)
def test_ages_are_short(seconds: float, shown: str) -> None:
    assert duration(seconds) == shown


def test_the_table_shows_each_pod_and_a_line_per_executor() -> None:
    fleet = [
        Pod(status(pod="deepagents-executor-7d9f8-x2k4p"), 5),
        Pod(status(pod="deepagents-executor-7d9f8-q8w2e", in_flight=0, jobs_per_minute=0), 47),
    ]
    lines = table(fleet, NOW).splitlines()

    assert lines[0].split() == [
        "EXECUTOR",
        "POD",
        "HEALTH",
        "BEAT",
        "IN-FLIGHT",
        "JOBS/MIN",
        "DONE",
        "FAILED",
        "TOKENS",
        "TODAY",
        "UPTIME",
        "IDLE",
        "VERSION",
    ]
    assert lines[1].split() == [
        "deepagents-executor",
        "deepagents-executor-7d9f8-x2k4p",
        "healthy",
        "5s",
        "ago",
        "3/8",
        "2.5",
        "120",
        "4",
        "48,000",
        "2h00m",
        "busy",
        "0.4.2",
    ]
    assert lines[2].split()[2:4] == ["stale", "47s"]
    assert lines[2].split()[-2] == "5s"  # idle since its last activity
    assert lines[-1] == (
        "intelligence-deepagents/deepagents-executor: 1/2 pods healthy, 1 stale, "
        "3/8 in flight, 2.5 jobs/min, 240 done, 8 failed, 96,000 tokens today"
    )


def test_an_empty_fleet_says_so() -> None:
    assert table([], NOW) == "no worker has published a heartbeat in the last hour\n"


def test_the_json_carries_every_pod_with_health_and_age_and_the_verdict() -> None:
    document = as_json([Pod(status(), 5), Pod(status(pod="dead"), 45)])

    assert [(p["pod"], p["health"], p["age_seconds"]) for p in document["pods"]] == [
        ("deepagents-executor-7d9f8-x2k4p", "healthy", 5),
        ("dead", "stale", 45),
    ]
    assert document["pods"][0]["tokens_today"] == 48000
    assert document["executors"][0]["stale"] == 1
    assert document["healthy"] is False
