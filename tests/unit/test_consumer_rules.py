"""Small pure rules of the consumer: whom a cancel names, how often to say in-progress."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from workers.agent_executor.consumer import cancel_target, heartbeat_interval


def _msg(subject: str, data: bytes) -> Any:
    return SimpleNamespace(subject=subject, data=data)


@pytest.mark.parametrize(
    ("subject", "data", "target"),
    [
        ("agent.control.cancel.job-1", b"", "job-1"),
        ("agent.control.cancel.job_1", json.dumps({"job_id": "job.1"}).encode(), "job.1"),
        ("agent.control.cancel.x", json.dumps({"job_id": "a\x00b"}).encode(), "x"),
        ("agent.control.cancel.x", b"[" * 5000, "x"),
        ("agent.control.cancel.", b"", None),
        ("agent.control.cancel.x", json.dumps({"job_id": ""}).encode(), "x"),
    ],
)
def test_cancel_target_is_a_valid_job_id_or_none(
    subject: str, data: bytes, target: str | None
) -> None:
    assert cancel_target(_msg(subject, data)) == target


@pytest.mark.parametrize(
    ("configured", "ack_wait", "interval"),
    [(15, 120, 15), (15, 30, 10), (1, 4, 1), (15, None, 15), (15, 0, 15)],
)
def test_heartbeats_stay_well_inside_the_ack_wait(
    configured: float, ack_wait: float | None, interval: float
) -> None:
    assert heartbeat_interval(configured, ack_wait) == interval
