"""The CloudNativePG `Cluster` of a PostgresInstance, and its optional ScheduledBackup.

The operator (installed by the platform tree, apps/components/cloudnative-pg.yaml) creates
the pods, volumes and Services `<name>-rw`/`-ro`/`-r` from it; the owner's password comes
from the composed `<name>-credentials` Secret, which the operator also keeps the role's
password in step with. PostgreSQL's superuser gets no password (no network login).
"""

from __future__ import annotations

from typing import Any

from functions.agent_executor.databases.names import Store
from functions.agent_executor.databases.spec import (
    BACKUP_ACCESS_KEY_ID,
    BACKUP_SECRET_ACCESS_KEY,
    PostgresInstanceSpec,
    PostgresVersion,
)
from functions.agent_executor.spec import Size

CNPG_API_VERSION = "postgresql.cnpg.io/v1"
IMAGE_REPOSITORY = "ghcr.io/cloudnative-pg/postgresql"
# One pinned image per major version: the newest minor CloudNativePG 1.30 publishes (its
# `.github/pg_versions.json`), on the Debian trixie "system" flavour the operator defaults to.
# A minor update is a change here, shown for every claim by `agentplane diff`.
IMAGES: dict[PostgresVersion, str] = {
    14: f"{IMAGE_REPOSITORY}:14.24-system-trixie",
    15: f"{IMAGE_REPOSITORY}:15.19-system-trixie",
    16: f"{IMAGE_REPOSITORY}:16.15-system-trixie",
    17: f"{IMAGE_REPOSITORY}:17.11-system-trixie",
    18: f"{IMAGE_REPOSITORY}:18.6-system-trixie",
}

# (requests, limits) per size. Memory requests equal limits: an instance whose memory can be
# reclaimed is an instance the kernel may kill in the middle of a checkpoint.
SIZES: dict[Size, tuple[dict[str, str], dict[str, str]]] = {
    "micro": ({"cpu": "100m", "memory": "256Mi"}, {"cpu": "500m", "memory": "256Mi"}),
    "small": ({"cpu": "250m", "memory": "1Gi"}, {"cpu": "1", "memory": "1Gi"}),
    "medium": ({"cpu": "500m", "memory": "2Gi"}, {"cpu": "2", "memory": "2Gi"}),
    "large": ({"cpu": "1", "memory": "4Gi"}, {"cpu": "4", "memory": "4Gi"}),
}


def _backup(spec: PostgresInstanceSpec) -> dict[str, Any] | None:
    backup = spec.backup
    if backup is None:
        return None
    if backup.credentials_secret is None:
        credentials: dict[str, Any] = {"inheritFromIAMRole": True}
    else:
        credentials = {
            "accessKeyId": {"name": backup.credentials_secret, "key": BACKUP_ACCESS_KEY_ID},
            "secretAccessKey": {
                "name": backup.credentials_secret,
                "key": BACKUP_SECRET_ACCESS_KEY,
            },
        }
    store: dict[str, Any] = {
        "destinationPath": backup.destination_path,
        "s3Credentials": credentials,
        "wal": {"compression": "gzip"},
        "data": {"compression": "gzip"},
    }
    if backup.endpoint_url is not None:
        store["endpointURL"] = backup.endpoint_url
    return {"barmanObjectStore": store, "retentionPolicy": backup.retention_policy}


def build_cluster(store: Store, spec: PostgresInstanceSpec) -> dict[str, Any]:
    """Cluster `<name>`: `instances` pods of the pinned image, one database and its owner."""
    requests, limits = SIZES[spec.size]
    storage: dict[str, Any] = {"size": spec.storage.size}
    if spec.storage.storage_class is not None:
        storage["storageClass"] = spec.storage.storage_class
    cluster_spec: dict[str, Any] = {
        "description": f"PostgresInstance {store.namespace}/{store.name}",
        "instances": spec.instances,
        "imageName": IMAGES[spec.version],
        "imagePullPolicy": "IfNotPresent",
        "enableSuperuserAccess": False,
        "bootstrap": {
            "initdb": {
                "database": spec.database,
                "owner": spec.owner,
                "secret": {"name": store.credentials_name},
                "dataChecksums": True,
            }
        },
        "storage": storage,
        "resources": {"requests": dict(requests), "limits": dict(limits)},
        # A lone instance with a PodDisruptionBudget would block every node drain.
        "enablePDB": spec.instances > 1,
        "primaryUpdateStrategy": "unsupervised",
        # The label the executors' NetworkPolicies select the database pods by.
        "inheritedMetadata": {"labels": store.pod_labels()},
    }
    backup = _backup(spec)
    if backup is not None:
        cluster_spec["backup"] = backup
    return {
        "apiVersion": CNPG_API_VERSION,
        "kind": "Cluster",
        "metadata": store.metadata(),
        "spec": cluster_spec,
    }


def build_scheduled_backup(store: Store, spec: PostgresInstanceSpec) -> dict[str, Any]:
    """ScheduledBackup `<name>-backup`: a base backup on `backup.schedule`, one right away."""
    assert spec.backup is not None  # composed only when backups are asked for
    return {
        "apiVersion": CNPG_API_VERSION,
        "kind": "ScheduledBackup",
        "metadata": store.metadata(store.backup_name),
        "spec": {
            "schedule": spec.backup.schedule,
            "cluster": {"name": store.name},
            "method": "barmanObjectStore",
            "backupOwnerReference": "self",
            "immediate": True,
        },
    }
