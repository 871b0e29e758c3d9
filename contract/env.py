"""Environment variable names the function sets and the worker reads, and Secret keys.

`FROM_SPEC` are the plain variables the composed Deployment sets from the XR spec;
the `*_KEYS` tuples are the keys read from the tenant's Secrets by `secretKeyRef`.
Every Deployment carries `FROM_SPEC` and `FROM_SECRETS`; `API_TOKEN_KEYS` only when the
claim names `api.tokenSecret`. A tenant's `env` may not set any of them (`RESERVED`).
"""

from __future__ import annotations

NATS_URL = "NATS_URL"
NATS_STREAM_NAME = "NATS_STREAM_NAME"
NATS_CONSUMER_GROUP = "NATS_CONSUMER_GROUP"
HOST = "HOST"
PORT = "PORT"
WORKER_CONCURRENCY = "WORKER_CONCURRENCY"
OTEL_SERVICE_NAME = "OTEL_SERVICE_NAME"
SHUTDOWN_TIMEOUT_SECONDS = "SHUTDOWN_TIMEOUT_SECONDS"
JOB_MAX_STEPS = "JOB_MAX_STEPS"
JOB_TIMEOUT_SECONDS = "JOB_TIMEOUT_SECONDS"
JOB_MAX_RESULT_BYTES = "JOB_MAX_RESULT_BYTES"
# The claim's `image`, for the heartbeats (a pod cannot read its own image otherwise).
EXECUTOR_IMAGE = "EXECUTOR_IMAGE"
# The folder where the Deployment mounts the `secrets.llmKeys` Secret: one file per key. The
# worker reads a key there before the variable of the same name and re-reads it when the
# kubelet updates the files, so a rotated key is used without a redeploy.
LLM_KEYS_DIR = "LLM_KEYS_DIR"
# Tool scripts run as the worker's user in production: they could read key files, so a
# worker with scripts enabled gets its keys as variables only (closed to scripts by the
# non-dumpable worker) and a rotated key with the next rollout.
ALLOW_TOOL_SCRIPTS = "ALLOW_TOOL_SCRIPTS"
# The strings the worker's settings read as true (pydantic's boolean parsing).
TRUE_STRINGS = frozenset({"1", "on", "t", "true", "y", "yes"})
# How often a worker publishes its heartbeat [15]; a tenant may tune it with `env`.
HEARTBEAT_SECONDS = "HEARTBEAT_SECONDS"

FROM_SPEC = (
    NATS_URL,
    NATS_STREAM_NAME,
    NATS_CONSUMER_GROUP,
    HOST,
    PORT,
    WORKER_CONCURRENCY,
    OTEL_SERVICE_NAME,
    SHUTDOWN_TIMEOUT_SECONDS,
    JOB_MAX_STEPS,
    JOB_TIMEOUT_SECONDS,
    JOB_MAX_RESULT_BYTES,
    EXECUTOR_IMAGE,
)

# From the pod itself (the downward API's fieldRef): who publishes a heartbeat.
POD_NAME = "POD_NAME"
POD_NAMESPACE = "POD_NAMESPACE"
FROM_POD = {POD_NAME: "metadata.name", POD_NAMESPACE: "metadata.namespace"}

POSTGRES_KEYS = (
    "POSTGRES_HOST",
    "POSTGRES_PORT",
    "POSTGRES_DB",
    "POSTGRES_USER",
    "POSTGRES_PASSWORD",
)
DRAGONFLY_KEYS = ("DRAGONFLY_HOST", "DRAGONFLY_PORT")
# Dragonfly without auth is common inside a cluster; the password stays optional.
DRAGONFLY_OPTIONAL_KEYS = ("DRAGONFLY_PASSWORD",)
LLM_KEYS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY")
# The tenant's NATS user in its own account (Secret `secrets.nats`, made by the
# ExternalSecret that `make tenants` generates from the tenant registry).
NATS_USER = "NATS_USER"
NATS_PASSWORD = "NATS_PASSWORD"  # noqa: S105 - the variable's name, not a password
NATS_KEYS = (NATS_USER, NATS_PASSWORD)

# The URL forms of the same connections: the worker prefers them when set. The Secrets a
# PostgresInstance and a DragonflyInstance compose carry them beside the keys above.
DATABASE_URL = "DATABASE_URL"
REDIS_URL = "REDIS_URL"
URL_KEYS = (DATABASE_URL, REDIS_URL)

# TLS to the stores (seed 001, security): optional keys of the same connection Secrets, so
# whoever provides the credentials (a PostgresInstance, a managed service's Secret) also says
# how to reach the server. SSLMODE is libpq's (`require`, `verify-full`, ...); the CA paths
# name a CA bundle file inside the container.
POSTGRES_SSLMODE = "POSTGRES_SSLMODE"
POSTGRES_SSLROOTCERT = "POSTGRES_SSLROOTCERT"
POSTGRES_TLS_KEYS = (POSTGRES_SSLMODE, POSTGRES_SSLROOTCERT)
DRAGONFLY_TLS = "DRAGONFLY_TLS"
DRAGONFLY_TLS_CA_FILE = "DRAGONFLY_TLS_CA_FILE"
DRAGONFLY_TLS_KEYS = (DRAGONFLY_TLS, DRAGONFLY_TLS_CA_FILE)

# Exactly the keys of the connection Secrets the database compositions write: what an
# AgentExecutor reads by `secretKeyRef`, plus the URL form (for psql, run-migrations.sh, tools).
POSTGRES_CONNECTION_KEYS = (*POSTGRES_KEYS, POSTGRES_SSLMODE, DATABASE_URL)
DRAGONFLY_CONNECTION_KEYS = (*DRAGONFLY_KEYS, *DRAGONFLY_OPTIONAL_KEYS, REDIS_URL)

FROM_SECRETS = (
    *POSTGRES_KEYS,
    *POSTGRES_TLS_KEYS,
    *DRAGONFLY_KEYS,
    *DRAGONFLY_OPTIONAL_KEYS,
    *DRAGONFLY_TLS_KEYS,
    *LLM_KEYS,
    *NATS_KEYS,
)

# The bearer token of the worker's job routes, from the Secret `api.tokenSecret` names.
# Kept out of FROM_SECRETS: a Deployment carries it only when the claim names that Secret.
API_TOKEN = "API_TOKEN"  # noqa: S105 - the variable's name, not a token
API_TOKEN_KEYS = (API_TOKEN,)

# Set by the platform; a tenant overriding one would silently break the contract (and a
# plain `env` API_TOKEN would put the token in the claim, in git, in every render). The URL
# forms are reserved too: the worker prefers them, so a plain `env` DATABASE_URL would
# silently win over the connection Secret and put a password in git.
RESERVED = (*FROM_SPEC, LLM_KEYS_DIR, *FROM_POD, *FROM_SECRETS, *API_TOKEN_KEYS, *URL_KEYS)
