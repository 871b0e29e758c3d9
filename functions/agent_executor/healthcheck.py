"""`python -m functions.agent_executor.healthcheck [--port N]`: the function image's HEALTHCHECK.

Exit 0 when the function's gRPC port accepts a TCP connection on loopback, 1 otherwise, using
only the standard library (the image has no curl or grpc_health_probe). In a cluster
Crossplane serves the port with mutual TLS and Kubernetes probes the pod itself; this serves
`docker run` and compose, where a connection accepted is what "up" can mean without the
client certificate Crossplane holds.
"""

from __future__ import annotations

import argparse
import socket
import sys

DEFAULT_PORT = 9443


def main(argv: list[str] | None = None) -> int:
    """Connect once; print why on failure (Docker keeps the output with the health status)."""
    parser = argparse.ArgumentParser(description="probe the function's gRPC port")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--timeout", type=float, default=3.0)
    args = parser.parse_args(argv)
    try:
        with socket.create_connection(("127.0.0.1", args.port), timeout=args.timeout):
            return 0
    except OSError as exc:
        print(f"127.0.0.1:{args.port}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
