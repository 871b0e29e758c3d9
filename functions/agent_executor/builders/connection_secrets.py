"""The Secrets a PostgresInstance or DragonflyInstance composes: what the executor reads, and
the credentials CloudNativePG bootstraps the database owner from.

Values go in `data` (base64), never `stringData`: the API server stores only `data`, so what
the function applies is exactly what Crossplane observes and reads the password back from.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

from contract import env
from functions.agent_executor.builders.manifest import manifest
from functions.agent_executor.databases.names import Store
from functions.agent_executor.databases.passwords import Password
from functions.agent_executor.databases.spec import DragonflyInstanceSpec, PostgresInstanceSpec

# CloudNativePG reads the owner's credentials from these keys of a basic-auth Secret.
USERNAME_KEY = "username"
PASSWORD_KEY = "password"  # noqa: S105 - a key name, not a password
POSTGRES_SSLMODE = "require"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _secret(
    store: Store, name: str, values: dict[str, str], kind: str = "Opaque"
) -> dict[str, Any]:
    return manifest(
        "v1",
        "Secret",
        store.metadata(name),
        type=kind,
        data={key: _b64(value) for key, value in values.items()},
    )


def postgres_connection(
    store: Store, spec: PostgresInstanceSpec, password: Password
) -> dict[str, str]:
    """The connection Secret's keys and values (`env.POSTGRES_CONNECTION_KEYS`, in order).

    TLS is required: CloudNativePG always serves it (with a CA of its own, so `require`
    rather than `verify-full`, which would need that CA mounted in the executor's pods).
    """
    url = (
        f"postgresql://{quote(spec.owner, safe='')}:{quote(password.value, safe='')}"
        f"@{store.host}:{store.port}/{quote(spec.database, safe='')}"
        f"?sslmode={POSTGRES_SSLMODE}"
    )
    values = (
        store.host,
        str(store.port),
        spec.database,
        spec.owner,
        password.value,
        POSTGRES_SSLMODE,
        url,
    )
    return dict(zip(env.POSTGRES_CONNECTION_KEYS, values, strict=True))


def dragonfly_connection(store: Store, password: Password) -> dict[str, str]:
    """The connection Secret's keys and values (`env.DRAGONFLY_CONNECTION_KEYS`, in order)."""
    url = f"redis://:{quote(password.value, safe='')}@{store.host}:{store.port}/0"
    return dict(
        zip(
            env.DRAGONFLY_CONNECTION_KEYS,
            (store.host, str(store.port), password.value, url),
            strict=True,
        )
    )


def build_postgres_connection_secret(
    store: Store, spec: PostgresInstanceSpec, password: Password
) -> dict[str, Any]:
    """Secret `connectionSecret.name` with exactly the keys an AgentExecutor reads, plus
    DATABASE_URL."""
    return _secret(store, spec.connection_secret.name, postgres_connection(store, spec, password))


def build_credentials_secret(
    store: Store, spec: PostgresInstanceSpec, password: Password
) -> dict[str, Any]:
    """Secret `<name>-credentials` (basic-auth) that CloudNativePG creates the owner with and
    keeps the owner's password in step with."""
    return _secret(
        store,
        store.credentials_name,
        {USERNAME_KEY: spec.owner, PASSWORD_KEY: password.value},
        kind="kubernetes.io/basic-auth",
    )


def build_dragonfly_connection_secret(
    store: Store, spec: DragonflyInstanceSpec, password: Password
) -> dict[str, Any]:
    """Secret `connectionSecret.name` with the keys an AgentExecutor reads, plus REDIS_URL;
    Dragonfly takes its password from the same Secret."""
    return _secret(store, spec.connection_secret.name, dragonfly_connection(store, password))
