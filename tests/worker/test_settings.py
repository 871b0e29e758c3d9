"""Connection settings: store passwords may hold any character (DESIGN section 6, "Config")."""

from __future__ import annotations

import os

import pytest
from psycopg.conninfo import conninfo_to_dict

from workers.agent_executor.settings import Settings
from workers.agent_executor.stores import redis_client

# Characters with a meaning in a URL, in a libpq connection string, or to a shell.
PASSWORDS = [
    "p/a?s#s@w:o%rd",
    "it's",
    "back\\slash",
    "two words",
    "k=v",
    '"double"',
    "pässwörd",
]


@pytest.fixture(autouse=True)
def no_store_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings come from each test alone, never from the environment the tests run in."""
    for name in list(os.environ):
        if name in ("DATABASE_URL", "REDIS_URL") or name.startswith(("POSTGRES_", "DRAGONFLY_")):
            monkeypatch.delenv(name)


def settings(**values: object) -> Settings:
    return Settings(**values)  # type: ignore[arg-type]


def from_parts(password: str) -> Settings:
    return settings(
        POSTGRES_HOST="db.example",
        POSTGRES_PORT=6543,
        POSTGRES_DB="agents",
        POSTGRES_USER="worker",
        POSTGRES_PASSWORD=password,
        DRAGONFLY_HOST="cache.example",
        DRAGONFLY_PORT=6380,
        DRAGONFLY_PASSWORD=password,
    )


@pytest.mark.parametrize("password", PASSWORDS)
def test_postgres_parts_become_a_conninfo_that_libpq_reads_back_unchanged(password: str) -> None:
    assert conninfo_to_dict(from_parts(password).postgres_dsn) == {
        "host": "db.example",
        "port": "6543",
        "dbname": "agents",
        "user": "worker",
        "password": password,
    }


def test_postgres_without_a_password_leaves_it_out_of_the_conninfo() -> None:
    dsn = settings(POSTGRES_HOST="db.example", DRAGONFLY_HOST="cache.example").postgres_dsn
    assert "password" not in conninfo_to_dict(dsn)


def test_database_url_is_used_as_given() -> None:
    url = "postgresql://u:p%2Fw@db.example:5432/agents"
    assert settings(DATABASE_URL=url, DRAGONFLY_HOST="c").postgres_dsn == url


@pytest.mark.parametrize("password", PASSWORDS)
def test_dragonfly_parts_reach_the_redis_client_unchanged(password: str) -> None:
    client = redis_client(from_parts(password))
    options = client.connection_pool.connection_kwargs
    assert (options["host"], options["port"], options["password"], options["db"]) == (
        "cache.example",
        6380,
        password,
        0,
    )


def test_dragonfly_without_a_password_sends_none() -> None:
    client = redis_client(settings(POSTGRES_HOST="db", DRAGONFLY_HOST="cache.example"))
    assert client.connection_pool.connection_kwargs["password"] is None


def test_redis_url_wins_and_its_percent_encoded_password_is_decoded() -> None:
    config = settings(
        POSTGRES_HOST="db",
        REDIS_URL="redis://:p%2Fa%3Fs%23s@cache.example:6390/2",
        DRAGONFLY_HOST="ignored.example",
    )
    options = redis_client(config).connection_pool.connection_kwargs
    assert (options["host"], options["port"], options["password"], options["db"]) == (
        "cache.example",
        6390,
        "p/a?s#s",
        2,
    )


def test_extra_client_options_are_passed_through() -> None:
    client = redis_client(from_parts("pw"), socket_timeout=5)
    assert client.connection_pool.connection_kwargs["socket_timeout"] == 5


def test_the_settings_never_show_a_password() -> None:
    config = from_parts("p/a?s#s@w:o%rd")
    assert config.postgres_dsn and config.dragonfly_options  # computed and cached, still hidden
    assert "p/a?s#s@w:o%rd" not in f"{config!r} {config}"


def test_a_bad_fallback_model_list_is_refused_naming_the_setting() -> None:
    with pytest.raises(ValueError, match=r"LLM_FALLBACK_MODELS[\s\S]*'ollama:'"):
        settings(
            DATABASE_URL="postgresql://x", REDIS_URL="redis://x", LLM_FALLBACK_MODELS="o3,ollama:"
        )


def test_the_ollama_key_is_a_secret() -> None:
    config = settings(DATABASE_URL="postgresql://x", REDIS_URL="redis://x", OLLAMA_API_KEY="olk-1")
    assert "olk-1" not in f"{config!r} {config}"
