"""The worker's side of a sandboxed run: start the supervisor, bound its time, read its report."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import signal
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from workers.agent_executor.agent.sandbox.access import interpreter_exposures, sandbox_user
from workers.agent_executor.agent.sandbox.hardening import make_non_dumpable
from workers.agent_executor.agent.sandbox.limits import DEFAULT_LIMITS, SandboxLimits

SUPERVISOR = Path(__file__).with_name("supervisor.py")
STDERR_TAIL_BYTES = 8_000
# The supervisor enforces the time limit itself; the worker waits this much longer before it
# stops trusting the supervisor and kills it.
BACKSTOP_SECONDS = 5.0
# After a cancellation, how long the supervisor gets to kill the script before it is killed.
STOP_GRACE_SECONDS = 2.0

Outcome = Literal["exited", "timeout", "output_limit", "terminated", "setup_failed", "lost"]


@dataclass(frozen=True)
class SandboxResult:
    """How a sandboxed run ended, its stdout (at most the cap) and the tail of its stderr."""

    outcome: Outcome
    exit_code: int | None = None  # negative: killed by that signal
    stdout: bytes = b""
    stderr: bytes = b""
    message: str = ""


def _clean_env(workdir: str) -> dict[str, str]:
    """The whole environment a script gets: nothing of the worker's (no secrets)."""
    return {
        "PATH": os.defpath,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "HOME": workdir,
        "TMPDIR": workdir,
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def _config(
    argv: Sequence[str], workdir: str, time_limit: float, limits: SandboxLimits
) -> dict[str, object]:
    user = sandbox_user(os.geteuid())
    return {
        "argv": list(argv),
        "env": _clean_env(workdir),
        "cwd": workdir,
        "time_limit": time_limit,
        "limits": {
            "cpu_seconds": limits.cpu_for(time_limit),
            "memory_bytes": limits.memory_bytes,
            "processes": limits.processes,
            "file_bytes": limits.file_bytes,
            "open_files": limits.open_files,
            "output_bytes": limits.output_bytes,
        },
        "stderr_tail_bytes": STDERR_TAIL_BYTES,
        "user": None if user is None else [user.uid, user.gid],
        "expose": interpreter_exposures() if user is not None else {},
        "parent": os.getpid(),
    }


def _stdin_file(data: bytes) -> int:
    """A memory file holding `data`: the script reads it as stdin, and nobody blocks writing."""
    fd = os.memfd_create("tool-script-stdin")
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def _parse(stdout: bytes, stderr: bytes) -> SandboxResult:
    try:
        report = json.loads(stdout)
    except ValueError:
        detail = stderr.decode(errors="replace").strip()[-STDERR_TAIL_BYTES:]
        return SandboxResult("lost", message=f"the supervisor failed: {detail or 'no report'}")
    return SandboxResult(
        outcome=report["outcome"],
        exit_code=report.get("exit_code"),
        stdout=base64.b64decode(report.get("stdout", "")),
        stderr=base64.b64decode(report.get("stderr", "")),
        message=report.get("message", ""),
    )


def _signal(proc: asyncio.subprocess.Process, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(proc.pid, signum)


async def _stop(proc: asyncio.subprocess.Process) -> None:
    """Ask the supervisor to kill the script and exit; kill it if it does not in time."""
    _signal(proc, signal.SIGTERM)
    try:
        await asyncio.wait_for(proc.wait(), STOP_GRACE_SECONDS)
    except TimeoutError:
        _signal(proc, signal.SIGKILL)
        await proc.wait()


async def run_sandboxed(
    argv: Sequence[str], stdin: bytes, time_limit: float, limits: SandboxLimits = DEFAULT_LIMITS
) -> SandboxResult:
    """Run `argv` (argv[0] an absolute path) in the sandbox with `stdin` as its input."""
    # Normally done at startup; repeated here so no caller can start a script without it.
    make_non_dumpable()
    with tempfile.TemporaryDirectory(prefix="tool-script-", ignore_cleanup_errors=True) as work:
        config = _config(argv, work, time_limit, limits)
        stdin_fd = _stdin_file(stdin)
        try:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-I",
                "-S",
                str(SUPERVISOR),
                json.dumps(config),
                stdin=stdin_fd,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=work,
                env=_clean_env(work),
                start_new_session=True,
            )
        finally:
            os.close(stdin_fd)
        try:
            # Only the supervisor holds these pipes, and what it writes is bounded by the caps.
            out, err = await asyncio.wait_for(proc.communicate(), time_limit + BACKSTOP_SECONDS)
        except TimeoutError:
            await _stop(proc)
            return SandboxResult("lost", message="the supervisor did not report in time")
        except BaseException:
            # Cancelled (job cancelled, shutdown): the script must not outlive the job.
            await asyncio.shield(_stop(proc))
            raise
    return _parse(out, err)
