"""The tool-script sandbox, with real processes: secrets, detached children, limits, output.

Scripts carry a unique marker in their source; every process running a stdin script has the
source in its command line (`python -I -c <source>`), forked children included, so "no process
with the marker" means nothing the script started is left.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import secrets
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import ROOT
from workers.agent_executor.agent.ports import ToolScriptError
from workers.agent_executor.agent.sandbox.access import NOBODY_ID
from workers.agent_executor.agent.sandbox.limits import SandboxLimits
from workers.agent_executor.agent.scripts import MAX_OUTPUT_CHARS, run_script


def _marked(source: str) -> tuple[str, str]:
    marker = f"sandbox-test-{uuid.uuid4().hex}"
    return f"# {marker}\n{source}", marker


def _running(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker.encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def _run(script: str, time_limit: float = 20, **limits: int) -> str:
    return asyncio.run(run_script(script, {}, time_limit, limits=SandboxLimits(**limits)))


# --- secrets ---------------------------------------------------------------------------------

# Looks for the worker's secrets everywhere a same-machine process could: its own environment,
# the environ, command line and memory of every ancestor, and every environ in /proc.
PROBE = r"""
import json, os
found = {"os.environ": dict(os.environ)}

def parent_of(pid):
    with open(f"/proc/{pid}/stat", "rb") as f:
        data = f.read()
    return int(data[data.rindex(b")") + 2:].split()[1])

def env_region(pid):
    with open(f"/proc/{pid}/stat", "rb") as f:
        data = f.read()
    fields = data[data.rindex(b")") + 2:].split()
    start, end = int(fields[47]), int(fields[48])
    with open(f"/proc/{pid}/mem", "rb") as mem:
        mem.seek(start)
        return mem.read(end - start).decode(errors="replace")

def grab(label, read):
    try:
        found[label] = read()
    except (OSError, ValueError) as exc:
        found[label] = f"unreadable: {type(exc).__name__}"

pid = os.getpid()
while pid > 1:
    pid = parent_of(pid)
    grab(f"{pid}/environ", lambda p=pid: open(f"/proc/{p}/environ", "rb").read().decode())
    grab(f"{pid}/cmdline", lambda p=pid: open(f"/proc/{p}/cmdline", "rb").read().decode())
    grab(f"{pid}/mem", lambda p=pid: env_region(p))
for entry in os.listdir("/proc"):
    try:
        text = open(f"/proc/{entry}/environ", "rb").read().decode(errors="replace")
    except OSError:
        continue
    if "OPENAI_API_KEY" in text or "DATABASE_URL" in text:
        found[f"{entry}/environ (walk)"] = text
print(json.dumps(found))
"""

# Stands in for the worker: secrets in its real (exec-time) environment, non-dumpable as the
# worker makes itself, running the probe in the sandbox.
WORKER = """
import asyncio, sys
from workers.agent_executor.agent.sandbox.hardening import make_non_dumpable
from workers.agent_executor.agent.scripts import run_script
make_non_dumpable()
print(asyncio.run(run_script(sys.stdin.read(), {}, 30)))
"""

# The same parent without any of that: a plain child with an empty environment.
UNPROTECTED = """
import subprocess, sys
subprocess.run([sys.executable, "-I", "-c", sys.stdin.read()], env={}, check=True)
"""


def _probe_from(parent: str) -> tuple[str, dict[str, str]]:
    key = f"sk-secret-{secrets.token_hex(12)}"
    password = secrets.token_hex(12)
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "OPENAI_API_KEY": key,
        "DATABASE_URL": f"postgresql://agent:{password}@db:5432/agents",
    }
    done = subprocess.run(
        [sys.executable, "-c", parent],
        input=PROBE,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
        check=True,
    )
    return done.stdout, {"key": key, "password": password}


def test_the_probe_finds_the_secrets_of_an_unprotected_parent() -> None:
    out, found = _probe_from(UNPROTECTED)
    assert found["key"] in out
    assert found["password"] in out


def test_a_script_cannot_read_the_workers_secrets() -> None:
    out, hidden = _probe_from(WORKER)
    places = json.loads(out)
    assert places["os.environ"]  # the probe ran and reported
    assert hidden["key"] not in out
    assert hidden["password"] not in out


def test_a_root_worker_runs_scripts_as_nobody_and_others_as_themselves() -> None:
    uid = _run("import os\nprint(os.getuid())")
    assert int(uid) == (NOBODY_ID if os.geteuid() == 0 else os.geteuid())


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


# --- children that detach -------------------------------------------------------------------

DETACH = """
import os, sys, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(3600)  # holds the script's stdout and stderr open
    os._exit(0)
print("detached")
"""


def test_a_script_that_leaves_a_detached_child_returns_when_it_exits() -> None:
    script, _ = _marked(DETACH)
    started = time.monotonic()
    assert _run(script, time_limit=5) == "detached"
    assert time.monotonic() - started < 3


def test_a_detached_child_does_not_outlive_the_script() -> None:
    script, marker = _marked(DETACH)
    _run(script, time_limit=5)
    assert _running(marker) == []


def test_a_detached_child_of_a_script_that_times_out_is_killed_with_it() -> None:
    script, marker = _marked(DETACH + "time.sleep(3600)\n")
    started = time.monotonic()
    with pytest.raises(ToolScriptError, match=r"timed out after 1 s"):
        _run(script, time_limit=1)
    assert time.monotonic() - started < 4
    assert _running(marker) == []


def test_a_cancelled_run_leaves_no_process_behind() -> None:
    script, marker = _marked(DETACH + "time.sleep(3600)\n")

    async def scenario() -> None:
        task = asyncio.create_task(run_script(script, {}, 30))
        await asyncio.sleep(1)
        assert _running(marker), "the script should be running by now"
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    assert _running(marker) == []


# --- limits ---------------------------------------------------------------------------------

FORK_BOMB = """
import os, time
forked = 0
for _ in range(1000):  # bounded: at worst 1000 sleeping processes, killed at the end
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        time.sleep(60)
        os._exit(0)
    forked += 1
print(forked)
"""


def test_a_fork_bomb_is_stopped_by_the_process_limit() -> None:
    script, marker = _marked(FORK_BOMB)
    forked = int(_run(script, processes=20))
    assert 0 < forked <= 20
    assert _running(marker) == []


def test_the_process_limit_is_the_scripts_not_the_workers() -> None:
    before = resource.getrlimit(resource.RLIMIT_NPROC)
    _run("print('ok')", processes=5)
    assert resource.getrlimit(resource.RLIMIT_NPROC) == before


def test_a_script_writing_a_huge_file_is_stopped_by_the_file_size_limit() -> None:
    script = (
        "with open('big', 'wb') as f:\n"
        "    for _ in range(64):\n"
        "        f.write(b'x' * 65536)\n"  # 4 MiB
        "print('written')\n"
    )
    with pytest.raises(ToolScriptError, match=r"(?s)status 1: .*File too large"):
        _run(script, file_bytes=1024 * 1024)


def test_a_script_allocating_too_much_memory_fails_cleanly() -> None:
    script = "data = bytearray(512 * 1024 * 1024)\nprint(len(data))"
    with pytest.raises(ToolScriptError, match=r"(?s)status 1: .*MemoryError"):
        _run(script, memory_bytes=256 * 1024 * 1024)


def test_a_busy_script_is_stopped_by_the_cpu_limit() -> None:
    with pytest.raises(ToolScriptError, match=r"killed by SIGXCPU \(CPU time limit\)"):
        _run("while True:\n    pass", time_limit=20, cpu_seconds=1)


def test_a_script_cannot_open_more_files_than_its_limit() -> None:
    script = (
        "handles = []\n"
        "try:\n"
        "    while len(handles) < 1000:\n"
        "        handles.append(open('/dev/null'))\n"
        "except OSError:\n"
        "    pass\n"
        "print(len(handles))\n"
    )
    assert int(_run(script, open_files=32)) < 32


# --- output ---------------------------------------------------------------------------------


def test_output_beyond_the_cap_is_truncated_with_a_note_and_the_script_stopped() -> None:
    script, marker = _marked("import sys\nwhile True:\n    sys.stdout.write('x' * 65536)\n")
    started = time.monotonic()
    text = _run(script, time_limit=30)
    assert text == "x" * MAX_OUTPUT_CHARS + f"\n[output truncated at {MAX_OUTPUT_CHARS} characters]"
    assert time.monotonic() - started < 10
    assert _running(marker) == []
