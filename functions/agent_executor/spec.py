"""The `AgentExecutor` API: the one source of the XR spec.

The pydantic models here are what the function validates against, and the
XRD's openAPIV3 schema is generated from them (see `xrd.py`). Every constraint
is written so that it translates to the structural-schema subset the API
server understands: patterns, bounds, enums and CEL rules. A test renders the
XRD from these models and compares it with the committed file.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, model_validator
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from contract import env as env_contract
from contract import limits as limits_contract
from contract import nats as nats_contract
from contract import runtime, stores

API_GROUP = "platform.bizmatters.io"
API_VERSION = "v1alpha1"
KIND = "AgentExecutor"
PLURAL = "agentexecutors"
COMPOSITE_API_VERSION = f"{API_GROUP}/{API_VERSION}"

# Patterns use the RE2/ECMA subset shared by the API server, pydantic (Rust
# regex) and Python's `re`, so one string means the same everywhere.
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
# Namespace names are DNS-1123 labels: no dots, at most 63 characters (checked by maxLength).
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
# A distribution-spec reference: optional registry host[:port], lower-case path
# components, optional tag, optional sha256 digest.
IMAGE_REFERENCE = (
    r"^((localhost|[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)+"
    r"|[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?:[0-9]+|\[[0-9a-fA-F:]+\](:[0-9]+)?)"
    r"(:[0-9]+)?/)?"
    r"[a-z0-9]+(([._]|__|-+)[a-z0-9]+)*(/[a-z0-9]+(([._]|__|-+)[a-z0-9]+)*)*"
    r"(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?"
    r"(@sha256:[a-f0-9]{64})?$"
)
NATS_URL_LIST = r"^(nats|tls|ws|wss)://[^\s,/]+(,(nats|tls|ws|wss)://[^\s,/]+)*$"
# JetStream stream and consumer names: no whitespace, dots, wildcards or path separators.
NATS_NAME = r"^[A-Za-z0-9_-]+$"
NATS_SUBJECT = r"^(>|([^.\s*>]+|\*)(\.([^.\s*>]+|\*))*(\.>)?)$"
NATS_ACCOUNT = r"^[^.\s*>]+$"
HOST_PORT = r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?:[0-9]{1,5}$"
ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
LABEL_VALUE = r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$"
AGE = r"^[1-9][0-9]*[smhdw]$"
CRON = r"^(@(yearly|annually|monthly|weekly|daily|hourly)|\S+( \S+){4})$"
# A Kubernetes quantity without a sign (negative requests are never meant) and
# with an integer exponent, the only kind the quantity parser accepts.
QUANTITY = (
    r"^(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))"
    r"(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?[0-9]+))?$"
)

_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
# An IPv4 CIDR, or the shape of an IPv6 one; admission parses it for real (host bits, groups).
CIDR = (
    rf"^(({_OCTET}\.){{3}}{_OCTET}/([0-9]|[12][0-9]|3[0-2])"
    r"|[0-9a-fA-F:]*:[0-9a-fA-F:.]*/([0-9]|[1-9][0-9]|1[01][0-9]|12[0-8]))$"
)

# What each pattern means, for error messages a person can act on.
PATTERN_HINTS: dict[str, str] = {
    DNS_SUBDOMAIN: "must be a lower-case DNS-1123 subdomain (a-z, 0-9, '-', '.'), "
    "starting and ending with an alphanumeric character",
    DNS_LABEL: "must be a DNS-1123 label, as namespace names are (a-z, 0-9, '-', no dots), "
    "starting and ending with an alphanumeric character",
    IMAGE_REFERENCE: "must be an OCI image reference such as "
    "'ghcr.io/org/agent:1.2.3' or 'registry:5000/agent@sha256:<64 hex>'",
    NATS_URL_LIST: "must be a comma-separated list of nats://, tls://, ws:// or wss:// URLs",
    NATS_NAME: "must contain only letters, digits, '-' and '_' (no dots, spaces or wildcards)",
    NATS_SUBJECT: "must be a NATS subject: dot-separated tokens, '*' wildcards, '>' only last",
    NATS_ACCOUNT: "must be a NATS account name without dots, spaces or wildcards",
    HOST_PORT: "must be host:port",
    ENV_NAME: "must be a C identifier (letters, digits, '_', not starting with a digit)",
    LABEL_VALUE: "must be a label value: at most 63 letters, digits, '-', '_' and '.', "
    "starting and ending with a letter or digit (or empty)",
    AGE: "must be a positive age such as '7d', '12h', '30m' or '2w'",
    CRON: "must be a five-field cron schedule such as '17 3 * * *', or @daily",
    QUANTITY: "must be a non-negative Kubernetes quantity such as '500m', '2', '1Gi'",
    CIDR: "must be an IPv4 or IPv6 network in CIDR notation, such as '10.20.0.0/16'",
}

# Env names the function sets itself; a tenant overriding one would silently
# break the worker's contract, so the API refuses them.
RESERVED_ENV = env_contract.RESERVED

SecretName = Annotated[str, Field(pattern=DNS_SUBDOMAIN, min_length=1, max_length=253)]
# A Kubernetes label value: empty, or up to 63 alphanumerics with '-', '_', '.' inside.
LabelValue = Annotated[str, Field(pattern=LABEL_VALUE, max_length=63)]
NamespaceName = Annotated[str, Field(pattern=DNS_LABEL, min_length=1, max_length=63)]
Quantity = (
    Annotated[StrictInt, Field(ge=0)] | Annotated[str, Field(pattern=QUANTITY, max_length=64)]
)
Size = Literal["micro", "small", "medium", "large"]


def _object_default() -> dict[str, Any]:
    # Marks a nested object whose XRD default is `{}`, so the API server
    # applies the inner defaults even when the tenant omits the whole block.
    return {"default": {}}


class _Model(BaseModel):
    """Base for every spec block: camelCase on the wire, strict types, no unknown fields."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        strict=True,
        frozen=True,
    )


# The base of every spec block, for the other kinds this function serves.
SpecModel = _Model


def object_default() -> dict[str, Any]:
    """`json_schema_extra` of a nested block whose XRD default is `{}`."""
    return _object_default()


class LocalObjectReference(_Model):
    """A reference to a Secret in the XR's namespace."""

    name: SecretName = Field(description="Name of the Secret.")


class ResourceAmounts(_Model):
    """CPU and memory amounts; either may be omitted to keep the size's value."""

    cpu: Quantity | None = Field(
        default=None,
        description="CPU, e.g. '500m' or 2.",
        json_schema_extra={"x-kubernetes-int-or-string": True},
    )
    memory: Quantity | None = Field(
        default=None,
        description="Memory, e.g. '1Gi'.",
        json_schema_extra={"x-kubernetes-int-or-string": True},
    )


class Resources(_Model):
    """An explicit override of the size table."""

    requests: ResourceAmounts | None = Field(default=None, description="Requested amounts.")
    limits: ResourceAmounts | None = Field(default=None, description="Limits.")


class NatsSpec(_Model):
    """Where the worker reads jobs from and how KEDA measures the backlog."""

    url: str = Field(
        default=nats_contract.DEFAULT_URL,
        pattern=NATS_URL_LIST,
        max_length=1024,
        description="NATS client URL(s); nats://, tls://, comma-separated lists allowed.",
    )
    stream: str = Field(
        default=nats_contract.DEFAULT_STREAM,
        pattern=NATS_NAME,
        max_length=255,
        description="JetStream stream the jobs are on (NATS_STREAM_NAME).",
    )
    consumer: str = Field(
        default=nats_contract.DEFAULT_CONSUMER,
        pattern=NATS_NAME,
        max_length=255,
        description="Durable pull consumer the workers share (NATS_CONSUMER_GROUP).",
    )
    subjects: list[Annotated[str, Field(pattern=NATS_SUBJECT, max_length=255)]] = Field(
        default_factory=lambda: list(nats_contract.EXECUTE_SUBJECTS),
        min_length=1,
        max_length=32,
        description="Subjects of the stream when it is managed.",
        json_schema_extra={"default": list(nats_contract.EXECUTE_SUBJECTS)},
    )
    monitoring_endpoint: str = Field(
        default=nats_contract.DEFAULT_MONITORING_ENDPOINT,
        pattern=HOST_PORT,
        max_length=512,
        description="NATS monitoring host:port the KEDA trigger polls.",
    )
    account: str | None = Field(
        default=None,
        pattern=NATS_ACCOUNT,
        max_length=255,
        description="NATS account of the stream, for the KEDA trigger; when unset, the "
        "tenant's own account, named after the XR's namespace (one account per tenant).",
    )
    manage_stream: StrictBool = Field(
        default=False,
        description="Compose a NACK Stream and Consumer with every safety field set.",
    )
    replicas: Literal[1, 3, 5] = Field(
        default=3,
        description="Replicas of the managed stream and consumer (1 for a single-node NATS).",
    )
    max_deliver: StrictInt = Field(
        default=nats_contract.DEFAULT_MAX_DELIVER,
        ge=1,
        le=100,
        description="Deliveries of one job before it is dead-lettered (managed consumer; "
        "the worker reads it from the consumer it binds).",
    )


class SecretsSpec(_Model):
    """Names of the Secrets the worker's connection settings come from."""

    postgres: SecretName = Field(
        default="postgres-connection",
        description="Secret with POSTGRES_HOST, POSTGRES_PORT, POSTGRES_DB, "
        "POSTGRES_USER, POSTGRES_PASSWORD (a PostgresInstance's connectionSecret).",
    )
    dragonfly: SecretName = Field(
        default="dragonfly-connection",
        description="Secret with DRAGONFLY_HOST, DRAGONFLY_PORT and optionally DRAGONFLY_PASSWORD "
        "(a DragonflyInstance's connectionSecret).",
    )
    llm_keys: SecretName = Field(
        default="llm-keys",
        description="Secret with OPENAI_API_KEY and ANTHROPIC_API_KEY (each optional).",
    )
    nats: SecretName = Field(
        default="nats-credentials",
        description="Secret with NATS_USER and NATS_PASSWORD, the tenant's user in its own "
        "NATS account (required: the platform's NATS admits no anonymous client).",
    )
    extra: list[SecretName] = Field(
        default_factory=list,
        max_length=16,
        description="More Secrets whose keys all become environment variables (envFrom).",
    )


class EnvVar(_Model):
    """An extra plain environment variable."""

    name: str = Field(pattern=ENV_NAME, max_length=128, description="Variable name.")
    value: str = Field(default="", max_length=32768, description="Variable value.")


class MigrationsSpec(_Model):
    """The `run-migrations` init container."""

    enabled: StrictBool = Field(default=True, description="Run migrations before the worker.")
    command: list[Annotated[str, Field(min_length=1, max_length=4096)]] = Field(
        default_factory=lambda: list(runtime.MIGRATIONS_COMMAND),
        min_length=1,
        max_length=64,
        description="Command of the init container (same image, same database env).",
        json_schema_extra={"default": list(runtime.MIGRATIONS_COMMAND)},
    )


class ScalingSpec(_Model):
    """Replica bounds and the KEDA `nats-jetstream` trigger."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": "self.minReplicas <= self.maxReplicas",
                    "message": "minReplicas must not exceed maxReplicas",
                    "fieldPath": ".minReplicas",
                }
            ]
        }
    )

    mode: Literal["keda", "fixed"] = Field(
        default="keda",
        description="keda: autoscale on consumer lag; fixed: replicas = minReplicas.",
    )
    min_replicas: StrictInt = Field(default=1, ge=0, le=1000, description="Lower bound.")
    max_replicas: StrictInt = Field(default=10, ge=1, le=1000, description="Upper bound.")
    lag_threshold: StrictInt = Field(
        default=5, ge=1, le=1_000_000, description="Pending jobs per replica KEDA aims for."
    )
    activation_lag_threshold: StrictInt = Field(
        default=0, ge=0, le=1_000_000, description="Pending jobs that wake a scaled-to-zero app."
    )
    polling_interval: StrictInt = Field(
        default=5, ge=1, le=3600, description="Seconds between KEDA polls."
    )
    cooldown_period: StrictInt = Field(
        default=30, ge=0, le=86400, description="Seconds before scaling back to minReplicas."
    )

    @model_validator(mode="after")
    def _min_not_above_max(self) -> ScalingSpec:
        if self.min_replicas > self.max_replicas:
            raise PydanticCustomError(
                "field_relation",
                "must not exceed maxReplicas ({minimum} > {maximum})",
                {
                    "field": "minReplicas",
                    "minimum": self.min_replicas,
                    "maximum": self.max_replicas,
                },
            )
        return self


class ToggleSpec(_Model):
    """An optional composed resource that can be switched on or off."""

    enabled: StrictBool = Field(description="Compose the resource.")


class ExternalStore(_Model):
    """A database or cache outside the cluster the executor may reach (managed RDS, ElastiCache)."""

    cidr: str = Field(
        pattern=CIDR,
        max_length=64,
        description="Network of the service, e.g. the VPC subnets of an RDS instance.",
    )
    ports: list[Annotated[StrictInt, Field(ge=1, le=65535)]] = Field(
        default_factory=lambda: [stores.POSTGRES_PORT, stores.DRAGONFLY_PORT],
        min_length=1,
        max_length=8,
        description="TCP ports the executor may open to that network.",
        json_schema_extra={"default": [stores.POSTGRES_PORT, stores.DRAGONFLY_PORT]},
    )


class NetworkPolicySpec(_Model):
    """The NetworkPolicy around the worker pods."""

    enabled: StrictBool = Field(default=True, description="Compose the NetworkPolicy.")
    external_stores: list[ExternalStore] = Field(
        default_factory=list,
        max_length=16,
        description="Networks outside the cluster (managed databases and caches) the executor "
        "may reach, besides the PostgresInstance and DragonflyInstance pods of its namespace.",
    )


class ApiSpec(_Model):
    """Who may call the worker's HTTP API on port 8080 (DESIGN section 3, `api`)."""

    allow_from: list[NamespaceName] = Field(
        default_factory=list,
        max_length=32,
        description="Namespaces whose pods may call the API, besides the executor's own "
        "(enforced by the NetworkPolicy).",
    )
    token_secret: SecretName | None = Field(
        default=None,
        description="Secret with the key API_TOKEN; when set, the job routes require "
        "'Authorization: Bearer <token>' (/health, /ready and /metrics stay open).",
    )
    monitoring_namespace: NamespaceName = Field(
        default=runtime.MONITORING_NAMESPACE,
        description="Namespace of the Prometheus that scrapes /metrics, admitted by the "
        "NetworkPolicy.",
    )


class PodDisruptionBudgetSpec(_Model):
    """The PodDisruptionBudget; on by default when more than one replica can run."""

    enabled: StrictBool | None = Field(
        default=None,
        description="Compose the PDB; when unset, on if the replica ceiling is above 1.",
    )


class RetentionSpec(_Model):
    """A CronJob that prunes finished jobs' checkpoints and ledger rows."""

    enabled: StrictBool = Field(default=False, description="Compose the retention CronJob.")
    older_than: str = Field(
        default="7d",
        pattern=AGE,
        max_length=16,
        description="Age of finished jobs to delete, e.g. 7d, 12h, 2w.",
    )
    schedule: str = Field(
        default="17 3 * * *",
        pattern=CRON,
        max_length=100,
        description="Cron schedule of the prune run (UTC).",
    )


class LimitsSpec(_Model):
    """Per-job limits: exceeding one fails the job with its own error type."""

    max_steps: StrictInt = Field(
        default=limits_contract.DEFAULT_MAX_STEPS,
        ge=1,
        le=limits_contract.MAX_STEPS_CEILING,
        description="Graph steps (LLM and tool rounds) one job may take (JOB_MAX_STEPS).",
    )
    timeout_seconds: StrictInt = Field(
        default=limits_contract.DEFAULT_TIMEOUT_SECONDS,
        ge=1,
        le=limits_contract.TIMEOUT_CEILING_SECONDS,
        description="Wall-clock seconds one job may run (JOB_TIMEOUT_SECONDS).",
    )
    max_result_bytes: StrictInt = Field(
        default=limits_contract.DEFAULT_MAX_RESULT_BYTES,
        ge=1024,
        le=limits_contract.MAX_RESULT_BYTES_CEILING,
        description="Largest result a job may record (JOB_MAX_RESULT_BYTES); a result above "
        "the NATS max payload is published trimmed and recorded whole.",
    )


# The label kube-prometheus-stack's Prometheus selects ServiceMonitors by (its Helm release
# name, `kube-prometheus-stack` when installed under that name).
DEFAULT_SERVICE_MONITOR_LABELS = {"release": "kube-prometheus-stack"}
MAX_SERVICE_MONITOR_LABELS = 16


class ServiceMonitorSpec(_Model):
    """A Prometheus Operator ServiceMonitor for /metrics."""

    enabled: StrictBool = Field(
        default=True,
        description="Compose the ServiceMonitor (needs the Prometheus Operator's CRDs in the "
        "cluster; set false where they are not installed).",
    )
    labels: dict[str, LabelValue] = Field(
        default_factory=lambda: dict(DEFAULT_SERVICE_MONITOR_LABELS),
        max_length=MAX_SERVICE_MONITOR_LABELS,
        description="Labels on the ServiceMonitor, so the cluster's Prometheus selects it "
        "(its serviceMonitorSelector). Replaces the default; {} for none.",
        json_schema_extra={"default": dict(DEFAULT_SERVICE_MONITOR_LABELS)},
    )


_ENV_RULE = (
    "!has(self.env) || self.env.all(e, !(e.name in ["
    + ", ".join(f"'{n}'" for n in RESERVED_ENV)
    + "]))"
)


class AgentExecutorSpec(_Model):
    """Spec of an `AgentExecutor`: one autoscaled agent executor in the XR's namespace."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": _ENV_RULE,
                    "message": "env must not set a variable the platform sets itself",
                    "fieldPath": ".env",
                }
            ]
        }
    )

    image: str = Field(
        pattern=IMAGE_REFERENCE,
        min_length=1,
        max_length=512,
        description="OCI image of the worker; registry host:port and @sha256 digests allowed.",
    )
    image_pull_secrets: list[LocalObjectReference] = Field(
        default_factory=list, max_length=16, description="Pull secrets for the image."
    )
    size: Size = Field(default="medium", description="CPU/memory class of each pod.")
    resources: Resources | None = Field(
        default=None, description="Explicit requests/limits that override the size table."
    )
    nats: NatsSpec = Field(
        default_factory=NatsSpec,
        description="NATS JetStream input.",
        json_schema_extra=_object_default(),
    )
    secrets: SecretsSpec = Field(
        default_factory=SecretsSpec,
        description="Secrets with connection settings and API keys.",
        json_schema_extra=_object_default(),
    )
    env: list[EnvVar] = Field(
        default_factory=list, max_length=64, description="Extra environment variables."
    )
    concurrency: StrictInt = Field(
        default=8, ge=1, le=256, description="Executions in flight per pod (WORKER_CONCURRENCY)."
    )
    migrations: MigrationsSpec = Field(
        default_factory=MigrationsSpec,
        description="Database migrations init container.",
        json_schema_extra=_object_default(),
    )
    limits: LimitsSpec = Field(
        default_factory=LimitsSpec,
        description="Per-job step, time and result-size limits.",
        json_schema_extra=_object_default(),
    )
    scaling: ScalingSpec = Field(
        default_factory=ScalingSpec,
        description="Replica bounds and autoscaling.",
        json_schema_extra=_object_default(),
    )
    api: ApiSpec = Field(
        default_factory=ApiSpec,
        description="Who may call the worker's HTTP API.",
        json_schema_extra=_object_default(),
    )
    network_policy: NetworkPolicySpec = Field(
        default_factory=NetworkPolicySpec,
        description="NetworkPolicy settings.",
        json_schema_extra=_object_default(),
    )
    pod_disruption_budget: PodDisruptionBudgetSpec = Field(
        default_factory=PodDisruptionBudgetSpec,
        description="PodDisruptionBudget settings.",
        json_schema_extra=_object_default(),
    )
    service_monitor: ServiceMonitorSpec = Field(
        default_factory=ServiceMonitorSpec,
        description="ServiceMonitor settings.",
        json_schema_extra=_object_default(),
    )
    retention: RetentionSpec = Field(
        default_factory=RetentionSpec,
        description="Pruning of finished jobs' checkpoints and ledger rows.",
        json_schema_extra=_object_default(),
    )

    @model_validator(mode="after")
    def _env_not_reserved(self) -> AgentExecutorSpec:
        for index, var in enumerate(self.env):
            if var.name in RESERVED_ENV:
                raise PydanticCustomError(
                    "reserved_env",
                    "{name} is set by the platform and cannot be overridden",
                    {"field": f"env[{index}].name", "name": var.name},
                )
        return self


class AgentExecutorStatus(BaseModel):
    """Status the function writes on the XR."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    replicas: int | None = Field(default=None, description="Pods the Deployment has.")
    ready_replicas: int | None = Field(default=None, description="Pods ready to take jobs.")
    image: str | None = Field(default=None, description="Image the Deployment runs.")
    endpoint: str | None = Field(default=None, description="In-cluster HTTP endpoint.")
    stream: str | None = Field(default=None, description="JetStream stream consumed.")
    consumer: str | None = Field(default=None, description="Durable consumer used.")
