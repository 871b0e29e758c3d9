"""`python -m workers.agent_executor`: the worker (HTTP + JetStream consumer)."""

from __future__ import annotations

import argparse
import contextlib
import sys
from types import FrameType

import uvicorn
from pydantic import ValidationError

from workers.agent_executor.agent.sandbox.hardening import make_non_dumpable
from workers.agent_executor.draining import Draining
from workers.agent_executor.logs import configure
from workers.agent_executor.settings import Settings


def prune_command(argv: list[str]) -> int:
    """`prune --older-than 7d [--batch-size N] [--dry-run]`: the retention job."""
    from workers.agent_executor.retention import parse_age, prune

    parser = argparse.ArgumentParser(prog="python -m workers.agent_executor prune")
    parser.add_argument("--older-than", required=True, help="age of finished jobs, e.g. 7d, 12h")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--dry-run", action="store_true", help="count, delete nothing")
    args = parser.parse_args(argv)
    try:
        age = parse_age(args.older_than)
    except ValueError as exc:
        parser.error(str(exc))
    try:
        settings = Settings()
    except ValidationError as exc:
        print(f"agent-executor prune: invalid configuration: {_describe(exc)}", file=sys.stderr)
        return 2
    configure(settings.LOG_LEVEL, settings.OTEL_SERVICE_NAME)
    report = prune(settings.postgres_dsn, age, args.batch_size, args.dry_run)
    verb = "would delete" if args.dry_run else "deleted"
    print(f"prune: {verb} {report.jobs} finished job(s) older than {args.older_than}")
    return 0


def _describe(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors()
    )


# uvicorn.run's exit status for a server that never started (its STARTUP_FAILURE).
STARTUP_FAILURE = 3


class _DrainingServer(uvicorn.Server):
    """uvicorn's server, raising the app's draining flag as soon as a signal asks it to stop.

    uvicorn waits for open responses before it runs the app's shutdown; event streams watch
    the flag and end within seconds, so they never hold up the consumer's drain.
    """

    def __init__(self, config: uvicorn.Config, draining: Draining) -> None:
        super().__init__(config)
        self.draining = draining

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.draining.set()
        super().handle_exit(sig, frame)


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGTERM (uvicorn's shutdown runs the lifespan's drain), or `prune`."""
    # First: tool scripts (our children) must not read our environment's secrets or memory.
    make_non_dumpable()
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["prune"]:
        return prune_command(argv[1:])
    if argv:
        print(f"agent-executor: unknown command {argv[0]!r} (commands: prune)", file=sys.stderr)
        return 2
    try:
        settings = Settings()
    except ValidationError as exc:
        # Report which settings are wrong without echoing their values.
        print(f"agent-executor: invalid configuration: {_describe(exc)}", file=sys.stderr)
        return 2
    configure(settings.LOG_LEVEL, settings.OTEL_SERVICE_NAME)
    from workers.agent_executor.app import create_app

    app = create_app(settings)
    config = uvicorn.Config(
        app,
        # The pod's address only because the Deployment says so (HOST); loopback otherwise.
        host=settings.HOST,
        port=settings.PORT,
        log_config=None,
        access_log=False,
        # Named, not "auto": the deepagents-runtime stream route needs it, and a worker
        # without the websockets package should fail to start rather than refuse upgrades.
        ws="websockets-sansio",
        timeout_graceful_shutdown=int(settings.SHUTDOWN_TIMEOUT_SECONDS) + 5,
    )
    server = _DrainingServer(config, app.state.draining)
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    # As uvicorn.run does: a lifespan that failed (stores, schema) is a failed start.
    return 0 if server.started else STARTUP_FAILURE


if __name__ == "__main__":
    sys.exit(main())
