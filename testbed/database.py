"""Databases for workers, prepared the way the Deployment prepares them.

In a cluster every worker pod first runs the `run-migrations` init container
(`scripts/ci/run-migrations.sh`), so pods starting together run it together; the
worker itself never changes the schema. These helpers do the same for the tests, the
benchmarks and the chaos run: `migrate` once, or `migrate_concurrently` as several pods
would, on a `fresh_database` when a run must start from nothing.
"""

from __future__ import annotations

import os
import subprocess
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
RUN_MIGRATIONS = ROOT / "scripts" / "ci" / "run-migrations.sh"
T = TypeVar("T")


def run_migrations(
    database_url: str, timeout: float = 120, **env: str
) -> subprocess.CompletedProcess[str]:
    """One run of the init container's script against `database_url`; never raises on failure."""
    return subprocess.run(
        ["bash", str(RUN_MIGRATIONS)],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DATABASE_URL": database_url, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def migrate(database_url: str) -> None:
    """Apply every migration, or raise with the script's own error output."""
    result = run_migrations(database_url)
    if result.returncode != 0:
        raise RuntimeError(f"run-migrations.sh exited {result.returncode}: {result.stderr}")


def migrate_concurrently(database_url: str, count: int) -> None:
    """`count` runs of the script started at the same instant, as `count` new pods would."""
    results = at_once([lambda: run_migrations(database_url)] * count)
    failed = [r for r in results if isinstance(r, BaseException) or r.returncode != 0]
    if failed:
        raise RuntimeError(f"{len(failed)} of {count} concurrent migration runs failed: {failed}")


def at_once(calls: Sequence[Callable[[], T]]) -> list[T | BaseException]:
    """Run every call in its own thread, all released together; each one's result or error.

    The threads meet at a barrier first, so none gets a head start from being created
    earlier: the point is to collide, as pods of one Deployment do.
    """
    barrier = threading.Barrier(len(calls))
    outcomes: list[T | BaseException] = [RuntimeError("did not run")] * len(calls)

    def run(index: int) -> None:
        barrier.wait()
        try:
            outcomes[index] = calls[index]()
        except BaseException as exc:  # handed back: the caller judges every outcome
            outcomes[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """A new, empty database on the server of `server_url`; dropped afterwards."""
    name = f"fresh_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            # FORCE: a worker the caller killed may not have closed its connections yet.
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
