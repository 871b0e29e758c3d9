"""The `PostgresInstance` and `DragonflyInstance` APIs: the one source of their XR specs.

As for `AgentExecutor` (`functions/agent_executor/spec.py`), the pydantic models here are
what the function validates against and what the XRDs' openAPIV3 schemas are generated
from; every constraint translates to the structural-schema subset (patterns, bounds, enums,
CEL rules), and a test compares the generated XRDs with the committed files.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator
from pydantic.alias_generators import to_camel
from pydantic.config import JsonDict
from pydantic_core import PydanticCustomError

from functions.agent_executor.spec import (
    API_GROUP,
    API_VERSION,
    DNS_SUBDOMAIN,
    PATTERN_HINTS,
    QUANTITY,
    SecretName,
    Size,
    SpecModel,
    object_default,
)

POSTGRES_KIND = "PostgresInstance"
POSTGRES_PLURAL = "postgresinstances"
DRAGONFLY_KIND = "DragonflyInstance"
DRAGONFLY_PLURAL = "dragonflyinstances"
COMPOSITE_API_VERSION = f"{API_GROUP}/{API_VERSION}"

DEFAULT_POSTGRES_SECRET = "postgres-connection"  # noqa: S105 - a Secret's name
DEFAULT_DRAGONFLY_SECRET = "dragonfly-connection"  # noqa: S105 - a Secret's name

# A PostgreSQL identifier the operator passes to initdb unquoted: lower case, so that the
# name in the connection Secret is the name PostgreSQL stores.
PG_IDENTIFIER = r"^[a-z_][a-z0-9_]*$"
# An S3 bucket (DNS-compatible name) and an optional prefix.
S3_PATH = r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[^\s]*)?$"
HTTP_URL = r"^https?://[^\s/?#]+(/[^\s]*)?$"
# CloudNativePG schedules with six fields, seconds first.
BACKUP_CRON = r"^\S+( \S+){5}$"
# CloudNativePG's own retention syntax: days, weeks or months.
RETENTION = r"^[1-9][0-9]*[dwm]$"

PATTERN_HINTS_DATABASES: dict[str, str] = {
    **PATTERN_HINTS,
    PG_IDENTIFIER: "must be a lower-case PostgreSQL identifier (a-z, 0-9, '_', "
    "not starting with a digit)",
    S3_PATH: "must be an S3 location such as 's3://my-bucket/backups'",
    HTTP_URL: "must be an http:// or https:// URL such as 'https://minio.example.com:9000'",
    BACKUP_CRON: "must be a six-field cron schedule, seconds first, such as '0 0 3 * * *'",
    RETENTION: "must be a retention such as '30d', '4w' or '6m'",
}

# Roles CloudNativePG keeps for itself, and databases every cluster already has.
RESERVED_OWNERS = ("postgres", "streaming_replica")
RESERVED_DATABASES = ("postgres", "template0", "template1")

# The major versions the platform pins an image for (builders/postgres.py).
PostgresVersion = Literal[14, 15, 16, 17, 18]

# Keys the backup credentials Secret must have (barman-cloud's S3 access key pair).
BACKUP_ACCESS_KEY_ID = "ACCESS_KEY_ID"
BACKUP_SECRET_ACCESS_KEY = "ACCESS_SECRET_KEY"  # noqa: S105 - a key name, not a secret


def _reserved_rule(field: str, names: tuple[str, ...]) -> JsonDict:
    listed = ", ".join(f"'{n}'" for n in names)
    return {
        "rule": f"!(self.{field} in [{listed}])",
        "message": f"{field} must not be one of {listed}, which PostgreSQL or the operator reserve",
        "fieldPath": f".{field}",
    }


class StorageSpec(SpecModel):
    """The persistent volume of each PostgreSQL instance."""

    size: str = Field(
        default="10Gi",
        pattern=QUANTITY,
        max_length=64,
        description="Volume size per instance, e.g. '10Gi'; it can grow later, never shrink.",
    )
    storage_class: str | None = Field(
        default=None,
        pattern=DNS_SUBDOMAIN,
        max_length=253,
        description="StorageClass of the volumes; when unset, the cluster's default class.",
    )


class BackupSpec(SpecModel):
    """Scheduled base backups and continuous WAL archiving to S3-compatible object storage."""

    destination_path: str = Field(
        pattern=S3_PATH,
        max_length=1024,
        description="Where backups and WAL go, e.g. 's3://my-bucket/intelligence-deepagents'.",
    )
    endpoint_url: str | None = Field(
        default=None,
        alias="endpointURL",
        pattern=HTTP_URL,
        max_length=1024,
        description="Endpoint of an S3-compatible store (MinIO, Ceph); unset for AWS S3.",
    )
    credentials_secret: SecretName | None = Field(
        default=None,
        description=f"Secret with {BACKUP_ACCESS_KEY_ID} and {BACKUP_SECRET_ACCESS_KEY}; when "
        "unset, the pods' own IAM role is used (IRSA / EKS Pod Identity).",
    )
    schedule: str = Field(
        default="0 0 3 * * *",
        pattern=BACKUP_CRON,
        max_length=100,
        description="When to take a base backup: six cron fields, seconds first (UTC).",
    )
    retention_policy: str = Field(
        default="30d",
        pattern=RETENTION,
        max_length=16,
        description="How long backups and WAL are kept, e.g. '30d', '4w', '6m'.",
    )


class PostgresConnectionSecretSpec(SpecModel):
    """The Secret the function writes for the executor."""

    name: SecretName = Field(
        default=DEFAULT_POSTGRES_SECRET,
        description="Name of the connection Secret (an AgentExecutor's `secrets.postgres`).",
    )


class DragonflyConnectionSecretSpec(SpecModel):
    """The Secret the function writes for the executor."""

    name: SecretName = Field(
        default=DEFAULT_DRAGONFLY_SECRET,
        description="Name of the connection Secret (an AgentExecutor's `secrets.dragonfly`).",
    )


class PostgresInstanceSpec(SpecModel):
    """Spec of a `PostgresInstance`: one CloudNativePG cluster in the XR's namespace."""

    model_config = ConfigDict(
        json_schema_extra={
            "x-kubernetes-validations": [
                _reserved_rule("owner", RESERVED_OWNERS),
                _reserved_rule("database", RESERVED_DATABASES),
            ]
        }
    )

    size: Size = Field(default="small", description="CPU/memory class of each instance.")
    storage: StorageSpec = Field(
        default_factory=StorageSpec,
        description="Persistent volume of each instance.",
        json_schema_extra=object_default(),
    )
    instances: StrictInt = Field(
        default=1,
        ge=1,
        le=9,
        description="PostgreSQL instances: one primary, the rest streaming replicas.",
    )
    version: PostgresVersion = Field(
        default=17, description="PostgreSQL major version; the platform pins the minor."
    )
    database: str = Field(
        default="app",
        pattern=PG_IDENTIFIER,
        max_length=63,
        description="Name of the application database (POSTGRES_DB).",
    )
    owner: str = Field(
        default="app",
        pattern=PG_IDENTIFIER,
        max_length=63,
        description="Role that owns the database, which the executor connects as (POSTGRES_USER).",
    )
    backup: BackupSpec | None = Field(
        default=None, description="Backups to object storage; none when unset."
    )
    connection_secret: PostgresConnectionSecretSpec = Field(
        default_factory=PostgresConnectionSecretSpec,
        description="The connection Secret the executor reads.",
        json_schema_extra=object_default(),
    )

    @model_validator(mode="after")
    def _not_reserved(self) -> PostgresInstanceSpec:
        for field, value, reserved in (
            ("owner", self.owner, RESERVED_OWNERS),
            ("database", self.database, RESERVED_DATABASES),
        ):
            if value in reserved:
                raise PydanticCustomError(
                    "reserved_name",
                    "{value} is reserved by PostgreSQL or the operator; choose another name",
                    {"field": field, "value": value},
                )
        return self


class DragonflyInstanceSpec(SpecModel):
    """Spec of a `DragonflyInstance`: one Dragonfly (Redis-compatible) cache in the namespace."""

    size: Size = Field(default="small", description="CPU/memory class of each pod.")
    replicas: StrictInt = Field(
        default=1,
        ge=1,
        le=9,
        description="Dragonfly pods: one master, the rest replicas it fails over to.",
    )
    connection_secret: DragonflyConnectionSecretSpec = Field(
        default_factory=DragonflyConnectionSecretSpec,
        description="The connection Secret the executor reads; it also holds the password "
        "Dragonfly requires.",
        json_schema_extra=object_default(),
    )


class _Status(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class PostgresInstanceStatus(_Status):
    """Status the function writes on a PostgresInstance."""

    endpoint: str | None = Field(
        default=None, description="postgresql:// URL of the primary, without credentials."
    )
    host: str | None = Field(default=None, description="In-cluster host of the primary.")
    port: int | None = Field(default=None, description="PostgreSQL port.")
    database: str | None = Field(default=None, description="Application database.")
    connection_secret: str | None = Field(default=None, description="Connection Secret.")
    version: int | None = Field(default=None, description="PostgreSQL major version.")
    instances: int | None = Field(default=None, description="Instances asked for.")
    ready_instances: int | None = Field(
        default=None, description="Instances ready, as the operator reports."
    )
    phase: str | None = Field(default=None, description="The operator's phase of the cluster.")


class DragonflyInstanceStatus(_Status):
    """Status the function writes on a DragonflyInstance."""

    endpoint: str | None = Field(
        default=None, description="redis:// URL of the master, without credentials."
    )
    host: str | None = Field(default=None, description="In-cluster host of the master.")
    port: int | None = Field(default=None, description="Redis protocol port.")
    connection_secret: str | None = Field(default=None, description="Connection Secret.")
    replicas: int | None = Field(default=None, description="Pods asked for.")
    phase: str | None = Field(default=None, description="The operator's phase of the cache.")
