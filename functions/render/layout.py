"""The tenant repository's layout rule: `claims/<namespace>/...` holds that namespace's objects.

Argo CD syncs each tenant folder into its namespace, and the tenant's AppProject admits no
other destination, so an object whose namespace differs from its folder would be refused
at sync; `validate` says so before the merge.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

CLAIMS_DIR = "claims"


def folder_namespace(path: Path) -> str | None:
    """The namespace a file's folder stands for: the directory right under `claims/`, or
    None for a file outside that layout."""
    parts = path.resolve().parts
    for index in range(len(parts) - 3, -1, -1):
        if parts[index] == CLAIMS_DIR:
            return parts[index + 1]
    return None


def namespace_of(document: dict[str, Any]) -> tuple[str, str] | None:
    """(field, namespace) the document lives in: a Namespace's own name, else
    `metadata.namespace`; None when it names none."""
    meta = document.get("metadata")
    if not isinstance(meta, dict):
        return None
    if document.get("kind") == "Namespace" and document.get("apiVersion") == "v1":
        field, value = "metadata.name", meta.get("name")
    else:
        field, value = "metadata.namespace", meta.get("namespace")
    return (field, value) if isinstance(value, str) and value else None


def folder_problems(path: Path, document: dict[str, Any]) -> list[tuple[str, str]]:
    """(field, reason) when the document's namespace differs from its folder's."""
    folder = folder_namespace(path)
    found = namespace_of(document)
    if folder is None or found is None or found[1] == folder:
        return []
    field, namespace = found
    return [
        (
            field,
            f"{namespace!r} differs from its folder {CLAIMS_DIR}/{folder}/: every object there "
            f"belongs to namespace {folder!r}",
        )
    ]
