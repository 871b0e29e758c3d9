"""The worker image's HEALTHCHECK command (`python -m workers.agent_executor.healthcheck`)
against a real worker: healthy, ready, and a port nobody serves."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

from testbed.servers import free_port
from testbed.worker import Worker
from tests.conftest import ROOT


def _healthcheck(port: int, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "workers.agent_executor.healthcheck", *args],
        cwd=ROOT,
        env={"PORT": str(port)},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_the_healthcheck_passes_for_a_live_and_ready_worker(
    start_worker: Callable[..., Worker],
) -> None:
    worker = start_worker()
    assert _healthcheck(worker.port).returncode == 0
    assert _healthcheck(worker.port, "--ready").returncode == 0


def test_the_healthcheck_fails_naming_the_probe_when_nothing_answers() -> None:
    port = free_port()
    result = _healthcheck(port)
    assert result.returncode == 1
    assert f"http://127.0.0.1:{port}/health" in result.stderr
