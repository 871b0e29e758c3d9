"""`agentplane status`: the executors' pods, healthy or stale, from their heartbeats.

Exit codes: 0 some pod is healthy and none is stale, 1 otherwise (none running, or a pod
missed two heartbeats), 2 a usage or connection error; 130 when `--watch` is interrupted.

Only argparse is imported here: NATS loads when the command runs (`agentplane validate`
builds this parser too and must stay quick).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from functions.jobs_cli.errors import JobsError

if TYPE_CHECKING:
    from functions.status_cli.fleet import Pod

INTERRUPTED = 130
DEFAULT_WATCH_SECONDS = 2.0
DEFAULT_LIVE_WAIT_SECONDS = 2.0
CLEAR_SCREEN = "\033[H\033[2J"


def add_status_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `status` to the `agentplane` parser."""
    status = commands.add_parser(
        "status",
        help="the executors' pods from their heartbeats: healthy or stale, load, failures",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
    )
    status.add_argument(
        "--live",
        action="store_true",
        help="ask every worker now (agent.control.heartbeat) instead of reading the "
        "heartbeats the stream keeps; a pod that does not answer is not listed",
    )
    status.add_argument(
        "--wait",
        type=float,
        default=DEFAULT_LIVE_WAIT_SECONDS,
        metavar="SECONDS",
        help=f"with --live: how long to collect answers [{DEFAULT_LIVE_WAIT_SECONDS:g}]",
    )
    status.add_argument(
        "--watch",
        type=float,
        nargs="?",
        const=DEFAULT_WATCH_SECONDS,
        default=None,
        metavar="SECONDS",
        help=f"refresh every SECONDS [{DEFAULT_WATCH_SECONDS:g}] until interrupted",
    )
    status.add_argument("--json", action="store_true", help="JSON for scripts (one per refresh)")
    group = status.add_argument_group(
        "where the executors are",
        "the tenant's producer credentials from the environment: NATS_USER / NATS_PASSWORD",
    )
    group.add_argument("--nats", metavar="URL", help="NATS (JetStream) [NATS_URL]")
    group.add_argument("--creds", type=Path, metavar="FILE", help="NATS creds file [NATS_CREDS]")
    status.set_defaults(handler=status_command)


async def _fleet(args: argparse.Namespace) -> list[Pod]:
    from datetime import UTC, datetime

    from functions.jobs_cli.nats_link import connect
    from functions.jobs_cli.targets import NATS_URL_ENV, NatsTarget, resolve
    from functions.status_cli import heartbeats
    from functions.status_cli.fleet import pods

    url = args.nats or os.environ.get(NATS_URL_ENV)
    if not url:
        raise JobsError("status reads the heartbeats from NATS: give --nats URL (or NATS_URL)")
    target = resolve(api=None, nats=url, redis=None, creds=args.creds)
    assert isinstance(target, NatsTarget)  # a NATS URL given, no API URL
    client = await connect(target)
    asked_at = datetime.now(UTC)
    try:
        if args.live:
            seen = await heartbeats.live(client, args.wait)
        else:
            seen = await heartbeats.stored(client.jetstream())
    finally:
        await client.close()
    # A live answer is the pod's status as of the request, however long answers were
    # collected; a stored heartbeat is as old as the stream says.
    return pods(seen, asked_at if args.live else datetime.now(UTC))


def _show(fleet: list[Pod], args: argparse.Namespace, *, clear: bool) -> None:
    from datetime import UTC, datetime

    from functions.status_cli.fleet import as_json, table

    if args.json:
        print(json.dumps(as_json(fleet)), flush=True)
        return
    text = table(fleet, datetime.now(UTC))
    sys.stdout.write((CLEAR_SCREEN if clear else "") + text)
    sys.stdout.flush()


def status_command(args: argparse.Namespace) -> int:
    """Print the fleet once, or every --watch seconds; 0 when healthy (see the module)."""
    import asyncio
    import time

    from functions.status_cli.fleet import all_healthy

    if args.watch is not None and args.watch <= 0:
        print("agentplane: --watch needs a positive number of seconds", file=sys.stderr)
        return 2
    clear = args.watch is not None and not args.json and sys.stdout.isatty()
    try:
        while True:
            fleet = asyncio.run(_fleet(args))
            _show(fleet, args, clear=clear)
            if args.watch is None:
                return 0 if all_healthy(fleet) else 1
            time.sleep(args.watch)
    except JobsError as exc:
        print(f"agentplane: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return INTERRUPTED
