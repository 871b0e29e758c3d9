"""`python -m workers.agent_executor`: the worker (HTTP + JetStream consumer)."""

from __future__ import annotations

import sys

import uvicorn
from pydantic import ValidationError

from workers.agent_executor.logs import configure
from workers.agent_executor.settings import Settings


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGTERM; uvicorn's shutdown runs the lifespan's drain."""
    del argv
    try:
        settings = Settings()
    except ValidationError as exc:
        # Report which settings are wrong without echoing their values.
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        print(f"agent-executor: invalid configuration: {problems}", file=sys.stderr)
        return 2
    configure(settings.LOG_LEVEL)
    from workers.agent_executor.app import create_app

    uvicorn.run(
        create_app(settings),
        host="0.0.0.0",  # noqa: S104 - the pod's port; NetworkPolicy restricts who reaches it
        port=settings.PORT,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=int(settings.SHUTDOWN_TIMEOUT_SECONDS) + 5,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
