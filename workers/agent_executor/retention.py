"""Retention: delete checkpoints and ledger rows of finished jobs older than a cutoff.

`python -m workers.agent_executor prune --older-than 7d` works in batches (one
transaction each, so a large backlog never holds long locks) and never touches
a running job: only rows with a `finished_at` before the cutoff are selected, and
cancel requests for jobs that never arrived (no attempt) untouched since the cutoff.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import psycopg

_DURATION = re.compile(r"^(\d+)([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
# LangGraph's Postgres checkpointer keeps a job's state in these tables, keyed by thread_id.
CHECKPOINT_TABLES = ("checkpoint_writes", "checkpoint_blobs", "checkpoints")


def parse_age(text: str) -> timedelta:
    """`7d`, `12h`, `30m`, `90s`, `2w` → a timedelta; anything else is a ValueError."""
    match = _DURATION.match(text.strip())
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"--older-than: {text!r} is not a positive duration like 7d, 12h or 30m")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


# A finished job, or a cancel request for a job no worker ever started.
_EXPIRED = psycopg.sql.SQL(
    "(finished_at < now() - %(age)s"
    " OR (finished_at IS NULL AND attempts = 0 AND updated_at < now() - %(age)s))"
)
_COUNT = psycopg.sql.SQL("SELECT count(*) FROM agent_jobs WHERE {}").format(_EXPIRED)
_BATCH = psycopg.sql.SQL(
    "SELECT job_id FROM agent_jobs WHERE {} ORDER BY coalesce(finished_at, updated_at)"
    " LIMIT %(limit)s FOR UPDATE SKIP LOCKED"
).format(_EXPIRED)


@dataclass
class PruneReport:
    """What a prune deleted (or would delete, in a dry run)."""

    jobs: int = 0
    batches: int = 0


def prune(
    dsn: str, older_than: timedelta, batch_size: int = 500, dry_run: bool = False
) -> PruneReport:
    """Delete finished jobs older than `older_than`, `batch_size` jobs per transaction."""
    report = PruneReport()
    with psycopg.connect(dsn, autocommit=True) as conn:
        if dry_run:
            row = conn.execute(_COUNT, {"age": older_than}).fetchone()
            report.jobs = int(row[0]) if row else 0
            return report
        while True:
            with conn.transaction():
                ids = [
                    r[0]
                    for r in conn.execute(
                        _BATCH, {"age": older_than, "limit": batch_size}
                    ).fetchall()
                ]
                if not ids:
                    return report
                for table in CHECKPOINT_TABLES:
                    conn.execute(
                        psycopg.sql.SQL("DELETE FROM {} WHERE thread_id = ANY(%s)").format(
                            psycopg.sql.Identifier(table)
                        ),
                        (ids,),
                    )
                conn.execute("DELETE FROM agent_jobs WHERE job_id = ANY(%s)", (ids,))
            report.jobs += len(ids)
            report.batches += 1
