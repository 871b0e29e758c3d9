"""Start NATS (JetStream), PostgreSQL and Redis from local binaries for `make run-worker`.

Writes the connection settings to DIR/env and runs until interrupted.
"""

from __future__ import annotations

import signal
import sys
import threading
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from testbed.servers import nats_server, postgres_server, redis_server  # noqa: E402


def main() -> int:
    target = Path(sys.argv[1] if len(sys.argv) > 1 else ".dev")
    target.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with ExitStack() as stack:
        nats = stack.enter_context(nats_server())
        redis = stack.enter_context(redis_server())
        postgres = stack.enter_context(postgres_server())
        env = {
            "NATS_URL": nats.url,
            "NATS_CREATE_STREAMS": "true",
            "REDIS_URL": redis,
            "DATABASE_URL": postgres.url,
        }
        (target / "env").write_text("".join(f"{k}={v}\n" for k, v in env.items()))
        print(f"services up; settings in {target / 'env'}; Ctrl-C stops them", flush=True)
        for key, value in env.items():
            print(f"  {key}={value}", flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
