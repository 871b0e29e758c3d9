"""Tool scripts: run in a subprocess only when allowed, with a time limit and no secrets."""

from __future__ import annotations

import asyncio
import os
import time

import pytest

from workers.agent_executor.agent.ports import ToolScriptError
from workers.agent_executor.agent.scripts import run_script, run_tool_script

ADD = "import json, sys\nargs = json.load(sys.stdin)\nprint(args['x'] + args['y'])"


def test_a_script_reads_json_args_and_its_stdout_is_the_result() -> None:
    assert asyncio.run(run_script(ADD, {"x": 2, "y": 3}, time_limit=10)) == "5"


def test_a_disabled_script_does_not_run() -> None:
    text = asyncio.run(
        run_tool_script(
            "add", "raise SystemExit(3)", {"x": 1, "y": 1}, allowed=False, time_limit=10
        )
    )
    assert "tool scripts are disabled" in text


def test_a_slow_script_is_killed_at_its_time_limit() -> None:
    started = time.monotonic()
    with pytest.raises(ToolScriptError, match=r"timed out after 0\.5 s"):
        asyncio.run(run_script("import time\ntime.sleep(30)", {}, time_limit=0.5))
    assert time.monotonic() - started < 5


def test_a_failing_script_raises_with_its_stderr() -> None:
    with pytest.raises(ToolScriptError, match=r"(?s)status 1: .*ZeroDivisionError"):
        asyncio.run(run_script("1 / 0", {}, time_limit=10))


def test_a_failure_becomes_the_tool_result_text() -> None:
    text = asyncio.run(run_tool_script("div", "1 / 0", {}, allowed=True, time_limit=10))
    assert text.startswith("Error: tool 'div' failed: tool script exited with status 1")


def test_a_script_does_not_see_the_worker_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    script = "import os\nprint(os.environ.get('OPENAI_API_KEY', 'absent'))"
    assert asyncio.run(run_script(script, {}, time_limit=10)) == "absent"
    assert os.environ["OPENAI_API_KEY"] == "sk-secret"


def test_the_event_loop_keeps_running_while_a_script_runs() -> None:
    async def scenario() -> int:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        task = asyncio.create_task(ticker())
        await run_script("import time\ntime.sleep(0.3)", {}, time_limit=10)
        task.cancel()
        return ticks

    assert asyncio.run(scenario()) >= 5
