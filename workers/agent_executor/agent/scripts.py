"""Running a tool_definition's `runtime.script` in a subprocess with a time limit.

The script is Python source run as `python -I -c <script>`: it reads its arguments as JSON on
stdin and prints its result to stdout. It runs in an empty temporary directory with a minimal
environment (no worker secrets), in its own process group so a timeout kills its children too.
Scripts come from messages, so they run only when the operator set `ALLOW_TOOL_SCRIPTS=true`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import tempfile
from collections.abc import Mapping
from typing import Any

from workers.agent_executor.agent.ports import ToolScriptError

MAX_OUTPUT_CHARS = 100_000
STDERR_TAIL_CHARS = 2_000
DISABLED_MESSAGE = (
    "Error: tool '{name}' cannot run: tool scripts are disabled on this worker "
    "(ALLOW_TOOL_SCRIPTS=false)."
)


def _script_env() -> dict[str, str]:
    return {
        "PATH": os.defpath,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONIOENCODING": "utf-8",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def _kill_group(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        proc.kill()


def _truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n[output truncated: {len(text) - limit} more characters]"


async def run_script(script: str, args: Mapping[str, Any], time_limit: float) -> str:
    """Run `script` with `args` on stdin; its stdout, or ToolScriptError (failure, timeout)."""
    stdin = json.dumps(dict(args)).encode()
    with tempfile.TemporaryDirectory(prefix="tool-script-") as workdir:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-I",
            "-c",
            script,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=workdir,
            env=_script_env(),
            start_new_session=True,
        )
        try:
            stdout, stderr = await asyncio.wait_for(proc.communicate(stdin), time_limit)
        except TimeoutError:
            _kill_group(proc)
            await proc.wait()
            raise ToolScriptError(f"tool script timed out after {time_limit:g} s") from None
        except BaseException:
            # Cancelled (shutdown) or anything else: never leave the child running.
            _kill_group(proc)
            await proc.wait()
            raise
        finally:
            # Children the script left behind in its process group.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
    out = stdout.decode("utf-8", errors="replace")
    if proc.returncode != 0:
        err = stderr.decode("utf-8", errors="replace").strip()
        raise ToolScriptError(
            f"tool script exited with status {proc.returncode}: {err[-STDERR_TAIL_CHARS:]}"
        )
    return _truncate(out.rstrip("\n"), MAX_OUTPUT_CHARS)


async def run_tool_script(
    name: str, script: str, args: Mapping[str, Any], *, allowed: bool, time_limit: float
) -> str:
    """The tool result text: the script's output, or why it did not run or failed."""
    if not allowed:
        return DISABLED_MESSAGE.format(name=name)
    try:
        return await run_script(script, args, time_limit)
    except ToolScriptError as exc:
        return f"Error: tool '{name}' failed: {exc}"
