"""Running a tool_definition's `runtime.script` in the sandbox, only when the operator allows it.

Scripts come from messages, so they run only when `ALLOW_TOOL_SCRIPTS=true`, and then in the
sandbox (`workers.agent_executor.agent.sandbox`): a supervisor process that enforces the time
limit and kills everything the script started, kernel limits, a clean environment, another
user when the worker is root, and a non-dumpable worker so its secrets stay closed.

Two formats (`script_kind`): a stdin script reads JSON arguments on stdin and prints its
result; a tool module (deepagents-runtime's format) defines a LangChain tool or a function,
which `tool_driver` calls with the arguments. `runtime.dependencies` are checked, never
installed: a missing one fails the call with its name.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from workers.agent_executor.agent.ports import ToolScriptError
from workers.agent_executor.agent.sandbox.limits import DEFAULT_LIMITS, SandboxLimits
from workers.agent_executor.agent.sandbox.runner import SandboxResult, run_sandboxed
from workers.agent_executor.agent.script_kind import script_kind
from workers.agent_executor.agent.tool_driver import encode_request

MAX_OUTPUT_CHARS = 100_000
STDERR_TAIL_CHARS = 2_000
DRIVER_SOURCE = (Path(__file__).parent / "tool_driver.py").read_text()
DISABLED_MESSAGE = (
    "Error: tool '{name}' cannot run: tool scripts are disabled on this worker "
    "(ALLOW_TOOL_SCRIPTS=false)."
)
SIGNAL_CAUSES = {
    signal.SIGXCPU: "CPU time limit",
    signal.SIGXFSZ: "file size limit",
    signal.SIGKILL: "killed",
}


def _stderr_tail(result: SandboxResult) -> str:
    return result.stderr.decode("utf-8", errors="replace").strip()[-STDERR_TAIL_CHARS:]


def _failure(result: SandboxResult, time_limit: float) -> str:
    """Why a run that produced no result failed, for the model to read."""
    if result.outcome == "timeout":
        return f"tool script timed out after {time_limit:g} s"
    if result.outcome in ("setup_failed", "lost", "terminated"):
        return f"tool script sandbox failed: {result.message or result.outcome}"
    code = result.exit_code if result.exit_code is not None else -1
    if code < 0:
        signum = signal.Signals(-code)
        cause = SIGNAL_CAUSES.get(signum)
        what = f"{signum.name} ({cause})" if cause else signum.name
        tail = _stderr_tail(result)
        return f"tool script was killed by {what}" + (f": {tail}" if tail else "")
    return f"tool script exited with status {code}: {_stderr_tail(result)}"


def _output(result: SandboxResult) -> str:
    text = result.stdout.decode("utf-8", errors="replace")
    if result.outcome == "output_limit" or len(text) > MAX_OUTPUT_CHARS:
        # Past the byte cap the supervisor stopped reading and stopped the script, so the
        # note gives the cap, not how much more there would have been.
        return text[:MAX_OUTPUT_CHARS] + f"\n[output truncated at {MAX_OUTPUT_CHARS} characters]"
    return text.rstrip("\n")


async def run_script(
    script: str,
    args: Mapping[str, Any],
    time_limit: float,
    *,
    name: str = "tool",
    dependencies: Sequence[str] = (),
    limits: SandboxLimits = DEFAULT_LIMITS,
) -> str:
    """The script's result for `args`, or ToolScriptError (failure, timeout, limit)."""
    header = {
        "mode": script_kind(script),
        "name": name,
        "source": script,
        "dependencies": list(dependencies),
    }
    result = await run_sandboxed(
        [sys.executable, "-I", "-c", DRIVER_SOURCE],
        encode_request(header, args),
        time_limit,
        limits,
    )
    if result.outcome == "output_limit" or (result.outcome == "exited" and result.exit_code == 0):
        return _output(result)
    raise ToolScriptError(_failure(result, time_limit))


async def run_tool_script(
    name: str,
    script: str,
    args: Mapping[str, Any],
    *,
    allowed: bool,
    time_limit: float,
    dependencies: Sequence[str] = (),
) -> str:
    """The tool result text: the script's output, or why it did not run or failed."""
    if not allowed:
        return DISABLED_MESSAGE.format(name=name)
    try:
        return await run_script(script, args, time_limit, name=name, dependencies=dependencies)
    except ToolScriptError as exc:
        return f"Error: tool '{name}' failed: {exc}"
