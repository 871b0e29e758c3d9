"""Environment variable names the function sets and the worker reads, and Secret keys.

`FROM_SPEC` are the plain variables the composed Deployment sets from the XR spec;
the `*_KEYS` tuples are the keys read from the tenant's Secrets by `secretKeyRef`.
A tenant's `env` may not set any of them (`RESERVED`).
"""

from __future__ import annotations

NATS_URL = "NATS_URL"
NATS_STREAM_NAME = "NATS_STREAM_NAME"
NATS_CONSUMER_GROUP = "NATS_CONSUMER_GROUP"
PORT = "PORT"
WORKER_CONCURRENCY = "WORKER_CONCURRENCY"
OTEL_SERVICE_NAME = "OTEL_SERVICE_NAME"
SHUTDOWN_TIMEOUT_SECONDS = "SHUTDOWN_TIMEOUT_SECONDS"
JOB_MAX_STEPS = "JOB_MAX_STEPS"
JOB_TIMEOUT_SECONDS = "JOB_TIMEOUT_SECONDS"
JOB_MAX_RESULT_BYTES = "JOB_MAX_RESULT_BYTES"

FROM_SPEC = (
    NATS_URL,
    NATS_STREAM_NAME,
    NATS_CONSUMER_GROUP,
    PORT,
    WORKER_CONCURRENCY,
    OTEL_SERVICE_NAME,
    SHUTDOWN_TIMEOUT_SECONDS,
    JOB_MAX_STEPS,
    JOB_TIMEOUT_SECONDS,
    JOB_MAX_RESULT_BYTES,
)

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

FROM_SECRETS = (*POSTGRES_KEYS, *DRAGONFLY_KEYS, *DRAGONFLY_OPTIONAL_KEYS, *LLM_KEYS)

# Set by the platform; a tenant overriding one would silently break the contract.
RESERVED = (*FROM_SPEC, *FROM_SECRETS)
