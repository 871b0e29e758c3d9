"""Deterministic names, labels and endpoints of what a PostgresInstance or DragonflyInstance
composes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from contract import stores
from functions.agent_executor.names import PART_OF

# Composition resource names: the keys of desired/observed resources.
CLUSTER = "cluster"
CREDENTIALS = "credentials"
CONNECTION_SECRET = "connection-secret"  # noqa: S105 - a resource name, not a secret
SCHEDULED_BACKUP = "scheduled-backup"
DRAGONFLY = "dragonfly"

POSTGRES_RESOURCE_NAMES = (CREDENTIALS, CLUSTER, CONNECTION_SECRET, SCHEDULED_BACKUP)
DRAGONFLY_RESOURCE_NAMES = (DRAGONFLY, CONNECTION_SECRET)

# CloudNativePG names the cluster's Services and Jobs after it and refuses names above 50
# characters; the Dragonfly operator's StatefulSet pods carry `<name>-<revision hash>`
# labels, which must stay within 63 characters.
POSTGRES_NAME_MAX = 50
DRAGONFLY_NAME_MAX = 52


@dataclass(frozen=True)
class Store:
    """Identity of one database or cache: its XR's name and namespace, and its kind."""

    name: str
    namespace: str
    store: str  # contract.stores.POSTGRES_STORE or DRAGONFLY_STORE

    @property
    def component(self) -> str:
        """The `app.kubernetes.io/component` of what it composes."""
        return "database" if self.store == stores.POSTGRES_STORE else "cache"

    @property
    def host(self) -> str:
        """The in-cluster name of the Service clients connect to (the primary, the master)."""
        if self.store == stores.POSTGRES_STORE:
            return f"{self.name}{stores.POSTGRES_SERVICE_SUFFIX}.{self.namespace}.svc"
        return f"{self.name}.{self.namespace}.svc"

    @property
    def port(self) -> int:
        """The port of that Service."""
        if self.store == stores.POSTGRES_STORE:
            return stores.POSTGRES_PORT
        return stores.DRAGONFLY_PORT

    @property
    def credentials_name(self) -> str:
        """The Secret CloudNativePG bootstraps the owner's password from."""
        return f"{self.name}-credentials"

    @property
    def backup_name(self) -> str:
        """The ScheduledBackup."""
        return f"{self.name}-backup"

    def labels(self) -> dict[str, str]:
        """The recommended `app.kubernetes.io/*` labels of every composed resource."""
        return {
            "app.kubernetes.io/name": self.store,
            "app.kubernetes.io/instance": self.name,
            "app.kubernetes.io/component": self.component,
            "app.kubernetes.io/part-of": PART_OF,
            "app.kubernetes.io/managed-by": "crossplane",
        }

    def metadata(self, name: str | None = None) -> dict[str, Any]:
        """Metadata of a composed resource: `name` (default the XR's), namespace and labels."""
        return {"name": name or self.name, "namespace": self.namespace, "labels": self.labels()}

    def pod_labels(self) -> dict[str, str]:
        """Labels the operator puts on the pods: the executor's NetworkPolicy selects them."""
        return {stores.STORE_LABEL: self.store}
