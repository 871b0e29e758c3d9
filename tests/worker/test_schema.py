"""The database schema, against a real PostgreSQL server: what run-migrations.sh builds is what
the checkpointer would build itself, and the worker's startup check sees whether it is there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from langgraph.checkpoint.postgres import PostgresSaver
from psycopg.rows import dict_row

from testbed.database import fresh_database, migrate
from testbed.servers import PostgresServer
from workers.agent_executor.schema import (
    Missing,
    find_missing,
    required_checkpoint_versions,
    required_migrations,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def database(postgres: PostgresServer) -> Iterator[str]:
    with fresh_database(postgres.url) as url:
        yield url


@pytest.fixture
def other_database(postgres: PostgresServer) -> Iterator[str]:
    with fresh_database(postgres.url) as url:
        yield url


def set_up_by_the_library(url: str) -> None:
    """What every worker used to do at start: the checkpointer's own setup()."""
    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as conn:
        PostgresSaver(conn).setup()


def checkpoint_schema(url: str) -> dict[str, list[Any]]:
    """The checkpointer's tables as the catalog describes them, and the versions recorded."""
    with psycopg.connect(url) as conn:
        return {
            "columns": conn.execute(
                """
                SELECT table_name, column_name, data_type, is_nullable, column_default
                  FROM information_schema.columns
                 WHERE table_schema = 'public' AND table_name LIKE 'checkpoint%'
                 ORDER BY table_name, ordinal_position
                """
            ).fetchall(),
            "indexes": conn.execute(
                """
                SELECT indexname, indexdef FROM pg_indexes
                 WHERE schemaname = 'public' AND tablename LIKE 'checkpoint%'
                 ORDER BY indexname
                """
            ).fetchall(),
            "versions": conn.execute("SELECT v FROM checkpoint_migrations ORDER BY v").fetchall(),
        }


def missing(url: str) -> Missing:
    async def check() -> Missing:
        async with await psycopg.AsyncConnection.connect(url) as conn:
            return await find_missing(conn)

    return asyncio.run(check())


def test_the_migrations_build_the_schema_the_checkpointer_builds_itself(
    database: str, other_database: str
) -> None:
    migrate(database)
    set_up_by_the_library(other_database)

    assert checkpoint_schema(database) == checkpoint_schema(other_database)


def test_the_migrations_record_every_checkpoint_version_of_the_library(database: str) -> None:
    migrate(database)

    versions = [row[0] for row in checkpoint_schema(database)["versions"]]
    assert versions == list(required_checkpoint_versions())


def test_a_database_the_checkpointer_set_up_itself_is_left_as_it_was(database: str) -> None:
    # Databases of workers that ran setup() before the migrations took over.
    set_up_by_the_library(database)
    before = checkpoint_schema(database)

    migrate(database)

    assert checkpoint_schema(database) == before


def test_a_fresh_database_misses_every_migration_and_checkpoint_version(database: str) -> None:
    assert missing(database) == Missing(
        migrations=required_migrations(),
        checkpoint_versions=tuple(required_checkpoint_versions()),
    )


def test_a_migrated_database_misses_nothing(database: str) -> None:
    migrate(database)

    assert not missing(database)


def test_a_database_only_the_checkpointer_set_up_misses_only_our_migrations(
    database: str,
) -> None:
    set_up_by_the_library(database)

    assert missing(database) == Missing(migrations=required_migrations())


def test_the_missing_pieces_are_named_with_the_table_that_records_them() -> None:
    gap = Missing(migrations=("003_langgraph_checkpoints",), checkpoint_versions=(0, 1, 2, 5))

    assert gap.describe() == (
        "migrations 003_langgraph_checkpoints (agent_schema_migrations) and "
        "LangGraph checkpoint versions 0-2, 5 (checkpoint_migrations)"
    )
