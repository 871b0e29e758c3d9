"""`agentplane validate`: the verdict the API server and the function would give, offline.

Every YAML file must parse. Every claim (AgentExecutor, PostgresInstance, DragonflyInstance)
is checked against its XRD's own openAPIV3 schema (defaults applied, unknown fields refused,
CEL rules evaluated), then against the function's admission rules, so a claim that would be
accepted by the API server but refused by the function fails here too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from functions.agent_executor.admission import CROSSPLANE_FIELD, admit
from functions.agent_executor.databases.admission import admit_dragonfly, admit_postgres
from functions.agent_executor.databases.spec import (
    DRAGONFLY_KIND,
    PATTERN_HINTS_DATABASES,
    POSTGRES_KIND,
)
from functions.agent_executor.spec import COMPOSITE_API_VERSION, KIND
from functions.render.claims import is_claim, yaml_files
from functions.render.errors import RenderError
from functions.render.schema_check import apply_defaults, check
from functions.render.yaml_io import DocumentError, load_stream

# The function's admission of each kind: (name, namespace, spec) -> a verdict with `errors`.
ADMISSION: dict[str, Callable[[str, str, Any], Any]] = {
    KIND: admit,
    POSTGRES_KIND: admit_postgres,
    DRAGONFLY_KIND: admit_dragonfly,
}


@dataclass(frozen=True)
class Finding:
    """One problem: the file, the field path and the reason."""

    path: Path
    field: str
    reason: str

    def __str__(self) -> str:
        return (
            f"{self.path}: {self.field}: {self.reason}"
            if self.field
            else f"{self.path}: {self.reason}"
        )


@dataclass
class Report:
    """What validation found across all files."""

    files: int = 0
    claims: int = 0
    findings: list[Finding] | None = None

    @property
    def ok(self) -> bool:
        return not self.findings


def xrd_schema(xrd: dict[str, Any]) -> dict[str, Any]:
    """The openAPIV3Schema of the XRD's served version."""
    versions = [v for v in xrd["spec"]["versions"] if v.get("served", True)]
    schema: dict[str, Any] = versions[0]["schema"]["openAPIV3Schema"]
    return schema


def _split(line: str) -> tuple[str, str]:
    field, _, reason = line.partition(": ")
    return field, reason


def _without_crossplane_block(document: dict[str, Any]) -> dict[str, Any]:
    # `spec.crossplane` (compositionRef, compositionUpdatePolicy, ...) belongs to Crossplane,
    # which adds it to every XRD's schema itself; it is not checked here.
    spec = document.get("spec")
    if isinstance(spec, dict) and CROSSPLANE_FIELD in spec:
        spec = {k: v for k, v in spec.items() if k != CROSSPLANE_FIELD}
        return {**document, "spec": spec}
    return document


def validate_claim(path: Path, document: dict[str, Any], schema: dict[str, Any]) -> list[Finding]:
    """Every problem with one claim document (its kind's XRD schema given)."""
    if document.get("apiVersion") != COMPOSITE_API_VERSION:
        return [Finding(path, "apiVersion", f"must be {COMPOSITE_API_VERSION}")]
    document = _without_crossplane_block(document)
    meta = document.get("metadata") or {}
    name, namespace = str(meta.get("name", "")), str(meta.get("namespace", ""))
    admission = ADMISSION[str(document.get("kind"))]
    # Admission always checks metadata; with an empty spec only metadata errors come back.
    findings = [
        Finding(path, *_split(line))
        for line in admission(name, namespace, {}).errors
        if line.startswith("metadata.")
    ]
    defaulted = apply_defaults(document, schema)
    schema_problems = check(defaulted, schema, PATTERN_HINTS_DATABASES)
    findings += [Finding(path, p.path, p.reason) for p in schema_problems]
    if not schema_problems:
        verdict = admission(name, namespace, defaulted.get("spec"))
        seen = {(f.field, f.reason) for f in findings}
        for line in verdict.errors:
            field, reason = _split(line)
            if not field.startswith("metadata.") and (field, reason) not in seen:
                findings.append(Finding(path, field, reason))
    return findings


def schemas_by_kind(xrds: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Kind → openAPIV3Schema of its served version, for every XRD given."""
    return {str(x["spec"]["names"]["kind"]): xrd_schema(x) for x in xrds}


def validate_paths(paths: list[Path], xrds: list[dict[str, Any]] | dict[str, Any]) -> Report:
    """Validate every YAML file under `paths` against the XRDs of the claims' kinds."""
    schemas = schemas_by_kind(xrds if isinstance(xrds, list) else [xrds])
    report = Report(findings=[])
    assert report.findings is not None
    for path in yaml_files(paths):
        report.files += 1
        try:
            documents = load_stream(path)
        except DocumentError as exc:
            report.findings.append(Finding(path, "", str(exc).removeprefix(f"{path}: ")))
            continue
        for document in documents:
            if is_claim(document):
                report.claims += 1
                kind = str(document.get("kind"))
                if kind not in schemas:
                    raise RenderError(f"no XRD for {kind} among those given (--xrd)")
                report.findings += validate_claim(path, document, schemas[kind])
    return report
