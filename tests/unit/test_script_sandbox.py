"""The tool-script sandbox, with real processes."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_the_worker_entry_point_makes_itself_non_dumpable_first() -> None:
    program = (
        "from workers.agent_executor.__main__ import main\n"
        "from workers.agent_executor.agent.sandbox.hardening import is_dumpable\n"
        "before = is_dumpable()\n"
        "main(['no-such-command'])\n"
        "print(before, is_dumpable())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert done.stdout.split() == ["True", "False"]
