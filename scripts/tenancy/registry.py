"""Registry entries: one YAML file per tenant, validated, with the names derived from it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from contract.nats import tenant_account

REGISTRY_DIR = Path("platform/tenants/registry")
# RFC 1123 label pieces: the namespace `{layer}-{category}` must be one DNS label.
_NAME = r"^[a-z]([a-z0-9]*[a-z0-9])?$"
_QUANTITY = re.compile(r"^([1-9][0-9]*)(Mi|Gi|Ti)$")
_UNITS = {"Mi": 2**20, "Gi": 2**30, "Ti": 2**40}

Name = Annotated[str, Field(pattern=_NAME, max_length=30)]


def quantity_bytes(quantity: str) -> int:
    """Bytes of a `Mi`/`Gi`/`Ti` quantity (the registry's only storage units)."""
    match = _QUANTITY.match(quantity)
    if not match:
        raise ValueError(f"{quantity!r} is not a size like 512Mi, 2Gi or 1Ti")
    return int(match.group(1)) * _UNITS[match.group(2)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class StreamSizes(_Model):
    """JetStream reservations (`maxBytes`) of the tenant's four streams."""

    execution: str = Field(default="2Gi", description="AGENT_EXECUTION: queued jobs.")
    status: str = Field(default="1Gi", description="AGENT_STATUS: results for replay.")
    dlq: str = Field(default="256Mi", description="AGENT_DLQ: dead letters.")
    heartbeats: str = Field(
        default="64Mi", description="AGENT_HEARTBEATS: each worker pod's newest heartbeat."
    )

    @field_validator("execution", "status", "dlq", "heartbeats")
    @classmethod
    def _is_quantity(cls, value: str) -> str:
        quantity_bytes(value)
        return value


class NatsTenancy(_Model):
    """The tenant's NATS account: credential generations and storage."""

    credentials: list[Annotated[int, Field(ge=1)]] = Field(
        default=[1],
        min_length=1,
        max_length=2,
        description=(
            "Credential generations in use, oldest first. Two during a rotation: the "
            "server accepts both, the tenant's Secrets carry the newest."
        ),
    )
    streams: StreamSizes = Field(default_factory=StreamSizes)
    max_file_store: str = Field(
        default="16Gi",
        alias="maxFileStore",
        description=(
            "JetStream file storage the account may use, every replica counted: room "
            "for the four streams at their replication and for streams the tenant's "
            "claims manage (nats.manageStream)."
        ),
    )

    @field_validator("credentials")
    @classmethod
    def _ascending(cls, value: list[int]) -> list[int]:
        if value != sorted(set(value)):
            raise ValueError("generations must be distinct and ascending, oldest first")
        return value

    @field_validator("max_file_store")
    @classmethod
    def _is_quantity(cls, value: str) -> str:
        quantity_bytes(value)
        return value


class RegistryEntry(_Model):
    """One `platform/tenants/registry/<layer>-<category>.yaml` file."""

    layer: Name
    category: Name
    repo_url: str = Field(alias="repoURL", pattern=r"^https://")
    target_revision: str = Field(alias="targetRevision", min_length=1)
    path: str = Field(min_length=1, pattern=r"^[^/].*[^/]$")
    owners: list[str] = Field(min_length=1)
    nats: NatsTenancy = Field(default_factory=NatsTenancy)

    @property
    def namespace(self) -> str:
        """The tenant's namespace, `{layer}-{category}`."""
        return f"{self.layer}-{self.category}"

    @property
    def account(self) -> str:
        """The tenant's NATS account."""
        return tenant_account(self.namespace)

    @property
    def current_generation(self) -> int:
        """The credential generation the tenant's Secrets carry (the newest)."""
        return self.nats.credentials[-1]


class RegistryError(ValueError):
    """A registry file that cannot be used, with the file and field named."""


def load_entry(path: Path) -> RegistryEntry:
    """Read and validate one registry file; its name must be `<namespace>.yaml`."""
    try:
        entry = RegistryEntry.model_validate(yaml.safe_load(path.read_text()))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise RegistryError(f"{path}: {problems}") from None
    if path.stem != entry.namespace:
        raise RegistryError(f"{path}: must be named {entry.namespace}.yaml (layer-category)")
    return entry


def load_registry(root: Path) -> list[RegistryEntry]:
    """Every registry entry under `root`, sorted by namespace."""
    entries = [load_entry(p) for p in sorted((root / REGISTRY_DIR).glob("*.yaml"))]
    if not entries:
        raise RegistryError(f"{root / REGISTRY_DIR}: no tenants")
    return entries
