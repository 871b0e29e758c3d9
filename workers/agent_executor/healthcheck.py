"""`python -m workers.agent_executor.healthcheck [--ready]`: the image's HEALTHCHECK.

Exit 0 when the worker in this container answers its probe with 200, 1 otherwise, using only
the standard library: the image has no curl (Kubernetes uses its own probes; this serves
`docker run` and compose). `--ready` asks `/ready` (PostgreSQL, Dragonfly and NATS reachable)
instead of `/health`, for compose services that must wait until the worker can take jobs.
"""

from __future__ import annotations

import argparse
import os
import sys
import urllib.error
import urllib.request

from contract.runtime import HEALTH_PATH, HTTP_PORT, READY_PATH


def probe_url(environ: dict[str, str], ready: bool) -> str:
    """Where the probe goes: loopback, on the PORT the worker serves (the image's default)."""
    port = environ.get("PORT") or str(HTTP_PORT)
    return f"http://127.0.0.1:{port}{READY_PATH if ready else HEALTH_PATH}"


def main(argv: list[str] | None = None) -> int:
    """Probe once; print why on failure (Docker keeps the output with the health status)."""
    parser = argparse.ArgumentParser(description="probe the worker in this container")
    parser.add_argument("--ready", action="store_true", help="ask /ready instead of /health")
    parser.add_argument("--timeout", type=float, default=4.0)
    args = parser.parse_args(argv)
    url = probe_url(dict(os.environ), args.ready)
    try:
        with urllib.request.urlopen(url, timeout=args.timeout) as response:  # noqa: S310 - loopback http
            if response.status == 200:
                return 0
            print(f"{url}: HTTP {response.status}", file=sys.stderr)
    except urllib.error.HTTPError as exc:
        print(f"{url}: HTTP {exc.code}", file=sys.stderr)
    except (urllib.error.URLError, OSError) as exc:
        print(f"{url}: {exc}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
