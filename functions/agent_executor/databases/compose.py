"""Admit a PostgresInstance or DragonflyInstance, then build what it composes (pure).

Unlike an AgentExecutor, what a database composes depends on observed state as well as on
its spec (the password is read back from the Secrets composed before), so nothing here is
memoised: every call builds from the request.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from contract import env, stores
from functions.agent_executor.builders.connection_secrets import (
    PASSWORD_KEY,
    build_credentials_secret,
    build_dragonfly_connection_secret,
    build_postgres_connection_secret,
)
from functions.agent_executor.builders.dragonfly import build_dragonfly
from functions.agent_executor.builders.postgres import build_cluster, build_scheduled_backup
from functions.agent_executor.databases import names
from functions.agent_executor.databases.admission import admit_dragonfly, admit_postgres
from functions.agent_executor.databases.names import Store
from functions.agent_executor.databases.passwords import Password, Source, resolve
from functions.agent_executor.databases.readiness import (
    DRAGONFLY_CONDITION,
    POSTGRES_CONDITION,
    dragonfly_status,
    postgres_status,
)
from functions.agent_executor.databases.spec import (
    DRAGONFLY_KIND,
    POSTGRES_KIND,
    DragonflyInstanceSpec,
    PostgresInstanceSpec,
)

StoreSpec = PostgresInstanceSpec | DragonflyInstanceSpec


@dataclass(frozen=True)
class StoreKind:
    """How the function serves one of the database kinds."""

    kind: str
    store: str
    condition: str
    # The composed resource whose operator status is the XR's status.
    main_resource: str
    admit: Callable[[str, str, Any], Any]
    password_sources: tuple[Source, ...]
    build: Callable[[Store, Any, Password], dict[str, dict[str, Any]]]
    status: Callable[[Store, Any, object | None], BaseModel]


def postgres_resources(
    store: Store, spec: PostgresInstanceSpec, password: Password
) -> dict[str, dict[str, Any]]:
    """Every resource a PostgresInstance composes, keyed by composition resource name."""
    resources = {
        names.CREDENTIALS: build_credentials_secret(store, spec, password),
        names.CLUSTER: build_cluster(store, spec),
        names.CONNECTION_SECRET: build_postgres_connection_secret(store, spec, password),
    }
    if spec.backup is not None:
        resources[names.SCHEDULED_BACKUP] = build_scheduled_backup(store, spec)
    return resources


def dragonfly_resources(
    store: Store, spec: DragonflyInstanceSpec, password: Password
) -> dict[str, dict[str, Any]]:
    """Every resource a DragonflyInstance composes, keyed by composition resource name."""
    return {
        names.DRAGONFLY: build_dragonfly(store, spec),
        names.CONNECTION_SECRET: build_dragonfly_connection_secret(store, spec, password),
    }


POSTGRES = StoreKind(
    kind=POSTGRES_KIND,
    store=stores.POSTGRES_STORE,
    condition=POSTGRES_CONDITION,
    main_resource=names.CLUSTER,
    admit=admit_postgres,
    # The credentials Secret is what the database bootstrapped from and is kept in step
    # with; the connection Secret is the fallback.
    password_sources=(
        Source(names.CREDENTIALS, PASSWORD_KEY),
        Source(names.CONNECTION_SECRET, env.POSTGRES_KEYS[-1]),
    ),
    build=postgres_resources,
    status=postgres_status,
)
DRAGONFLY = StoreKind(
    kind=DRAGONFLY_KIND,
    store=stores.DRAGONFLY_STORE,
    condition=DRAGONFLY_CONDITION,
    main_resource=names.DRAGONFLY,
    admit=admit_dragonfly,
    password_sources=(Source(names.CONNECTION_SECRET, env.DRAGONFLY_OPTIONAL_KEYS[0]),),
    build=dragonfly_resources,
    status=dragonfly_status,
)
STORE_KINDS: dict[str, StoreKind] = {k.kind: k for k in (POSTGRES, DRAGONFLY)}


@dataclass(frozen=True)
class ComposedStore:
    """The verdict on one XR and, when admitted, its desired resources."""

    store: Store
    spec: StoreSpec | None
    errors: tuple[str, ...] = ()
    resources: Mapping[str, dict[str, Any]] | None = None


def compose_store(
    kind: StoreKind,
    name: str,
    namespace: str,
    raw_spec: object,
    observed: Mapping[str, object],
    *,
    live: bool,
) -> ComposedStore:
    """Admit the XR, resolve its password from `observed` and build every resource.

    `live` is false for an XR read from a file (render): the password is then a placeholder.
    Never raises for any input; an unreadable stored password is an error, not a new one.
    """
    store = Store(name=name, namespace=namespace, store=kind.store)
    verdict = kind.admit(name, namespace, raw_spec)
    if verdict.spec is None:
        return ComposedStore(store, None, tuple(verdict.errors))
    try:
        password = resolve(observed, kind.password_sources, live=live)
    except ValueError as exc:
        return ComposedStore(store, None, (str(exc),))
    return ComposedStore(store, verdict.spec, (), kind.build(store, verdict.spec, password))
