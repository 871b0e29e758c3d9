"""Store passwords reach PostgreSQL and Redis intact, whatever characters they contain.

The worker is given POSTGRES_* and DRAGONFLY_* (never URLs), as the platform's Secrets
provide them, and servers that really check the password.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
import redis

from testbed.servers import (
    NatsServer,
    PostgresServer,
    RedisServer,
    local_nats_server,
    local_postgres_server,
    local_redis_server,
)
from testbed.worker import Worker
from tests.conftest import ROOT

pytestmark = pytest.mark.slow

# Every character that means something in a URL or a libpq connection string.
PASSWORD = "p/a?s#s@w:o%rd 'q' \\b="
ROLE = "agent"


@dataclass
class Stores:
    """NATS, and a PostgreSQL and a Redis that refuse a wrong password."""

    nats: NatsServer
    postgres: PostgresServer
    redis: RedisServer

    def env(self) -> dict[str, str]:
        """The worker's connection settings, the way the platform's Secrets give them."""
        return {
            "NATS_URL": self.nats.url,
            "NATS_CREATE_STREAMS": "true",
            "POSTGRES_HOST": "127.0.0.1",
            "POSTGRES_PORT": str(self.postgres.port),
            "POSTGRES_DB": ROLE,
            "POSTGRES_USER": ROLE,
            "POSTGRES_PASSWORD": PASSWORD,
            "DRAGONFLY_HOST": "127.0.0.1",
            "DRAGONFLY_PORT": str(self.redis.port),
            "DRAGONFLY_PASSWORD": PASSWORD,
        }


@pytest.fixture(scope="module")
def stores() -> Iterator[Stores]:
    with (
        local_nats_server() as nats,
        local_postgres_server(require_passwords=True) as postgres,
        local_redis_server(password=PASSWORD) as redis_server,
    ):
        postgres.add_database(ROLE, PASSWORD)
        stores = Stores(nats, postgres, redis_server)
        # The migrations job gets the same POSTGRES_* as the worker.
        subprocess.run(
            ["bash", str(ROOT / "scripts/ci/run-migrations.sh")],
            env={**stores.env(), "PATH": "/usr/local/bin:/usr/bin:/bin"},
            check=True,
            capture_output=True,
        )
        yield stores


@pytest.fixture(scope="module")
def worker(stores: Stores, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    env = {
        **stores.env(),
        "OPENAI_API_KEY": "sk-test-secret-value",
        "WORKER_LOG_DIR": str(tmp_path_factory.mktemp("worker")),
    }
    with pytest.MonkeyPatch.context() as patch:
        # The worker inherits this environment: URLs from it would win over POSTGRES_*
        # and DRAGONFLY_*.
        patch.delenv("DATABASE_URL", raising=False)
        patch.delenv("REDIS_URL", raising=False)
        worker = Worker(env).start()
    yield worker
    worker.stop()


def test_the_stores_refuse_a_wrong_password(stores: Stores) -> None:
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(
            host="127.0.0.1", port=stores.postgres.port, dbname=ROLE, user=ROLE, password="x"
        ).close()
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(host="127.0.0.1", port=stores.redis.port, password="x").ping()


def test_a_worker_given_passwords_with_url_characters_is_ready(worker: Worker) -> None:
    reply = httpx.get(f"{worker.url}/ready", timeout=10)
    assert reply.status_code == 200
    assert reply.json()["services"] == {"postgres": "up", "dragonfly": "up", "nats": "up"}


def test_the_worker_never_logs_the_passwords(worker: Worker) -> None:
    assert worker.log_path is not None and Path(worker.log_path).is_file()
    assert PASSWORD not in worker.logs()
