"""`agentplane validate`: the verdict the API server and the function would give, offline.

Every YAML file must parse. Every AgentExecutor is checked against the XRD's
own openAPIV3 schema (defaults applied, unknown fields refused, CEL rules
evaluated), then against the function's admission rules, so a claim that
would be accepted by the API server but refused by the function fails here too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from functions.agent_executor.admission import admit, metadata_errors
from functions.agent_executor.spec import COMPOSITE_API_VERSION, PATTERN_HINTS
from functions.render.claims import is_agent_executor, yaml_files
from functions.render.schema_check import apply_defaults, check
from functions.render.yaml_io import DocumentError, load_stream


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


def validate_claim(path: Path, document: dict[str, Any], schema: dict[str, Any]) -> list[Finding]:
    """Every problem with one AgentExecutor document."""
    if document.get("apiVersion") != COMPOSITE_API_VERSION:
        return [Finding(path, "apiVersion", f"must be {COMPOSITE_API_VERSION}")]
    meta = document.get("metadata") or {}
    findings = [
        Finding(path, *_split(line))
        for line in metadata_errors(str(meta.get("name", "")), str(meta.get("namespace", "")))
    ]
    defaulted = apply_defaults(document, schema)
    schema_problems = check(defaulted, schema, PATTERN_HINTS)
    findings += [Finding(path, p.path, p.reason) for p in schema_problems]
    if not schema_problems:
        verdict = admit(
            str(meta.get("name", "")), str(meta.get("namespace", "")), defaulted["spec"]
        )
        seen = {(f.field, f.reason) for f in findings}
        for line in verdict.errors:
            field, reason = _split(line)
            if not field.startswith("metadata.") and (field, reason) not in seen:
                findings.append(Finding(path, field, reason))
    return findings


def validate_paths(paths: list[Path], xrd: dict[str, Any]) -> Report:
    """Validate every YAML file under `paths`."""
    schema = xrd_schema(xrd)
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
            if is_agent_executor(document):
                report.claims += 1
                report.findings += validate_claim(path, document, schema)
    return report
