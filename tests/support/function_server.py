"""Start the function as a real server process on a free port, for tests."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
_PORT = re.compile(r'"port": (\d+)')


@contextmanager
def function_server(
    *flags: str, env: dict[str, str] | None = None, output: list[str] | None = None
) -> Iterator[int]:
    """Run `python -m functions.agent_executor` with `flags` and yield its port; `output`, when
    given, fills with every line the server printed (the rest at exit)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "functions.agent_executor", "--address", "127.0.0.1:0", *flags],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    lines = output if output is not None else []
    try:
        deadline = time.monotonic() + 60
        port = None
        while time.monotonic() < deadline and port is None:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            match = _PORT.search(line)
            port = int(match.group(1)) if match else None
        assert port is not None, "the function server did not report its port"
        yield port
    finally:
        proc.terminate()
        rest, _ = proc.communicate(timeout=10)
        lines.append(rest)
