"""The benchmark's process bookkeeping: which processes it charges CPU to and counts."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from benchmarks.worker_bench import children


@pytest.fixture
def child() -> Iterator[int]:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        yield proc.pid
    finally:
        proc.kill()
        proc.wait()


def test_children_lists_a_process_started_here(child: int) -> None:
    assert child in children(os.getpid())


def test_children_lists_only_direct_children(child: int) -> None:
    assert os.getpid() not in children(os.getpid())
    assert children(child) == []


def test_children_of_a_process_that_is_gone_is_empty() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    assert children(proc.pid) == []
