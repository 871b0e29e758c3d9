"""`make demo` (scripts/demo.py): one job streamed to its result in well under a minute, and
nothing left running afterwards, also when interrupted."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow

DEMO = [sys.executable, str(ROOT / "scripts" / "demo.py")]


def listening_ports(output: str) -> set[int]:
    """The ports of every server the demo named (NATS, Redis, PostgreSQL, model, worker)."""
    return {int(port) for port in re.findall(r"127\.0\.0\.1:(\d+)", output)}


def still_listening(ports: set[int]) -> set[int]:
    open_ports = set()
    for port in ports:
        with socket.socket() as sock:
            sock.settimeout(1)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                open_ports.add(port)
    return open_ports


def test_the_demo_streams_one_job_to_its_result_and_stops_everything() -> None:
    began = time.monotonic()
    proc = subprocess.run(DEMO, capture_output=True, text=True, timeout=120, check=False)
    took = time.monotonic() - began

    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert took < 45, f"the demo took {took:.0f} s"
    out = proc.stdout
    assert "demo: $ agentplane jobs submit --prompt 'Write a haiku" in out
    assert "orchestrator> I'll write the haiku to /haiku.md." in out
    assert '  -> write_file(file_path="/haiku.md", content="Jobs wait in the stream,' in out
    assert "  <- write_file: Updated file /haiku.md\n" in out
    assert "orchestrator> The haiku is in /haiku.md" in out
    assert re.search(r"completed: job job-\w+ in 3 steps\n", out)
    assert "files:\n  /haiku.md (3 lines)\n" in out
    ports = listening_ports(out)
    assert len(ports) == 5, out
    assert still_listening(ports) == set()


def test_ctrl_c_stops_everything_the_demo_started() -> None:
    # Its own session: the signal goes to the whole group, as a terminal's Ctrl-C does.
    proc = subprocess.Popen(
        DEMO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    assert proc.stdout is not None
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if "submitted to NATS" in line:
            os.killpg(proc.pid, signal.SIGINT)
            break
    out = "".join(seen) + proc.communicate(timeout=60)[0]

    assert proc.returncode == 130, out
    assert out.endswith("demo: interrupted; everything is stopped\n")
    ports = listening_ports(out)
    assert len(ports) == 5, out
    assert still_listening(ports) == set()
    leftovers = subprocess.run(
        ["ps", "-o", "pid=,args=", "-s", str(proc.pid)], capture_output=True, text=True, check=False
    )
    assert leftovers.stdout == ""
