"""Workers starting together against a fresh database (issue #10, item 6; DESIGN section 6).

Every pod of a Deployment runs the `run-migrations` init container and then the worker, so
on a new database several of each start at the same moment. The init containers apply every
schema change, the checkpointer's included, serialised by their own lock; the worker only
checks that the schema is current, waiting a bounded time for an init container that is
still running, and never runs DDL itself.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

from testbed.database import at_once, fresh_database, migrate, migrate_concurrently
from testbed.servers import PostgresServer, eventually
from testbed.worker import Worker

pytestmark = pytest.mark.slow

PODS = 4
READY_WITHIN_SECONDS = 60


@pytest.fixture
def database(postgres: PostgresServer) -> Iterator[str]:
    with fresh_database(postgres.url) as url:
        yield url


@pytest.fixture
def workers() -> Iterator[list[Worker]]:
    """Workers a test creates; killed afterwards, whatever state they reached."""
    created: list[Worker] = []
    yield created
    for worker in created:
        worker.stop()


def not_ready(outcomes: list[Worker | BaseException]) -> list[str]:
    return [str(o)[-1500:] for o in outcomes if isinstance(o, BaseException)]


@pytest.mark.timeout(240)
def test_workers_started_together_on_a_fresh_database_all_become_ready(
    database: str, worker_env: dict[str, str], workers: list[Worker]
) -> None:
    migrate_concurrently(database, PODS)
    workers += [Worker({**worker_env, "DATABASE_URL": database}) for _ in range(PODS)]

    outcomes = at_once([functools.partial(w.start, READY_WITHIN_SECONDS) for w in workers])

    assert not_ready(outcomes) == []


@pytest.fixture
def dml_only_url(database: str) -> Iterator[str]:
    """`database`, reached as a role that may read and write rows but not change the schema."""
    migrate(database)
    role = f"dml_only_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(database, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        # Before PostgreSQL 15 every role could create tables in `public`.
        admin.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        admin.execute(
            sql.SQL(
                "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}"
            ).format(sql.Identifier(role))
        )
    parts = urlsplit(database)
    yield urlunsplit(parts._replace(netloc=f"{role}@{parts.hostname}:{parts.port}"))
    with psycopg.connect(database, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
        admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


@pytest.mark.timeout(120)
def test_a_worker_needs_no_right_to_change_the_schema(
    dml_only_url: str, worker_env: dict[str, str], workers: list[Worker]
) -> None:
    # The old startup ran the checkpointer's setup(), whose CREATE INDEX CONCURRENTLY under an
    # advisory lock was the deadlock; a worker that cannot run DDL cannot take part in one.
    workers.append(Worker({**worker_env, "DATABASE_URL": dml_only_url}))

    workers[0].start(timeout=READY_WITHIN_SECONDS)


@pytest.mark.timeout(120)
def test_a_worker_on_an_unmigrated_database_exits_naming_what_is_missing(
    database: str, worker_env: dict[str, str], workers: list[Worker]
) -> None:
    worker = Worker({**worker_env, "DATABASE_URL": database, "SCHEMA_WAIT_SECONDS": "2"})
    workers.append(worker)

    # "exited", not "not ready": the process ended by itself within the bounded wait.
    with pytest.raises(RuntimeError, match="worker exited"):
        worker.start(timeout=READY_WITHIN_SECONDS)

    assert worker.proc is not None and worker.proc.returncode != 0
    logs = worker.logs()
    assert "database schema is not current after waiting 2 s" in logs
    assert "missing migrations 001_job_ledger, 002_cancellation" in logs
    assert "LangGraph checkpoint versions 0-" in logs
    assert "apply them with scripts/ci/run-migrations.sh" in logs


@pytest.mark.timeout(180)
def test_a_worker_waits_for_migrations_another_pod_is_still_applying(
    database: str, worker_env: dict[str, str], workers: list[Worker]
) -> None:
    worker = Worker({**worker_env, "DATABASE_URL": database, "SCHEMA_WAIT_SECONDS": "90"})
    workers.append(worker)
    with ThreadPoolExecutor(1) as pool:
        starting = pool.submit(worker.start, timeout=120)
        eventually(lambda: "waiting for run-migrations" in worker.logs(), 60, "the worker waiting")

        migrate(database)

        starting.result()  # raises unless /ready answered 200
