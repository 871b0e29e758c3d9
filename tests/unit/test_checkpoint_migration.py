"""The checkpoint tables' migration follows the installed langgraph-checkpoint-postgres.

The worker never runs `AsyncPostgresSaver.setup()`; run-migrations.sh applies the library's
MIGRATIONS from files that scripts/generate_checkpoint_migration.py derived from them. When
an upgrade of the library changes its MIGRATIONS, these tests fail until the files follow.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from scripts.generate_checkpoint_migration import (
    MIGRATIONS_DIR,
    GeneratorError,
    committed,
    fingerprint,
    library_migrations,
    next_file,
    problems,
    render,
    transactional,
)

LIBRARY = library_migrations()


def test_every_checkpoint_version_of_the_library_is_in_a_committed_migration() -> None:
    covered = sorted(v for file in committed() for v in file.fingerprints)
    assert covered == list(range(len(LIBRARY))), (
        "run `python scripts/generate_checkpoint_migration.py`"
    )


def test_no_library_statement_changed_since_its_migration_was_generated() -> None:
    recorded = {v: digest for file in committed() for v, digest in file.fingerprints.items()}
    changed = [v for v, digest in recorded.items() if digest != fingerprint(LIBRARY[v])]
    assert changed == []


def test_the_committed_migrations_are_what_the_generator_writes() -> None:
    for file in committed():
        assert file.path.read_text() == render(LIBRARY, sorted(file.fingerprints)), file.path


def test_the_generators_check_finds_nothing_to_report() -> None:
    assert problems(LIBRARY) == []


def test_new_library_versions_go_to_a_new_file_and_the_applied_ones_stay(tmp_path: Path) -> None:
    # run-migrations.sh never applies a file twice: rewriting 003 would skip the new version
    # on every database that already has 003.
    shutil.copytree(MIGRATIONS_DIR, tmp_path, dirs_exist_ok=True)
    upgraded = [*LIBRARY, "ALTER TABLE checkpoints ADD COLUMN IF NOT EXISTS note TEXT;"]
    before = {p.name: p.read_text() for p in tmp_path.iterdir()}
    assert any("is in no migration" in p for p in problems(upgraded, tmp_path))

    target = next_file(upgraded, tmp_path)
    assert target is not None
    target.write_text(render(upgraded, [len(LIBRARY)]))

    assert target.name.endswith("_langgraph_checkpoints.sql")
    assert sorted(tmp_path.glob("*.sql"))[-1] == target  # applied after every other file
    assert {p.name: p.read_text() for p in tmp_path.iterdir() if p != target} == before
    assert problems(upgraded, tmp_path) == []
    assert next_file(upgraded, tmp_path) is None


def test_index_builds_drop_concurrently_to_run_inside_a_transaction() -> None:
    statement = "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS i ON checkpoints(thread_id);"
    assert (
        transactional(7, statement)
        == "CREATE UNIQUE INDEX IF NOT EXISTS i ON checkpoints(thread_id)"
    )


@pytest.mark.parametrize(
    "statement",
    ["REINDEX TABLE CONCURRENTLY checkpoints;", "VACUUM checkpoints;", "CREATE DATABASE x;"],
)
def test_a_statement_that_cannot_run_in_a_transaction_is_refused(statement: str) -> None:
    with pytest.raises(GeneratorError, match="cannot run inside a transaction"):
        transactional(10, statement)


def test_no_committed_migration_builds_an_index_concurrently() -> None:
    for path in MIGRATIONS_DIR.glob("*.sql"):
        code = [line for line in path.read_text().splitlines() if not line.startswith("--")]
        assert "CONCURRENTLY" not in "\n".join(code).upper(), path
