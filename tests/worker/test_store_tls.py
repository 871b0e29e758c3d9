"""TLS to PostgreSQL and Dragonfly, carried by the injected POSTGRES_* / DRAGONFLY_* keys
(seed 001, security): real servers that serve TLS with a certificate from a throwaway CA,
verified by the worker and by the migrations job."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest

from testbed.servers import (
    NatsServer,
    PostgresServer,
    RedisServer,
    local_nats_server,
    local_postgres_server,
    local_redis_server,
)
from testbed.tls import TlsFiles, make_tls
from testbed.worker import Worker
from tests.conftest import ROOT

pytestmark = pytest.mark.slow

PASSWORD = "tls-store-password"
ROLE = "tls_agent"


@dataclass
class TlsStores:
    nats: NatsServer
    postgres: PostgresServer
    redis: RedisServer
    tls: TlsFiles
    other_ca: TlsFiles

    def env(self, ca: Path | None = None) -> dict[str, str]:
        """What connection Secrets with TLS keys give a worker: verify everything."""
        trusted = str(ca or self.tls.ca_cert)
        return {
            "NATS_URL": self.nats.url,
            "NATS_CREATE_STREAMS": "true",
            "POSTGRES_HOST": "127.0.0.1",
            "POSTGRES_PORT": str(self.postgres.port),
            "POSTGRES_DB": ROLE,
            "POSTGRES_USER": ROLE,
            "POSTGRES_PASSWORD": PASSWORD,
            "POSTGRES_SSLMODE": "verify-full",
            "POSTGRES_SSLROOTCERT": trusted,
            "DRAGONFLY_HOST": "127.0.0.1",
            "DRAGONFLY_PORT": str(self.redis.port),
            "DRAGONFLY_PASSWORD": PASSWORD,
            "DRAGONFLY_TLS": "true",
            "DRAGONFLY_TLS_CA_FILE": trusted,
        }


def _migrate(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(ROOT / "scripts/ci/run-migrations.sh")],
        env={**env, "PATH": "/usr/local/bin:/usr/bin:/bin", "MIGRATIONS_WAIT_SECONDS": "3"},
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsStores]:
    certificates = tmp_path_factory.mktemp("tls")
    tls, other = make_tls(certificates, "stores"), make_tls(certificates, "other")
    with (
        local_nats_server() as nats,
        local_postgres_server(require_passwords=True, tls=tls) as postgres,
        local_redis_server(password=PASSWORD, tls=tls) as redis_server,
    ):
        postgres.add_database(ROLE, PASSWORD)
        yield TlsStores(nats, postgres, redis_server, tls, other)


@pytest.fixture(scope="module")
def worker(stores: TlsStores, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    migrated = _migrate(stores.env())
    assert migrated.returncode == 0, migrated.stderr
    env = {
        **stores.env(),
        "OPENAI_API_KEY": "sk-test-secret-value",
        "WORKER_LOG_DIR": str(tmp_path_factory.mktemp("worker")),
    }
    # Nothing inherited: a DATABASE_URL or REDIS_URL of the test run would win over the keys.
    worker = Worker(env, inherit_environment=False).start()
    yield worker
    worker.stop()


def test_a_worker_given_tls_keys_is_ready_over_verified_tls(worker: Worker) -> None:
    reply = httpx.get(f"{worker.url}/ready", timeout=10)
    assert reply.json()["services"] == {"postgres": "up", "dragonfly": "up", "nats": "up"}


def test_every_database_connection_of_the_worker_is_encrypted(
    worker: Worker, stores: TlsStores
) -> None:
    with psycopg.connect(stores.postgres.url) as admin:
        rows = admin.execute(
            "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) "
            "WHERE a.usename = %s",
            (ROLE,),
        ).fetchall()
    assert rows and all(ssl for (ssl,) in rows)


def test_the_migrations_refuse_a_server_whose_certificate_the_given_ca_did_not_sign(
    stores: TlsStores,
) -> None:
    result = _migrate(stores.env(ca=stores.other_ca.ca_cert))
    assert result.returncode != 0


def test_a_worker_refuses_a_server_whose_certificate_the_given_ca_did_not_sign(
    stores: TlsStores, tmp_path: Path
) -> None:
    env = {
        **stores.env(ca=stores.other_ca.ca_cert),
        "OPENAI_API_KEY": "sk-test-secret-value",
        "SCHEMA_WAIT_SECONDS": "1",
        "WORKER_LOG_DIR": str(tmp_path),
    }
    worker = Worker(env, inherit_environment=False)
    with pytest.raises(RuntimeError) as raised:
        worker.start(timeout=10)
    assert "certificate verify failed" in str(raised.value)
