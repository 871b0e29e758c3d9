"""Decide whether a PostgresInstance or DragonflyInstance can be composed, with messages that
name the field and the reason (the same rules and wording as AgentExecutor's admission)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from kubernetes.utils.quantity import parse_quantity
from pydantic import BaseModel, ValidationError

from functions.agent_executor.admission import (
    format_errors,
    metadata_errors,
    normalize_numbers,
    tenant_spec,
)
from functions.agent_executor.databases.names import DRAGONFLY_NAME_MAX, POSTGRES_NAME_MAX
from functions.agent_executor.databases.spec import (
    DRAGONFLY_KIND,
    PATTERN_HINTS_DATABASES,
    POSTGRES_KIND,
    DragonflyInstanceSpec,
    PostgresInstanceSpec,
)

SpecT = TypeVar("SpecT", bound=BaseModel)


@dataclass
class StoreAdmission(Generic[SpecT]):
    """The verdict on one XR: a spec to compose, or errors."""

    spec: SpecT | None
    errors: list[str] = field(default_factory=list)


def _storage_errors(spec: PostgresInstanceSpec) -> list[str]:
    try:
        size = parse_quantity(spec.storage.size)
    except ValueError as exc:
        return [f"spec.storage.size: {spec.storage.size!r} is not a quantity: {exc}"]
    if size < 1024**3:
        return [
            f"spec.storage.size: {spec.storage.size} is below 1Gi, too small to hold "
            "PostgreSQL's write-ahead log"
        ]
    return []


def _admit(
    model: type[SpecT], kind: str, name: str, namespace: str, raw_spec: Any, name_max: int
) -> StoreAdmission[SpecT]:
    errors = metadata_errors(
        name,
        namespace,
        kind,
        name_max=name_max,
        name_use="it names the operator's resource, its Services and pods",
    )
    raw_spec = tenant_spec(raw_spec)
    if raw_spec is None:
        raw_spec = {}  # every field has a default; the API server stores `spec: {}`
    if not isinstance(raw_spec, dict):
        return StoreAdmission(None, [*errors, "spec: must be an object"])
    try:
        spec = model.model_validate(normalize_numbers(raw_spec))
    except ValidationError as exc:
        return StoreAdmission(None, errors + format_errors(exc, kind, PATTERN_HINTS_DATABASES))
    if errors:
        return StoreAdmission(None, errors)
    return StoreAdmission(spec)


def admit_postgres(
    name: str, namespace: str, raw_spec: Any
) -> StoreAdmission[PostgresInstanceSpec]:
    """Validate a PostgresInstance's metadata and spec; never raises for any input."""
    verdict = _admit(
        PostgresInstanceSpec, POSTGRES_KIND, name, namespace, raw_spec, POSTGRES_NAME_MAX
    )
    if verdict.spec is not None:
        errors = _storage_errors(verdict.spec)
        if errors:
            return StoreAdmission(None, errors)
    return verdict


def admit_dragonfly(
    name: str, namespace: str, raw_spec: Any
) -> StoreAdmission[DragonflyInstanceSpec]:
    """Validate a DragonflyInstance's metadata and spec; never raises for any input."""
    return _admit(
        DragonflyInstanceSpec, DRAGONFLY_KIND, name, namespace, raw_spec, DRAGONFLY_NAME_MAX
    )
