"""`python -m functions.agent_executor`: serve the composition function over gRPC."""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys

from crossplane.function import logging

from functions.agent_executor.function import AgentExecutorFunction, warm_up
from functions.agent_executor.server import ServerConfigError, build_server, serve


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line flags, with TLS_SERVER_CERTS_DIR as the certificates' fallback."""
    parser = argparse.ArgumentParser(
        prog="function-agent-executor",
        description="Crossplane composition function for AgentExecutor, PostgresInstance "
        "and DragonflyInstance.",
    )
    parser.add_argument(
        "--address", default="0.0.0.0:9443", help="listen address (port 0: any free port)"
    )
    parser.add_argument(
        "--tls-certs-dir",
        default=os.environ.get("TLS_SERVER_CERTS_DIR"),
        help="directory with tls.crt, tls.key and ca.crt for mTLS [env TLS_SERVER_CERTS_DIR]",
    )
    parser.add_argument("--insecure", action="store_true", help="serve without TLS (local render)")
    parser.add_argument("--debug", "-d", action="store_true", help="human-readable debug logs")
    return parser.parse_args(argv)


async def run(args: argparse.Namespace) -> int:
    """Build, start and serve until signalled; the server must be made inside the loop."""
    log = logging.get_logger()
    try:
        server, port = build_server(
            AgentExecutorFunction(),
            args.address,
            tls_certs_dir=None if args.insecure else args.tls_certs_dir,
            insecure=args.insecure,
        )
    except (ServerConfigError, OSError, RuntimeError) as exc:
        print(f"function-agent-executor: {exc}", file=sys.stderr)
        return 2
    await server.start()
    warm_up()
    # Everything imported so far lives for the whole process; keeping it out of
    # the collector's scans shortens the pauses that show up in p99 latency.
    gc.freeze()
    host = args.address.rsplit(":", 1)[0]
    # Tools that start the function on port 0 read the bound port from this line.
    log.info("serving", address=f"{host}:{port}", port=port, tls=not args.insecure)
    await serve(server)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = parse_args(argv)
    logging.configure(logging.Level.DEBUG if args.debug else logging.Level.INFO)
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
