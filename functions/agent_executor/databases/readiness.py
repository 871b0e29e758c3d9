"""Readiness of a database or cache, and its XR status, from the operators' observed status
(pure, total: a field of the wrong shape makes the resource not ready, naming the field)."""

from __future__ import annotations

from functions.agent_executor.databases import names
from functions.agent_executor.databases.names import Store
from functions.agent_executor.databases.spec import (
    DragonflyInstanceSpec,
    DragonflyInstanceStatus,
    PostgresInstanceSpec,
    PostgresInstanceStatus,
)
from functions.agent_executor.observed import ObservedReader
from functions.agent_executor.readiness import Readiness, unreadable

POSTGRES_CONDITION = "DatabaseReady"
DRAGONFLY_CONDITION = "CacheReady"

# CloudNativePG's phase of a cluster with nothing left to do.
CNPG_HEALTHY = "Cluster in healthy state"
# The Dragonfly operator's phase once replication is configured ("ready" before v1.2).
DRAGONFLY_READY = ("Ready", "ready")


def _text(read: ObservedReader, path: str) -> str:
    value = read.value(path)
    if value is None:
        return ""
    if not isinstance(value, str):
        read.note(path, value, "a string")
        return ""
    return value


def cluster_readiness(observed: object, spec: PostgresInstanceSpec) -> Readiness:
    """Ready: CloudNativePG reports the cluster Ready, or healthy with every instance ready.

    Either way the primary accepts connections, as far as the operator can tell: it marks
    an instance ready only once PostgreSQL answers on it.
    """
    read = ObservedReader(observed)
    ready_instances = read.count("status.readyInstances")
    phase = _text(read, "status.phase")
    condition = read.condition("Ready")
    if read.problems:
        return unreadable(read.problems)
    summary = f"{ready_instances}/{spec.instances} instances ready"
    if ready_instances < 1:
        detail = phase or "no status from the operator yet"
        return Readiness(False, "ClusterNotReady", f"{summary}: {detail}")
    if condition is not None and condition.status == "True":
        return Readiness(True, "ClusterReady", f"{summary}: {phase or 'ready'}")
    if phase == CNPG_HEALTHY and ready_instances >= spec.instances:
        return Readiness(True, "ClusterReady", f"{summary}: {phase}")
    detail = (condition.message if condition else "") or phase or "not ready"
    return Readiness(False, "ClusterNotReady", f"{summary}: {detail}")


def dragonfly_readiness(observed: object) -> Readiness:
    """Ready: the operator's phase is Ready (master and replicas configured), no rollout."""
    read = ObservedReader(observed)
    phase = _text(read, "status.phase")
    rolling = read.value("status.isRollingUpdate")
    if rolling is not None and not isinstance(rolling, bool):
        read.note("status.isRollingUpdate", rolling, "a boolean")
    if read.problems:
        return unreadable(read.problems)
    if phase not in DRAGONFLY_READY:
        return Readiness(
            False, "DragonflyNotReady", f"phase {phase}" if phase else "no phase from the operator"
        )
    if rolling is True:
        return Readiness(False, "RollingUpdate", "the operator is rolling the pods")
    return Readiness(True, "DragonflyReady", f"phase {phase}")


def store_resource_readiness(
    name: str, observed: object | None, spec: PostgresInstanceSpec | DragonflyInstanceSpec
) -> Readiness:
    """Readiness of the composed resource `name` given what Crossplane observed of it."""
    if observed is None:
        return Readiness(False, "Creating", "not observed yet")
    if name == names.CLUSTER and isinstance(spec, PostgresInstanceSpec):
        return cluster_readiness(observed, spec)
    if name == names.DRAGONFLY:
        return dragonfly_readiness(observed)
    return Readiness(True, "Exists")


def postgres_status(
    store: Store, spec: PostgresInstanceSpec, observed_cluster: object | None
) -> PostgresInstanceStatus:
    """The status fields the function owns on a PostgresInstance (never the password)."""
    read = ObservedReader(observed_cluster)
    return PostgresInstanceStatus(
        endpoint=f"postgresql://{store.host}:{store.port}/{spec.database}",
        host=store.host,
        port=store.port,
        database=spec.database,
        connection_secret=spec.connection_secret.name,
        version=spec.version,
        instances=spec.instances,
        ready_instances=read.count("status.readyInstances"),
        phase=_text(read, "status.phase") or None,
    )


def dragonfly_status(
    store: Store, spec: DragonflyInstanceSpec, observed_dragonfly: object | None
) -> DragonflyInstanceStatus:
    """The status fields the function owns on a DragonflyInstance (never the password)."""
    read = ObservedReader(observed_dragonfly)
    return DragonflyInstanceStatus(
        endpoint=f"redis://{store.host}:{store.port}",
        host=store.host,
        port=store.port,
        connection_secret=spec.connection_secret.name,
        replicas=spec.replicas,
        phase=_text(read, "status.phase") or None,
    )
