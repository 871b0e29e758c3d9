#!/usr/bin/env bash
# Apply the worker's SQL migrations with psql, in order, once each.
# Connection: DATABASE_URL, or POSTGRES_HOST/PORT/DB/USER/PASSWORD (libpq env); TLS as the
# worker has it: POSTGRES_SSLMODE and POSTGRES_SSLROOTCERT (contract/env.py).
# Used by the `run-migrations` init container; safe to run concurrently and repeatedly.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
MIGRATIONS_DIR="${MIGRATIONS_DIR:-$HERE/../../workers/agent_executor/migrations}"
WAIT_SECONDS="${MIGRATIONS_WAIT_SECONDS:-60}"

if [ -n "${DATABASE_URL:-}" ]; then
  CONN=("$DATABASE_URL")
else
  : "${POSTGRES_HOST:?set DATABASE_URL or POSTGRES_HOST}"
  export PGHOST="$POSTGRES_HOST" PGPORT="${POSTGRES_PORT:-5432}" \
         PGDATABASE="${POSTGRES_DB:-postgres}" PGUSER="${POSTGRES_USER:-postgres}"
  # libpq reads the password from the environment; it never appears on a command line.
  if [ -n "${POSTGRES_PASSWORD:-}" ]; then export PGPASSWORD="$POSTGRES_PASSWORD"; fi
  CONN=()
fi
if [ -n "${POSTGRES_SSLMODE:-}" ]; then export PGSSLMODE="$POSTGRES_SSLMODE"; fi
if [ -n "${POSTGRES_SSLROOTCERT:-}" ]; then export PGSSLROOTCERT="$POSTGRES_SSLROOTCERT"; fi
PSQL=(psql "${CONN[@]}" --no-psqlrc --quiet -v ON_ERROR_STOP=1)

# Bounded wait for the database: a fresh cluster may still be starting.
deadline=$(( $(date +%s) + WAIT_SECONDS ))
until "${PSQL[@]}" -c 'SELECT 1' >/dev/null 2>&1; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "run-migrations: database not reachable within ${WAIT_SECONDS}s" >&2
    exit 1
  fi
  sleep 1
done

shopt -s nullglob
files=("$MIGRATIONS_DIR"/*.sql)
if [ ${#files[@]} -eq 0 ]; then
  echo "run-migrations: no migrations in $MIGRATIONS_DIR" >&2
  exit 1
fi

for file in "${files[@]}"; do
  version="$(basename "$file" .sql)"
  # One transaction per migration, serialised by an advisory lock so that
  # several pods starting together apply each migration exactly once.
  "${PSQL[@]}" --single-transaction -v version="$version" <<SQL
SELECT pg_advisory_xact_lock(734262031) AS locked \gset
CREATE TABLE IF NOT EXISTS agent_schema_migrations (
    version    text PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
);
SELECT NOT EXISTS (SELECT 1 FROM agent_schema_migrations WHERE version = :'version') AS pending \gset
\if :pending
\i $file
INSERT INTO agent_schema_migrations (version) VALUES (:'version');
\echo run-migrations: applied :version
\endif
SQL
done
