"""The worker speaks to Dragonfly only in commands Dragonfly serves (seed 004, requirement 3).

CI has no container engine, so the suite's cache is `redis-server`; what keeps that honest is
that the worker's commands are listed in one place (`workers.agent_executor.stores.
REDIS_COMMANDS`), a real server watching a worker (MONITOR) sees no other, and the list is
checked against Dragonfly's documented compatibility table (tests/data/dragonfly/, derived by
scripts/derive_dragonfly_commands.py with its source commit recorded).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from redis import Redis

from testbed.fake_openai import FakeOpenAI, text
from testbed.servers import RedisServer, local_redis_server
from testbed.sse import sse_events
from testbed.worker import Worker, job
from workers.agent_executor.stores import REDIS_COMMANDS

ROOT = Path(__file__).resolve().parents[2]
DRAGONFLY = json.loads((ROOT / "tests" / "data" / "dragonfly" / "commands.json").read_text())
# Commands Dragonfly serves in part; each is listed with why the worker's use is the part served.
PARTIAL_USE = {
    "AUTH": "the worker authenticates with a password only, never with a user name",
}
# Redis's two-word commands: MONITOR shows them as two tokens.
CONTAINER_COMMANDS = {"CLIENT", "CONFIG", "XINFO", "XGROUP", "OBJECT", "MEMORY", "SCRIPT"}


def command_name(line: str) -> str:
    """`CLIENT SETNAME x` → `CLIENT SETNAME`; `PUBLISH a b` → `PUBLISH` (as the table names
    them)."""
    words = line.split()
    name = words[0].upper()
    if name in CONTAINER_COMMANDS and len(words) > 1:
        return f"{name} {words[1].upper()}"
    return name


@pytest.mark.parametrize(
    ("line", "name"),
    [
        ("publish langgraph:stream:j {}", "PUBLISH"),
        ("CLIENT SETINFO LIB-NAME redis-py", "CLIENT SETINFO"),
        ("XADD langgraph:events:j MAXLEN ~ 100 * event {}", "XADD"),
    ],
)
def test_monitor_lines_are_named_as_the_compatibility_table_names_commands(
    line: str, name: str
) -> None:
    assert command_name(line) == name


@pytest.mark.parametrize("command", sorted(REDIS_COMMANDS))
def test_every_command_the_worker_sends_is_one_dragonfly_serves(command: str) -> None:
    support = DRAGONFLY["commands"].get(command)
    assert support == "Fully supported" or (
        support == "Partially supported" and command in PARTIAL_USE
    ), f"{command}: Dragonfly's table says {support!r}"


@dataclass
class Watched:
    """A server and what MONITOR saw other clients send it."""

    server: RedisServer
    seen: list[str] = field(default_factory=list)
    failure: list[BaseException] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def watched_redis() -> Iterator[Watched]:
    """A password-protected server of its own, watched by MONITOR from the start."""
    with local_redis_server(password="cache/pass@word") as server:
        watched = Watched(server)
        # No read timeout: the watch waits as long as the worker is quiet.
        client = Redis(port=server.port, password=server.password, socket_timeout=None)
        monitor = client.monitor()  # type: ignore[no-untyped-call]
        monitor.__enter__()

        def watch() -> None:
            try:
                for event in monitor.listen():
                    watched.seen.append(command_name(event["command"]))
            except Exception as exc:
                if not watched.stopping.is_set():
                    watched.failure.append(exc)

        thread = threading.Thread(target=watch, daemon=True)
        thread.start()
        yield watched
        watched.stopping.set()
        client.close()


def test_a_worker_running_following_and_cleaning_up_a_job_sends_only_the_listed_commands(
    worker_env: dict[str, str],
    watched_redis: Watched,
    fake: FakeOpenAI,
    tmp_path: Path,
) -> None:
    server = watched_redis.server
    # The shape the Deployment gives a worker: DRAGONFLY_* keys of the composed Secret.
    env = {k: v for k, v in worker_env.items() if k != "REDIS_URL"}
    env |= {
        "DRAGONFLY_HOST": "127.0.0.1",
        "DRAGONFLY_PORT": str(server.port),
        "DRAGONFLY_PASSWORD": str(server.password),
    }
    worker = Worker(env).start()
    try:
        fake.script(text("streamed answer"))
        body = job()
        assert httpx.post(f"{worker.url}/jobs", json=body).status_code == 202
        with httpx.stream("GET", f"{worker.url}/jobs/{body['job_id']}/events", timeout=60) as r:
            events = [e.event for e in sse_events(r.iter_lines())]
        assert events[-1] == "end"
        cleanup = f"{worker.url}/deepagents-runtime/cleanup/{body['job_id']}"
        assert httpx.delete(cleanup).status_code in {200, 204}
    finally:
        worker.stop()

    assert watched_redis.failure == []
    sent = set(watched_redis.seen)
    assert sorted(sent - set(REDIS_COMMANDS)) == []
    # What the job, its events and its cleanup must have used: the test saw the traffic.
    assert {"PING", "PUBLISH", "XADD", "EXPIRE", "XRANGE", "DEL"} <= sent


def test_the_dragonfly_command_table_records_its_source_commit() -> None:
    source = DRAGONFLY["source"]
    assert source["repository"] == "dragonflydb/documentation"
    assert len(source["commit"]) == 40 and int(source["commit"], 16) >= 0
    assert DRAGONFLY["commands"]["PUBLISH"] == "Fully supported"
