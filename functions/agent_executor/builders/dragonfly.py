"""The `Dragonfly` resource of a DragonflyInstance.

The Dragonfly operator (installed by the platform tree, apps/components/dragonfly-operator.yaml)
creates the StatefulSet and the Service `<name>` that follows the master; the password it
requires comes from the connection Secret the function composes beside it.
"""

from __future__ import annotations

from typing import Any

from contract import env
from functions.agent_executor.databases.names import Store
from functions.agent_executor.databases.spec import DragonflyInstanceSpec
from functions.agent_executor.spec import Size

DRAGONFLY_API_VERSION = "dragonflydb.io/v1alpha1"

# (requests, limits, threads) per size. Dragonfly wants 256Mi per thread at the least and
# sizes itself to the container's memory limit; memory requests equal limits so a cache that
# holds live streams is never the first thing the kernel reclaims.
SIZES: dict[Size, tuple[dict[str, str], dict[str, str], int]] = {
    "micro": ({"cpu": "100m", "memory": "512Mi"}, {"cpu": "1", "memory": "512Mi"}, 1),
    "small": ({"cpu": "250m", "memory": "1Gi"}, {"cpu": "1", "memory": "1Gi"}, 1),
    "medium": ({"cpu": "500m", "memory": "2Gi"}, {"cpu": "2", "memory": "2Gi"}, 2),
    "large": ({"cpu": "1", "memory": "4Gi"}, {"cpu": "4", "memory": "4Gi"}, 4),
}


def build_dragonfly(store: Store, spec: DragonflyInstanceSpec) -> dict[str, Any]:
    """Dragonfly `<name>`: `replicas` pods, password from the connection Secret."""
    requests, limits, threads = SIZES[spec.size]
    (password_key,) = env.DRAGONFLY_OPTIONAL_KEYS
    return {
        "apiVersion": DRAGONFLY_API_VERSION,
        "kind": "Dragonfly",
        "metadata": store.metadata(),
        "spec": {
            "replicas": spec.replicas,
            "resources": {"requests": dict(requests), "limits": dict(limits)},
            # One thread per CPU of the limit: Dragonfly would otherwise start one per CPU
            # of the node and ask for more memory than the limit gives it.
            "args": [f"--proactor_threads={threads}"],
            "authentication": {
                "passwordFromSecret": {"name": spec.connection_secret.name, "key": password_key}
            },
            # The label the executors' NetworkPolicies select the cache pods by.
            "podMetadata": {"labels": store.pod_labels()},
        },
    }
