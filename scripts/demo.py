"""`make demo`: the newcomer's first minute with the product.

Starts NATS (JetStream), Redis and PostgreSQL from local binaries, applies the migrations as the
init container does, serves a fake OpenAI-compatible model scripted with a short agent run (it
writes a file with `write_file`, then answers), starts a worker, and submits one job with
`agentplane jobs submit --prompt ... --follow`, which shows it stream to its result. No API key,
no network, no cluster; about ten seconds. Everything it started is stopped when it ends,
also on Ctrl-C.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from testbed.database import migrate  # noqa: E402
from testbed.fake_openai import FakeOpenAI, ToolCall, fake_openai, text, tool_calls  # noqa: E402
from testbed.servers import (  # noqa: E402
    ServerError,
    local_nats_server,
    local_postgres_server,
    local_redis_server,
)
from testbed.worker import Worker  # noqa: E402

PROMPT = "Write a haiku about job queues to /haiku.md, then tell me where it is."
HAIKU = "Jobs wait in the stream,\none worker takes each in turn;\nthe queue empties out."
# A pause before each answer, so the steps can be watched as they happen.
THINKING_SECONDS = 0.8


def script_agent_run(fake: FakeOpenAI) -> None:
    """Two model calls: a tool call with deepagents' argument names, then the final answer."""
    fake.script(
        tool_calls(
            ToolCall("write_file", {"file_path": "/haiku.md", "content": HAIKU}),
            content="I'll write the haiku to /haiku.md.",
            usage=(180, 42),
            latency=THINKING_SECONDS,
        ),
        text(
            "The haiku is in /haiku.md: three lines on jobs waiting in a stream "
            "until a worker takes them.",
            usage=(240, 25),
            chunks=12,
            latency=THINKING_SECONDS,
        ),
    )


def say(message: str) -> None:
    """A line of the demo's own, told apart from the CLI's output."""
    print(f"demo: {message}", flush=True)


def run(stack: ExitStack) -> int:
    """Start everything (each stop registered on `stack`), then submit and follow one job."""
    began = time.monotonic()
    say("starting NATS (JetStream), Redis and PostgreSQL from local binaries")
    nats = stack.enter_context(local_nats_server())
    redis = stack.enter_context(local_redis_server())
    postgres = stack.enter_context(local_postgres_server())
    migrate(postgres.url)
    say(f"  NATS {nats.url}, Redis {redis.url}, PostgreSQL {postgres.url} (migrated)")

    fake = stack.enter_context(fake_openai())
    script_agent_run(fake)
    say(f"fake OpenAI-compatible model at {fake.base_url}: write_file, then an answer")

    logs = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="demo-worker-")))
    worker = Worker(
        {
            "NATS_URL": nats.url,
            "NATS_CREATE_STREAMS": "true",
            "REDIS_URL": redis.url,
            "DATABASE_URL": postgres.url,
            "OPENAI_BASE_URL": fake.base_url,
            "OPENAI_API_KEY": "not-a-real-key",
            "WORKER_LOG_DIR": str(logs),
        }
    )
    stack.callback(worker.stop)
    say("starting a worker")
    worker.start()
    say(f"  worker ready at {worker.url} ({time.monotonic() - began:.1f} s since the start)")

    command = ["jobs", "submit", "--prompt", PROMPT, "--follow"]
    command += ["--nats", nats.url, "--redis", redis.url]
    say(f"$ agentplane {shlex.join(command)}")
    print(flush=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTPLANE_")}
    cli = subprocess.run(
        [sys.executable, "-m", "functions.render", *command], cwd=ROOT, env=env, check=False
    )
    print(flush=True)
    say(f"agentplane exited {cli.returncode}; {time.monotonic() - began:.1f} s in all")
    return cli.returncode


def main() -> int:
    """Run the demo; whatever happens, stop every server and the worker before returning."""
    # Ctrl-C stops the demo however it was started: a shell without job control starts
    # background commands with SIGINT ignored, and the servers, the worker and the CLI would
    # inherit that. With a handler here, what the demo starts gets the default action again.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with ExitStack() as stack:
            try:
                return run(stack)
            finally:
                say("stopping the worker, the model and the servers")
    except KeyboardInterrupt:
        say("interrupted; everything is stopped")
        return 130
    except (ServerError, RuntimeError) as exc:
        say(f"could not start: {exc}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
