"""The function image's HEALTHCHECK command against the real server and a port nobody serves."""

from __future__ import annotations

import subprocess
import sys

from testbed.servers import free_port
from tests.support.function_server import ROOT, function_server


def _healthcheck(port: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "functions.agent_executor.healthcheck", "--port", str(port)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_the_healthcheck_passes_while_the_function_serves() -> None:
    with function_server("--insecure") as port:
        assert _healthcheck(port).returncode == 0


def test_the_healthcheck_fails_naming_the_port_when_nothing_serves_it() -> None:
    port = free_port()
    result = _healthcheck(port)
    assert result.returncode == 1
    assert f"127.0.0.1:{port}" in result.stderr
