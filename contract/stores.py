"""What the database and cache compositions and the AgentExecutor's NetworkPolicy agree on.

A `PostgresInstance` labels its PostgreSQL pods and a `DragonflyInstance` its Dragonfly pods
with `STORE_LABEL`; every AgentExecutor's NetworkPolicy lets the executor reach the pods of
its own namespace that carry it, on the port of their kind, and nothing else of the namespace.
"""

from __future__ import annotations

STORE_LABEL = "platform.bizmatters.io/store"
POSTGRES_STORE = "postgres"
DRAGONFLY_STORE = "dragonfly"

# The ports the operators' pods and Services listen on (CloudNativePG and the Dragonfly
# operator fix them); the connection Secrets carry them as POSTGRES_PORT / DRAGONFLY_PORT.
POSTGRES_PORT = 5432
DRAGONFLY_PORT = 6379

# Where a connection Secret points, relative to the XR's name: CloudNativePG serves the
# primary (read-write) as `<cluster>-rw`, the Dragonfly operator the master as `<name>`.
POSTGRES_SERVICE_SUFFIX = "-rw"
