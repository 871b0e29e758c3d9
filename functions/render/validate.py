"""`agentplane validate`: the verdict the API server and the function would give, offline.

Every YAML file must parse. Every document's apiVersion and kind must be served: in the
platform's group an unknown kind or version is an error with a suggestion, and
zerotouch-platform's `EventDrivenService` points to `agentplane migrate`. Every claim
(AgentExecutor, PostgresInstance, DragonflyInstance) is checked against its XRD's own
openAPIV3 schema (defaults applied, unknown fields refused, CEL rules evaluated), then
against the function's admission rules, so a claim that the API server would accept but the
function refuse fails here too. ExternalSecrets are checked against the upstream CRD of the
version the platform serves, Namespaces and Secrets against their core schemas. A file under
`claims/<namespace>/` must belong to that namespace, and a tenant Namespace is named
`{layer}-{category}` after its labels. Warnings (an image on `latest` or without a tag, a
Secret committed in plain text) are printed but do not fail the run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
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
from functions.render import core_objects
from functions.render.api_catalog import Catalog, catalog_from, type_problems
from functions.render.claims import is_claim, yaml_files
from functions.render.errors import RenderError
from functions.render.findings import Finding, Severity, ordered, parse_finding, split_message
from functions.render.layout import folder_problems
from functions.render.schema_check import apply_defaults, check, load_crd_schemas
from functions.render.yaml_io import DocumentError, load_stream

# The function's admission of each kind: (name, namespace, spec) -> a verdict with `errors`
# and, for AgentExecutor, `warnings`.
ADMISSION: dict[str, Callable[[str, str, Any], Any]] = {
    KIND: admit,
    POSTGRES_KIND: admit_postgres,
    DRAGONFLY_KIND: admit_dragonfly,
}


@dataclass
class Report:
    """What validation found across all files, in the order it is printed."""

    files: int = 0
    claims: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        """The findings that fail the run."""
        return [f for f in self.findings if f.is_error]

    @property
    def warnings(self) -> list[Finding]:
        """The findings printed as warnings."""
        return [f for f in self.findings if not f.is_error]

    @property
    def ok(self) -> bool:
        """True when nothing would be refused."""
        return not self.errors


@dataclass(frozen=True)
class Rules:
    """What documents are checked against: the served types and the schema of each."""

    catalog: Catalog
    claim_schemas: dict[str, dict[str, Any]]
    # (apiVersion, kind) → openAPIV3Schema of the add-on objects (upstream CRDs).
    crd_schemas: dict[tuple[str, str], dict[str, Any]]


def xrd_schema(xrd: dict[str, Any]) -> dict[str, Any]:
    """The openAPIV3Schema of the XRD's served version."""
    versions = [v for v in xrd["spec"]["versions"] if v.get("served", True)]
    schema: dict[str, Any] = versions[0]["schema"]["openAPIV3Schema"]
    return schema


def schemas_by_kind(xrds: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Kind → openAPIV3Schema of its served version, for every XRD given."""
    return {str(x["spec"]["names"]["kind"]): xrd_schema(x) for x in xrds}


def rules_from(xrds: list[dict[str, Any]], crd_dir: Path | None) -> Rules:
    """The rules of the platform's XRDs and the upstream CRDs in `crd_dir` (when given)."""
    crds: list[dict[str, Any]] = []
    if crd_dir is not None and crd_dir.is_dir():
        for path in sorted(crd_dir.rglob("*.yaml")):
            crds += [d for d in load_stream(path) if d.get("kind") == "CustomResourceDefinition"]
    crd_schemas = load_crd_schemas(crd_dir) if crds and crd_dir is not None else {}
    return Rules(catalog_from(xrds, crds), schemas_by_kind(xrds), crd_schemas)


def _without_crossplane_block(document: dict[str, Any]) -> dict[str, Any]:
    # `spec.crossplane` (compositionRef, compositionUpdatePolicy, ...) belongs to Crossplane,
    # which adds it to every XRD's schema itself; it is not checked here.
    spec = document.get("spec")
    if isinstance(spec, dict) and CROSSPLANE_FIELD in spec:
        spec = {k: v for k, v in spec.items() if k != CROSSPLANE_FIELD}
        return {**document, "spec": spec}
    return document


def validate_claim(
    path: Path, document: dict[str, Any], schema: dict[str, Any], index: int = 0
) -> list[Finding]:
    """Every problem with one claim document (its kind's XRD schema given), and the
    function's warnings about it."""
    if document.get("apiVersion") != COMPOSITE_API_VERSION:
        return [Finding(path, "apiVersion", f"must be {COMPOSITE_API_VERSION}", index)]
    document = _without_crossplane_block(document)
    meta = document.get("metadata") or {}
    name, namespace = str(meta.get("name", "")), str(meta.get("namespace", ""))
    admission = ADMISSION[str(document.get("kind"))]
    # Admission always checks metadata; with an empty spec only metadata errors come back.
    findings = [
        Finding(path, *split_message(line), index)
        for line in admission(name, namespace, {}).errors
        if line.startswith("metadata.")
    ]
    defaulted = apply_defaults(document, schema)
    schema_problems = check(defaulted, schema, PATTERN_HINTS_DATABASES)
    findings += [Finding(path, p.path, p.reason, index) for p in schema_problems]
    if not schema_problems:
        verdict = admission(name, namespace, defaulted.get("spec"))
        findings += [
            Finding(path, *split_message(line), index)
            for line in verdict.errors
            if not line.startswith("metadata.")
        ]
        findings += [
            Finding(path, *split_message(line), index, Severity.WARNING)
            for line in getattr(verdict, "warnings", [])
        ]
    return findings


def _schema_findings(
    path: Path, index: int, document: dict[str, Any], schema: dict[str, Any], hints: dict[str, str]
) -> list[Finding]:
    problems = check(apply_defaults(document, schema), schema, hints)
    return [Finding(path, p.path, p.reason, index) for p in problems]


def _core_findings(path: Path, index: int, document: dict[str, Any]) -> list[Finding]:
    kind = str(document["kind"])
    meta = document.get("metadata") if isinstance(document.get("metadata"), dict) else {}
    assert isinstance(meta, dict)
    found = _schema_findings(
        path, index, document, core_objects.SCHEMAS[kind], core_objects.PATTERN_HINTS
    )
    found += [
        Finding(path, f, r, index) for f, r in core_objects.name_problems(kind, meta.get("name"))
    ]
    if kind == "Namespace" and not found:
        problems = core_objects.tenant_namespace_problems(str(meta["name"]), meta.get("labels"))
        found += [Finding(path, f, r, index) for f, r in problems]
    if kind == "Secret":
        warnings = core_objects.secret_warnings(document)
        found += [Finding(path, f, r, index, Severity.WARNING) for f, r in warnings]
    return found


def validate_document(
    path: Path, index: int, document: dict[str, Any], rules: Rules
) -> list[Finding]:
    """Every finding about one document: its type, its schema, its place in the layout."""
    api_version, kind = document.get("apiVersion"), document.get("kind")
    type_findings = [
        Finding(path, f, r, index) for f, r in type_problems(api_version, kind, rules.catalog)
    ]
    if type_findings:
        return type_findings
    findings = [Finding(path, f, r, index) for f, r in folder_problems(path, document)]
    if is_claim(document):
        schema = rules.claim_schemas.get(str(kind))
        if schema is None:
            raise RenderError(f"no XRD for {kind} among those given (--xrd)")
        findings += validate_claim(path, document, schema, index)
    elif (str(api_version), str(kind)) in rules.crd_schemas:
        schema = rules.crd_schemas[(str(api_version), str(kind))]
        findings += _schema_findings(path, index, document, schema, {})
    elif api_version == "v1" and kind in core_objects.SCHEMAS:
        findings += _core_findings(path, index, document)
    return findings


def validate_paths(
    paths: list[Path], xrds: list[dict[str, Any]], crd_dir: Path | None = None
) -> Report:
    """Validate every YAML file under `paths` against the XRDs and the CRDs in `crd_dir`."""
    rules = rules_from(xrds, crd_dir)
    report = Report()
    findings: list[Finding] = []
    for path in yaml_files(paths):
        report.files += 1
        try:
            documents = load_stream(path)
        except DocumentError as exc:
            findings.append(parse_finding(path, str(exc)))
            continue
        for index, document in enumerate(documents, start=1):
            found = validate_document(path, index, document, rules)
            if is_claim(document) and not any(f.field in ("apiVersion", "kind") for f in found):
                report.claims += 1
            findings += found
    report.findings = ordered(findings)
    return report
