"""Finding the platform's claims (AgentExecutor, PostgresInstance, DragonflyInstance) in files
and directories."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from functions.agent_executor.databases.spec import DRAGONFLY_KIND, POSTGRES_KIND
from functions.agent_executor.spec import API_GROUP, KIND
from functions.render.yaml_io import load_stream

# Every kind a tenant claims; each has its XRD and Composition under platform/apis/.
CLAIM_KINDS = (KIND, POSTGRES_KIND, DRAGONFLY_KIND)


@dataclass(frozen=True)
class Claim:
    """One claim document and the file it came from."""

    path: Path
    document: dict[str, Any]
    # 1-based position among the file's non-empty documents.
    index: int = 0

    @property
    def label(self) -> str:
        meta = self.document.get("metadata", {}) or {}
        return f"{meta.get('namespace', '')}/{meta.get('name', '')}"

    @property
    def kind(self) -> str:
        return str(self.document.get("kind", ""))


def is_claim(document: dict[str, Any]) -> bool:
    """True for documents of one of the claim kinds in this platform's API group."""
    api_version = str(document.get("apiVersion", ""))
    return document.get("kind") in CLAIM_KINDS and api_version.split("/", 1)[0] == API_GROUP


def is_agent_executor(document: dict[str, Any]) -> bool:
    """True for documents of kind AgentExecutor in this platform's API group."""
    return is_claim(document) and document.get("kind") == KIND


def yaml_files(paths: list[Path]) -> list[Path]:
    """The YAML files named, and those under named directories, in a stable order."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(
                p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()
            )
        else:
            found.append(path)
    return found


def claims_in(files: list[tuple[Path, list[dict[str, Any]]]]) -> list[Claim]:
    """Every claim (of any of the three kinds) among the documents of each file, as read."""
    return [
        Claim(path, document, index)
        for path, documents in files
        for index, document in enumerate(documents, start=1)
        if is_claim(document)
    ]


def find_claims(paths: list[Path]) -> list[Claim]:
    """Every claim (of any of the three kinds) in the given files and directories."""
    return claims_in([(path, load_stream(path)) for path in yaml_files(paths)])
