"""Print the NATS server configuration the platform deploys, as `nats-server -c` reads it.

The chart's `nats.conf` rendered from platform/nats/values.yaml and the generated
values-tenants.yaml (with --dev, values-dev.yaml over both). Secrets stay `$VARIABLE`
references the server resolves from its environment (the `nats-auth` Secret).
`make nats-config`; the system tests start their servers from this output.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.tenancy.nats_server import (  # noqa: E402
    DEVELOPMENT_VALUES,
    PRODUCTION_VALUES,
    conf_text,
    load_values,
    server_config,
)


def render(*, dev: bool = False, root: Path = ROOT) -> str:
    """The configuration text: production (3-node cluster) or, with `dev`, a single server."""
    files = DEVELOPMENT_VALUES if dev else PRODUCTION_VALUES
    header = (
        "nats.conf of the platform's NATS ("
        + ("development, single server" if dev else "production, 3-node cluster")
        + "), rendered from\n"
        + " + ".join(str(f) for f in files)
        + " by `make nats-config`.\n$VARIABLES come from the server's environment"
        " (Secret nats-auth; SERVER_NAME from the pod)."
    )
    return conf_text(server_config(load_values(root, files)), header)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dev", action="store_true", help="the single-server development shape")
    args = parser.parse_args(argv)
    sys.stdout.write(render(dev=args.dev))
    return 0


if __name__ == "__main__":
    sys.exit(main())
