"""Running `agentplane` as a subprocess, as a producer or an operator runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent

# Variables the CLI would read as defaults: a test names every server itself.
_CLI_ENV = ("AGENTPLANE_API_URL", "AGENTPLANE_API_TOKEN", "NATS_URL", "REDIS_URL", "NATS_CREDS")


def cli_env(**extra: str) -> dict[str, str]:
    """The test process's environment without the CLI's defaults, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if k not in _CLI_ENV}
    return {**env, **extra}


def agentplane(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `agentplane` to the end."""
    return subprocess.run(
        [sys.executable, "-m", "functions.render", *args],
        cwd=ROOT,
        env=env or cli_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def start_agentplane(*args: str) -> subprocess.Popen[str]:
    """Start `agentplane`; its stdout is read line by line as it runs."""
    return subprocess.Popen(
        [sys.executable, "-m", "functions.render", *args],
        cwd=ROOT,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every line of `--json` output, parsed (each one must be JSON)."""
    return [json.loads(line) for line in text.splitlines()]


def read_until(proc: subprocess.Popen[str], wanted: str) -> list[str]:
    """Lines of a running `agentplane` up to the first that contains `wanted`."""
    assert proc.stdout is not None
    lines: list[str] = []
    for line in proc.stdout:
        lines.append(line)
        if wanted in line:
            return lines
    raise AssertionError(f"{wanted!r} never came; output: {''.join(lines)}")


def write(path: Path, text: str) -> Path:
    """Write `text` to `path`; return the path."""
    path.write_text(text)
    return path
