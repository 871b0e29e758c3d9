"""The startup check that the database schema is current; the worker never changes it.

Every schema change, LangGraph's checkpoint tables included, is a SQL file in `migrations/`
applied by `scripts/ci/run-migrations.sh` (the Deployment's `run-migrations` init container),
which records ours in `agent_schema_migrations` and the checkpointer's versions in the
library's own `checkpoint_migrations`. Workers used to run `AsyncPostgresSaver.setup()` at
start, under an advisory lock: its `CREATE INDEX CONCURRENTLY` waited for the transactions
of the other starting workers, which waited for that lock, and PostgreSQL does not see such
a cycle as a deadlock (issue #10). So a worker only reads: it waits a bounded time for an
init container that may still be running (another pod's, on a fresh database) and then
gives up with a message that says what is missing and how to apply it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from psycopg import AsyncConnection, sql
from psycopg.rows import tuple_row
from psycopg_pool import AsyncConnectionPool

log = structlog.get_logger()
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
POLL_SECONDS = 1.0
HOW_TO_APPLY = (
    "apply them with scripts/ci/run-migrations.sh (the run-migrations init container; "
    "`migrations.enabled` in the claim), then restart the worker"
)


class SchemaNotCurrentError(RuntimeError):
    """The database lacks migrations this worker needs; the message names them."""


@dataclass(frozen=True)
class Missing:
    """What the database lacks: our migration files, and the checkpointer's versions."""

    migrations: tuple[str, ...] = ()
    checkpoint_versions: tuple[int, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.migrations or self.checkpoint_versions)

    def describe(self) -> str:
        """One line naming each missing piece and the table that should record it."""
        parts = []
        if self.migrations:
            parts.append(f"migrations {', '.join(self.migrations)} (agent_schema_migrations)")
        if self.checkpoint_versions:
            parts.append(
                f"LangGraph checkpoint versions {_ranges(self.checkpoint_versions)}"
                " (checkpoint_migrations)"
            )
        return " and ".join(parts)


def required_migrations() -> tuple[str, ...]:
    """The versions run-migrations.sh records: the file names in `migrations/`, less `.sql`."""
    return tuple(sorted(path.stem for path in MIGRATIONS_DIR.glob("*.sql")))


def required_checkpoint_versions() -> range:
    """Every version of the installed checkpointer's schema (its list index is the version)."""
    return range(len(AsyncPostgresSaver.MIGRATIONS))


async def find_missing(conn: AsyncConnection[Any]) -> Missing:
    """What of the schema this worker needs `conn`'s database has not recorded as applied.

    A database newer than this worker (a rolling upgrade) has more than it needs: fine.
    """
    applied = await _recorded(conn, "agent_schema_migrations", "version")
    recorded = await _recorded(conn, "checkpoint_migrations", "v")
    return Missing(
        migrations=tuple(m for m in required_migrations() if m not in applied),
        checkpoint_versions=tuple(v for v in required_checkpoint_versions() if v not in recorded),
    )


async def _recorded(conn: AsyncConnection[Any], table: str, column: str) -> set[Any]:
    # The worker's pool hands out dict rows (AsyncPostgresSaver needs them); plain tuples here.
    async with conn.cursor(row_factory=tuple_row) as cur:
        # A table that does not exist yet has recorded nothing. Asking first spares every
        # poll of a fresh database an error (and an ERROR line in the server's log).
        await cur.execute("SELECT to_regclass(%s) IS NOT NULL", (table,))
        row = await cur.fetchone()
        if row is None or not row[0]:
            return set()
        await cur.execute(
            sql.SQL("SELECT {} FROM {}").format(sql.Identifier(column), sql.Identifier(table))
        )
        return {r[0] for r in await cur.fetchall()}


async def wait_until_current(
    pool: AsyncConnectionPool,
    wait_seconds: float,
    poll_seconds: float = POLL_SECONDS,
) -> None:
    """Return once the schema is current; raise SchemaNotCurrentError after `wait_seconds`."""
    deadline = time.monotonic() + wait_seconds
    waited = False
    while True:
        async with pool.connection() as conn:
            missing = await find_missing(conn)
        if not missing:
            if waited:
                log.info("database schema is current")
            return
        if time.monotonic() >= deadline:
            message = (
                f"database schema is not current after waiting {wait_seconds:g} s: "
                f"missing {missing.describe()}; {HOW_TO_APPLY}"
            )
            log.error(message)
            raise SchemaNotCurrentError(message)
        if not waited:
            # A fresh pod's init container may still be applying them (or another pod's).
            log.warning(
                "database schema not current yet; waiting for run-migrations",
                missing=missing.describe(),
                wait_seconds=wait_seconds,
            )
            waited = True
        await asyncio.sleep(poll_seconds)


def _ranges(numbers: Iterable[int]) -> str:
    """`0, 1, 2, 5` → `0-2, 5`."""
    spans: list[list[int]] = []
    for n in sorted(numbers):
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    return ", ".join(f"{a}-{b}" if a != b else str(a) for a, b in spans)
