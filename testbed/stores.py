"""A tenant's PostgresInstance and DragonflyInstance, run on this machine as their operators
would run them in the cluster.

The function composes them exactly as Crossplane has it compose them (`render_claims` gives
each claim the `metadata.uid` the API server assigns, so the password is generated as at the
first reconcile, not shown as render's placeholder). From the composed resources:

- PostgreSQL: a server of its own per instance (CloudNativePG runs one cluster per
  `Cluster`), the owner role and database created from the composed `Cluster`'s
  `bootstrap.initdb` and the basic-auth Secret it names, as CloudNativePG's initdb does;
- Dragonfly: a `redis-server` of its own requiring the password the composed `Dragonfly`'s
  `authentication.passwordFromSecret` names;
- the composed connection Secret, unchanged but for where the store's Service resolves to
  (`at_local_address`): the keys, the user, the password and the database are the function's.
"""

from __future__ import annotations

import base64
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from contract import env as env_contract
from functions.agent_executor.builders.connection_secrets import PASSWORD_KEY, USERNAME_KEY
from functions.agent_executor.databases.spec import DRAGONFLY_KIND, POSTGRES_KIND
from testbed.deployment import Executor
from testbed.servers import local_postgres_server, local_redis_server
from testbed.tls import make_tls

STORE_KINDS = (POSTGRES_KIND, DRAGONFLY_KIND)
LOOPBACK = "127.0.0.1"


class StoreError(ValueError):
    """A composed database or cache this machine cannot run as composed; says what."""


def secret_data(secret: Mapping[str, Any]) -> dict[str, str]:
    """A composed Secret's values, decoded as the kubelet hands them to a container."""
    if "stringData" in secret:
        raise StoreError(f"Secret {secret['metadata']['name']} uses stringData")
    return {
        key: base64.b64decode(value).decode("utf-8")
        for key, value in (secret.get("data") or {}).items()
    }


def at_local_address(
    data: Mapping[str, str], *, host_key: str, port_key: str, url_key: str, port: int
) -> dict[str, str]:
    """The connection Secret with the store's Service replaced by a loopback port: the host and
    port keys, and the host and port inside the URL (its user, password and path kept)."""
    url = urlsplit(data[url_key])
    userinfo = url.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@{LOOPBACK}:{port}" if userinfo else f"{LOOPBACK}:{port}"
    return {
        **data,
        host_key: LOOPBACK,
        port_key: str(port),
        url_key: urlunsplit(url._replace(netloc=netloc)),
    }


@dataclass
class TenantStores:
    """The Secrets a tenant's store claims produced, as the cluster would hold them."""

    namespace: str
    secrets: dict[str, dict[str, str]] = field(default_factory=dict)


def _one(resources: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = [r for r in resources if r.get("kind") == kind]
    if len(found) != 1:
        raise StoreError(f"expected one composed {kind}, found {len(found)}")
    return found[0]


def _secrets_by_name(resources: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    return {
        r["metadata"]["name"]: secret_data(r)
        for r in resources
        if r.get("apiVersion") == "v1" and r.get("kind") == "Secret"
    }


@contextmanager
def running_postgres(store: Executor) -> Iterator[dict[str, dict[str, str]]]:
    """A PostgreSQL server for one rendered PostgresInstance; yields its Secrets, the
    connection Secret pointing at the server."""
    secrets = _secrets_by_name(store.resources)
    initdb = _one(store.resources, "Cluster")["spec"]["bootstrap"]["initdb"]
    credentials = secrets[initdb["secret"]["name"]]
    if credentials[USERNAME_KEY] != initdb["owner"]:
        raise StoreError(
            f"{store.name}: the credentials Secret's user {credentials[USERNAME_KEY]!r} is not "
            f"the owner {initdb['owner']!r}: CloudNativePG would refuse to bootstrap"
        )
    (connection_name,) = [
        name
        for name, data in secrets.items()
        if set(data) == set(env_contract.POSTGRES_CONNECTION_KEYS)
    ]
    # CloudNativePG serves TLS (the composed Secret requires it), with a CA of its own.
    certificates = Path(tempfile.mkdtemp(prefix="cnpg-tls-"))
    with ExitStack() as cleanup:
        cleanup.callback(shutil.rmtree, certificates, True)
        server = cleanup.enter_context(
            local_postgres_server(require_passwords=True, tls=make_tls(certificates, store.name))
        )
        with psycopg.connect(server.url, autocommit=True) as admin:
            admin.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(initdb["owner"]), sql.Literal(credentials[PASSWORD_KEY])
                )
            )
            admin.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(initdb["database"]), sql.Identifier(initdb["owner"])
                )
            )
        host, port, _, _, _ = env_contract.POSTGRES_KEYS
        secrets[connection_name] = at_local_address(
            secrets[connection_name],
            host_key=host,
            port_key=port,
            url_key=env_contract.DATABASE_URL,
            port=server.port,
        )
        yield secrets


@contextmanager
def running_dragonfly(store: Executor) -> Iterator[dict[str, dict[str, str]]]:
    """A password-protected Redis for one rendered DragonflyInstance; yields its Secrets, the
    connection Secret pointing at the server."""
    secrets = _secrets_by_name(store.resources)
    source = _one(store.resources, "Dragonfly")["spec"]["authentication"]["passwordFromSecret"]
    connection = secrets[source["name"]]
    with local_redis_server(password=connection[source["key"]]) as server:
        host, port = env_contract.DRAGONFLY_KEYS
        secrets[source["name"]] = at_local_address(
            connection,
            host_key=host,
            port_key=port,
            url_key=env_contract.REDIS_URL,
            port=server.port,
        )
        yield secrets


@contextmanager
def running_stores(rendered: list[Executor], namespace: str) -> Iterator[TenantStores]:
    """Every PostgresInstance and DragonflyInstance of the tenant, running; the Secrets they
    produced, by name."""
    stores = TenantStores(namespace)
    with ExitStack() as stack:
        for store in rendered:
            if store.namespace != namespace or store.claim["kind"] not in STORE_KINDS:
                continue
            start = running_postgres if store.claim["kind"] == POSTGRES_KIND else running_dragonfly
            for name, data in stack.enter_context(start(store)).items():
                if name in stores.secrets:
                    raise StoreError(f"{namespace}: two stores compose Secret {name}")
                stores.secrets[name] = data
        yield stores
