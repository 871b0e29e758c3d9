"""The small chaos run: 100 jobs, 3 workers, a few SIGKILLs and one NATS restart.

`make chaos` runs the big one; see `scripts/chaos.py` for what is counted and the exact rule
for LLM calls a kill may repeat.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts.chaos import run_chaos

pytestmark = pytest.mark.slow


@pytest.mark.timeout(240)
def test_sigkills_and_a_nats_restart_lose_nothing_and_repeat_only_the_calls_in_flight(
    tmp_path: Path,
) -> None:
    report = run_chaos(
        jobs=100,
        workers=3,
        seed=7,
        kill_every=1.0,
        max_kills=3,
        deadline=120,
        log_dir=tmp_path,
    )
    summary = report.render()

    # The chaos really happened while jobs were in flight.
    assert report.kills >= 2, summary
    assert report.nats_restarts == 1, summary
    assert report.redeliveries > 0, summary
    # Every job has exactly one result, and it is the right one.
    assert report.lost == 0, summary
    assert report.duplicated == 0, summary
    assert report.wrong_results == 0, summary
    assert report.completed == report.jobs, summary
    # A kill repeats at most the one LLM call in flight of each job running on that worker.
    assert report.repeated_beyond_allowance == 0, summary
    assert report.ok, summary
