"""scripts/ci/run-migrations.sh against a real PostgreSQL server."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import psycopg
import pytest

from testbed.servers import PostgresServer, postgres_server
from tests.conftest import ROOT

SCRIPT = ROOT / "scripts" / "ci" / "run-migrations.sh"
MIGRATIONS = ROOT / "workers" / "agent_executor" / "migrations"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    with postgres_server() as server:
        yield server


def run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {"PATH": os.environ["PATH"]}
    return subprocess.run(
        ["bash", str(SCRIPT)], env={**base, **env}, capture_output=True, text=True, timeout=120
    )


def tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
    return {r[0] for r in rows}


def test_migrations_create_the_ledger_and_record_their_version(postgres: PostgresServer) -> None:
    result = run({"DATABASE_URL": postgres.url})
    assert result.returncode == 0, result.stderr
    assert {"agent_jobs", "agent_token_usage", "agent_schema_migrations"} <= tables(postgres.url)


def test_migrations_are_applied_once_even_when_run_concurrently(postgres: PostgresServer) -> None:
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: run({"DATABASE_URL": postgres.url}), range(4)))
    assert all(r.returncode == 0 for r in results), [r.stderr for r in results]
    with psycopg.connect(postgres.url) as conn:
        count = conn.execute("SELECT count(*) FROM agent_schema_migrations").fetchone()
    assert count == (len(list(MIGRATIONS.glob("*.sql"))),)


def test_migrations_connect_with_postgres_variables(postgres: PostgresServer) -> None:
    parts = urlsplit(postgres.url)
    env = {
        "POSTGRES_HOST": parts.hostname or "",
        "POSTGRES_PORT": str(parts.port),
        "POSTGRES_DB": parts.path.lstrip("/"),
        "POSTGRES_USER": parts.username or "",
        "POSTGRES_PASSWORD": "unused-with-trust-auth",
    }
    result = run(env)
    assert result.returncode == 0, result.stderr
    assert "unused-with-trust-auth" not in result.stdout + result.stderr


def test_an_unreachable_database_fails_after_the_bounded_wait() -> None:
    result = run(
        {"DATABASE_URL": "postgresql://postgres@127.0.0.1:1/x", "MIGRATIONS_WAIT_SECONDS": "2"}
    )
    assert result.returncode == 1
    assert "not reachable within 2s" in result.stderr
