"""Every file the tenant registry generates, as path → content (pure: no file is written)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from functions.render.yaml_io import dump
from scripts.tenancy.manifests import (
    GENERATED_DIR,
    app_project,
    reserved_bytes,
    server_credentials,
    tenant_nats_objects,
)
from scripts.tenancy.nats_server import NATS_DIR, accounts_values
from scripts.tenancy.registry import RegistryEntry, RegistryError, quantity_bytes

HEADER = (
    "# Generated from platform/tenants/registry/ by `make tenants`; do not edit by hand.\n"
    "# {what}\n"
)
PROJECTS_DIR = Path("platform/tenants/manifests")
SERVER_CREDENTIALS = Path("platform/external-secrets/config/nats-credentials.yaml")
ACCOUNTS_VALUES = NATS_DIR / "values-tenants.yaml"


def _documents(documents: list[dict[str, Any]]) -> str:
    return "---\n".join(dump(d) for d in documents)


def _check_capacity(entry: RegistryEntry) -> None:
    limit = quantity_bytes(entry.nats.max_file_store)
    if reserved_bytes(entry) > limit:
        raise RegistryError(
            f"platform/tenants/registry/{entry.namespace}.yaml: nats.maxFileStore "
            f"{entry.nats.max_file_store} is smaller than the {reserved_bytes(entry)} bytes "
            "its four streams reserve at three replicas (nats.streams)"
        )


def capacity_problem(
    entries: list[RegistryEntry], values: dict[str, Any], shape: str
) -> str | None:
    """Why the NATS servers `values` describe cannot hold every tenant account, or None.

    A single server refuses to start JetStream when its accounts' limits add up to more
    than its `max_file_store`. A cluster does not check, but each account limit counts
    every replica and an R3 cluster spreads them over three servers: beyond
    `servers x max_file_store` the limits promise disk no server has.
    """
    config = values["config"]
    servers = int(config["cluster"]["replicas"]) if config["cluster"].get("enabled") else 1
    file_store = config["jetstream"]["fileStore"]
    capacity = servers * quantity_bytes(file_store.get("maxSize") or file_store["pvc"]["size"])
    total = sum(quantity_bytes(e.nats.max_file_store) for e in entries)
    if total <= capacity:
        return None
    return (
        f"the tenants' nats.maxFileStore add up to {total} bytes, more than the {shape} "
        f"NATS servers hold ({servers} x config.jetstream.fileStore.maxSize = {capacity}): "
        "grow the volumes in platform/nats/ or lower maxFileStore in the registry"
    )


def generated_files(entries: list[RegistryEntry]) -> dict[Path, str]:
    """Path (relative to the repository) → content of every generated file."""
    for entry in entries:
        _check_capacity(entry)
    files: dict[Path, str] = {
        ACCOUNTS_VALUES: HEADER.format(
            what="One NATS account per tenant: users, permissions (contract/nats_permissions.py),"
            " JetStream limits;\n# and the password variables the server reads from `nats-auth`."
            " Laid over values.yaml."
        )
        + dump(accounts_values(entries)),
        SERVER_CREDENTIALS: HEADER.format(
            what="Every password the NATS server reads, from Parameter Store into Secret"
            " `nats-auth`\n# (synced at wave 1, before NATS at wave 2). docs/operations.md:"
            " tenancy."
        )
        + _documents(server_credentials(entries)),
    }
    for entry in entries:
        files[PROJECTS_DIR / f"project-{entry.namespace}.yaml"] = HEADER.format(
            what=f"AppProject of tenant {entry.namespace}: its repository and the platform's"
            " generated folder,\n# its namespace only."
        ) + dump(app_project(entry))
        files[Path(GENERATED_DIR) / entry.namespace / "nats.yaml"] = HEADER.format(
            what=f"Tenant {entry.namespace}'s NATS account: credentials, NACK account, streams,"
            " consumer.\n# Synced by the tenant's Application (second source)."
        ) + _documents(tenant_nats_objects(entry))
    return files


def stale_files(root: Path, entries: list[RegistryEntry]) -> list[Path]:
    """Generated files of tenants no longer in the registry."""
    expected = set(generated_files(entries))
    candidates = [
        *(p.relative_to(root) for p in (root / PROJECTS_DIR).glob("project-*.yaml")),
        *(p.relative_to(root) for p in (root / GENERATED_DIR).glob("*/*.yaml")),
    ]
    return sorted(p for p in candidates if p not in expected)
