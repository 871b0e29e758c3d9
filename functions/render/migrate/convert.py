"""Field-by-field conversion of zerotouch-platform claims into `AgentExecutor` claims.

Pure: a parsed YAML document in, a `Conversion` out (the claim and one report entry per
source field), or `MigrationError` naming the field when the document is not a claim this
can convert. The converted claim is checked with the function's own admission, so a claim
the platform would refuse is reported as invalid, never written silently.
"""

from __future__ import annotations

import typing
from collections.abc import Iterable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from contract import env as env_contract
from contract import runtime
from contract.nats import PLATFORM_STREAMS
from functions.agent_executor.admission import admit
from functions.agent_executor.spec import COMPOSITE_API_VERSION, KIND, AgentExecutorSpec
from functions.render.migrate.report import Conversion, FieldReport, Outcome
from functions.render.migrate.secret_roles import Role, assign
from functions.render.migrate.sources import (
    EVENT_DRIVEN_SERVICE,
    EventDrivenServiceClaim,
    EventDrivenServiceSpec,
    FlatAgentExecutorClaim,
    FlatAgentExecutorSpec,
    NameReference,
    SourceKind,
    SourceMetadata,
    is_target,
    source_kind,
)
from functions.render.yaml_io import DocumentError

FLAT = "the flat AgentExecutor"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

# Metadata the API server and controllers write; an export of a live claim carries it.
SERVER_METADATA = frozenset(
    {
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "managedFields",
        "selfLink",
        "finalizers",
        "ownerReferences",
    }
)

# Crossplane 1.x claim fields. Those Crossplane writes itself (an export carries them) are
# omitted; those a tenant writes have no place on an AgentExecutor, which is composed by the
# platform's one Composition and writes no connection details.
_CROSSPLANE_WRITTEN = "written by Crossplane for the EventDrivenService's Composition"
CROSSPLANE_OMITTED: dict[str, str] = {
    "resourceRef": _CROSSPLANE_WRITTEN,
    "compositionRef": _CROSSPLANE_WRITTEN,
    "compositionRevisionRef": _CROSSPLANE_WRITTEN,
}
# Values Crossplane writes by default: any other was the tenant's choice.
CROSSPLANE_DEFAULTS: dict[str, str] = {
    "compositionUpdatePolicy": "Automatic",
    "compositeDeletePolicy": "Background",
}
CROSSPLANE_DROPPED: dict[str, str] = {
    "compositionSelector": "an AgentExecutor is composed by the platform's own Composition",
    "compositionRevisionSelector": "an AgentExecutor is composed by the platform's own Composition",
    "compositionUpdatePolicy": "the platform rolls its Composition out to every AgentExecutor",
    "compositeDeletePolicy": "an AgentExecutor is a namespaced XR, not a claim: deleting it "
    "deletes what it composed",
    "writeConnectionSecretToRef": "an AgentExecutor writes no connection details",
    "publishConnectionDetailsTo": "an AgentExecutor writes no connection details",
}

_ROLE_KEYS: dict[Role, tuple[str, ...]] = {
    Role.POSTGRES: env_contract.POSTGRES_KEYS,
    Role.DRAGONFLY: (*env_contract.DRAGONFLY_KEYS, *env_contract.DRAGONFLY_OPTIONAL_KEYS),
    Role.LLM_KEYS: env_contract.LLM_KEYS,
}
_ROLE_NAMES: dict[Role, str] = {
    Role.POSTGRES: "database",
    Role.DRAGONFLY: "cache",
    Role.LLM_KEYS: "LLM keys",
}
_DEFAULT_SECRETS: dict[Role, tuple[str, str]] = {
    Role.POSTGRES: ("postgres-connection", "a PostgresInstance with that connectionSecret"),
    Role.DRAGONFLY: ("dragonfly-connection", "a DragonflyInstance with that connectionSecret"),
}
_M = TypeVar("_M", bound=BaseModel)
_TYPE_TAGS = {"str", "int", "bool", "list", "dict", "float", "constrained-str", "constrained-int"}


def unknown_field(owner: str) -> str:
    """Why a field the source API does not define is not carried over."""
    return (
        f"not a field of {owner}: the source's API server pruned it, so it never took effect; "
        "see the API reference for an AgentExecutor field that does what it meant"
    )


class MigrationError(DocumentError):
    """A document `agentplane migrate` cannot convert; the message names the field."""


class _Target:
    """The spec being written, and the report of every source field."""

    def __init__(self) -> None:
        self.spec: dict[str, Any] = {}
        self.fields: list[FieldReport] = []

    def put(self, target: str, value: Any) -> None:
        """Set `target` (a dotted path under `spec`) to `value`."""
        *parents, leaf = target.split(".")
        node = self.spec
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value

    def carry(self, source: str, target: str, value: Any, detail: str = "") -> None:
        """`source` moves to `spec.<target>` unchanged in meaning."""
        self.put(target, value)
        self.report(source, Outcome.CARRIED, f"spec.{target}", detail)

    def change(self, source: str, target: str, value: Any, detail: str) -> None:
        """`source` moves to `spec.<target>`, but its shape or effect differs (`detail`)."""
        self.put(target, value)
        self.report(source, Outcome.CHANGED, f"spec.{target}", detail)

    def report(self, source: str, outcome: Outcome, target: str = "", detail: str = "") -> None:
        """Record one field's fate."""
        self.fields.append(FieldReport(source, outcome, target, detail))

    def unknown(self, prefix: str, extra: dict[str, Any], owner: str) -> None:
        """Report each field `owner` does not define as not carried over."""
        for key in extra:
            self.report(f"{prefix}.{key}", Outcome.DROPPED, detail=unknown_field(owner))


def _location(loc: Iterable[int | str]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part in _TYPE_TAGS or "[" in part or part[:1].isupper():
            continue  # pydantic's name of a union branch, not a field
        else:
            path += f".{part}" if path else part
    return path


def _parse(model: type[_M], document: dict[str, Any], what: str) -> _M:
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        reasons: dict[str, str] = {}
        for error in exc.errors():
            reasons.setdefault(_location(error["loc"]) or "document", error["msg"])
        detail = "; ".join(f"{path}: {msg}" for path, msg in reasons.items())
        raise MigrationError(f"not a valid {what}: {detail}") from exc


def _model_of(annotation: Any) -> type[BaseModel] | None:
    candidates = [annotation, *typing.get_args(annotation)]
    return next(
        (c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)),
        None,
    )


def _ordered(values: dict[str, Any], model: type[BaseModel]) -> dict[str, Any]:
    """`values` with keys in the order of the model's fields, as the API reference lists them."""
    fields = {(info.alias or name): info for name, info in model.model_fields.items()}
    rank = {alias: index for index, alias in enumerate(fields)}
    ordered = {}
    for key in sorted(values, key=lambda k: rank.get(k, len(rank))):
        value = values[key]
        sub = _model_of(fields[key].annotation) if key in fields else None
        ordered[key] = _ordered(value, sub) if isinstance(value, dict) and sub else value
    return ordered


def _metadata(meta: SourceMetadata, target: _Target) -> dict[str, Any]:
    out: dict[str, Any] = {"name": meta.name}
    target.report("metadata.name", Outcome.CARRIED, "metadata.name")
    if meta.namespace is not None:
        out["namespace"] = meta.namespace
        target.report("metadata.namespace", Outcome.CARRIED, "metadata.namespace")
    if meta.labels:
        out["labels"] = dict(meta.labels)
        target.report("metadata.labels", Outcome.CARRIED, "metadata.labels")
    annotations = {k: v for k, v in meta.annotations.items() if k != LAST_APPLIED}
    if LAST_APPLIED in meta.annotations:
        target.report(
            f"metadata.annotations[{LAST_APPLIED}]",
            Outcome.OMITTED,
            detail="kubectl's copy of the source claim",
        )
    if annotations:
        out["annotations"] = annotations
        target.report("metadata.annotations", Outcome.CARRIED, "metadata.annotations")
    for key in meta.unknown():
        if key in SERVER_METADATA:
            target.report(f"metadata.{key}", Outcome.OMITTED, detail="written by the cluster")
        else:
            target.report(f"metadata.{key}", Outcome.DROPPED, detail="not carried to a new claim")
    return out


def _crossplane_fields(extra: dict[str, Any], target: _Target, owner: str) -> None:
    for key, value in extra.items():
        source = f"spec.{key}"
        if key in CROSSPLANE_OMITTED:
            target.report(source, Outcome.OMITTED, detail=CROSSPLANE_OMITTED[key])
        elif CROSSPLANE_DEFAULTS.get(key) == value:
            target.report(source, Outcome.OMITTED, detail=f"Crossplane's default ({value})")
        elif key in CROSSPLANE_DROPPED:
            target.report(source, Outcome.DROPPED, detail=CROSSPLANE_DROPPED[key])
        else:
            target.report(source, Outcome.DROPPED, detail=unknown_field(owner))


def _stream_note(stream: str, target: _Target) -> None:
    if stream not in PLATFORM_STREAMS:
        target.report(
            "",
            Outcome.NOTE,
            "spec.nats.stream",
            f"{stream} is not a platform stream: it must exist in the tenant's NATS account, "
            "or set nats.manageStream: true (with nats.subjects) to have it created",
        )


def _missing_secret_notes(assigned: set[Role], target: _Target) -> None:
    for role, (default, creator) in _DEFAULT_SECRETS.items():
        if role not in assigned:
            target.report(
                "",
                Outcome.NOTE,
                f"spec.secrets.{role.value}",
                f"no source Secret is the {_ROLE_NAMES[role]} connection: the default "
                f"{default!r} is read ({', '.join(_ROLE_KEYS[role])}); create it with "
                f"{creator}, or set this field",
            )
    target.report(
        "",
        Outcome.NOTE,
        "spec.secrets.nats",
        "the platform's NATS admits no anonymous client: the executor connects with the "
        "Secret 'nats-credentials' (NATS_USER, NATS_PASSWORD) that the platform generates "
        "from its tenant registry",
    )


def _event_driven_secrets(spec: EventDrivenServiceSpec, target: _Target) -> None:
    slots = [
        (f"spec.secret{index}Name", name)
        for index, name in enumerate(
            (
                spec.secret1_name,
                spec.secret2_name,
                spec.secret3_name,
                spec.secret4_name,
                spec.secret5_name,
            ),
            start=1,
        )
        if name is not None
    ]
    extra: list[str] = []
    assigned: set[Role] = set()
    for assignment in assign(slots):
        if assignment.role is Role.EXTRA:
            extra.append(assignment.name)
            target.report(
                assignment.source,
                Outcome.CARRIED,
                f"spec.secrets.extra[{len(extra) - 1}]",
                f"mounted whole with envFrom, as before ({assignment.why})",
            )
            continue
        assigned.add(assignment.role)
        target.change(
            assignment.source,
            f"secrets.{assignment.role.value}",
            assignment.name,
            f"its name says {_ROLE_NAMES[assignment.role]}; the executor "
            f"reads {', '.join(_ROLE_KEYS[assignment.role])} from it by key instead of "
            "mounting it whole: list it in secrets.extra too if the service reads other keys",
        )
    if spec.secret_name is not None:
        extra.append(spec.secret_name)
        target.report(
            "spec.secretName",
            Outcome.CARRIED,
            f"spec.secrets.extra[{len(extra) - 1}]",
            "mounted whole with envFrom, as before",
        )
    if extra:
        target.put("secrets.extra", extra)
    _missing_secret_notes(assigned, target)


def _pull_secrets(refs: list[str | NameReference], target: _Target, owner: str) -> None:
    if not refs:
        return
    names = [ref if isinstance(ref, str) else ref.name for ref in refs]
    value = [{"name": name} for name in names]
    if any(isinstance(ref, str) for ref in refs):
        target.change(
            "spec.imagePullSecrets",
            "imagePullSecrets",
            value,
            "a list of names becomes a list of {name: ...}",
        )
    else:
        target.carry("spec.imagePullSecrets", "imagePullSecrets", value)
    for index, ref in enumerate(refs):
        if isinstance(ref, NameReference):
            target.unknown(f"spec.imagePullSecrets[{index}]", ref.unknown(), owner)


def _http(spec: EventDrivenServiceSpec, target: _Target) -> None:
    port = runtime.HTTP_PORT
    if spec.http_port is not None:
        if spec.http_port == port:
            target.report("spec.httpPort", Outcome.BUILT_IN, detail=f"the executor serves {port}")
        else:
            target.report(
                "spec.httpPort",
                Outcome.DROPPED,
                detail=f"an AgentExecutor has no port field: its HTTP API is on {port} "
                f"(env PORT, Service port {port}), so callers of port {spec.http_port} "
                f"must use {port}",
            )
    for source, value, fixed, probe in (
        ("spec.healthPath", spec.health_path, runtime.HEALTH_PATH, "liveness"),
        ("spec.readyPath", spec.ready_path, runtime.READY_PATH, "readiness"),
    ):
        if value is None:
            continue
        if value == fixed:
            target.report(source, Outcome.BUILT_IN, detail=f"the {probe} probe is GET {fixed}")
        else:
            target.report(
                source,
                Outcome.DROPPED,
                detail=f"an AgentExecutor has no probe field: the {probe} probe is GET "
                f"{fixed} on {port}, which the executor's worker serves",
            )
    if spec.session_affinity == "None":
        target.report("spec.sessionAffinity", Outcome.BUILT_IN, detail="no session affinity")
    elif spec.session_affinity is not None:
        target.report(
            "spec.sessionAffinity",
            Outcome.DROPPED,
            detail="an AgentExecutor's Service has no session affinity: a job's state is in "
            "NATS and the database, so any pod may answer",
        )


def _migrations(spec: EventDrivenServiceSpec, target: _Target) -> None:
    init = spec.init_container
    if init is None:
        target.put("migrations.enabled", False)
        target.report(
            "",
            Outcome.NOTE,
            "spec.migrations.enabled",
            "false: the EventDrivenService ran no init container, and an AgentExecutor runs "
            f"{' '.join(runtime.MIGRATIONS_COMMAND)} before the worker unless told not to",
        )
        return
    target.carry("spec.initContainer.command", "migrations.command", [*init.command, *init.args])
    if init.args:
        target.report(
            "spec.initContainer.args",
            Outcome.CARRIED,
            "spec.migrations.command",
            "appended to the command, as Kubernetes runs them",
        )
    if init.image is not None:
        if init.image == spec.image:
            target.report(
                "spec.initContainer.image",
                Outcome.BUILT_IN,
                detail="migrations run in the executor's image",
            )
        else:
            target.report(
                "spec.initContainer.image",
                Outcome.DROPPED,
                detail="migrations run in the executor's own image (spec.image)",
            )
    target.unknown("spec.initContainer", init.unknown(), EVENT_DRIVEN_SERVICE)


def _scaling(spec: EventDrivenServiceSpec, target: _Target) -> None:
    scaling = spec.scaling
    if scaling is None:
        return
    for source, key, value in (
        ("spec.scaling.minReplicas", "minReplicas", scaling.min_replicas),
        ("spec.scaling.maxReplicas", "maxReplicas", scaling.max_replicas),
    ):
        if value is not None:
            target.carry(source, f"scaling.{key}", value)
    lag = scaling.lag_threshold
    if isinstance(lag, int):
        target.carry("spec.scaling.lagThreshold", "scaling.lagThreshold", lag)
    elif isinstance(lag, str) and lag.isdigit():
        target.change(
            "spec.scaling.lagThreshold",
            "scaling.lagThreshold",
            int(lag),
            f"the string {lag!r} becomes the integer {int(lag)}",
        )
    elif lag is not None:
        target.report(
            "spec.scaling.lagThreshold",
            Outcome.DROPPED,
            detail=f"{lag!r} is not a whole number of pending jobs",
        )
    target.unknown("spec.scaling", scaling.unknown(), EVENT_DRIVEN_SERVICE)


def _event_driven(spec: EventDrivenServiceSpec, target: _Target) -> None:
    target.carry("spec.image", "image", spec.image)
    _pull_secrets(list(spec.image_pull_secrets), target, EVENT_DRIVEN_SERVICE)
    if spec.size is not None:
        target.carry("spec.size", "size", spec.size, "same CPU and memory")
    if spec.nats.url is not None:
        target.carry("spec.nats.url", "nats.url", spec.nats.url)
    target.carry("spec.nats.stream", "nats.stream", spec.nats.stream)
    target.carry("spec.nats.consumer", "nats.consumer", spec.nats.consumer)
    _stream_note(spec.nats.stream, target)
    target.unknown("spec.nats", spec.nats.unknown(), EVENT_DRIVEN_SERVICE)
    _event_driven_secrets(spec, target)
    _migrations(spec, target)
    _scaling(spec, target)
    _http(spec, target)
    _crossplane_fields(spec.unknown(), target, EVENT_DRIVEN_SERVICE)


def _flat(spec: FlatAgentExecutorSpec, target: _Target) -> None:
    target.carry("spec.image", "image", spec.image)
    _pull_secrets(list(spec.image_pull_secrets), target, FLAT)
    if spec.size is not None:
        target.carry("spec.size", "size", spec.size, "same CPU and memory")
    for source, key, value in (
        ("spec.natsUrl", "nats.url", spec.nats_url),
        ("spec.natsStreamName", "nats.stream", spec.nats_stream_name),
        ("spec.natsConsumerGroup", "nats.consumer", spec.nats_consumer_group),
    ):
        if value is not None:
            target.carry(source, key, value)
    if spec.nats_stream_name is not None:
        _stream_note(spec.nats_stream_name, target)
    assigned: set[Role] = set()
    for source, role, value in (
        ("spec.postgresConnectionSecret", Role.POSTGRES, spec.postgres_connection_secret),
        ("spec.dragonflyConnectionSecret", Role.DRAGONFLY, spec.dragonfly_connection_secret),
        ("spec.llmKeysSecret", Role.LLM_KEYS, spec.llm_keys_secret),
    ):
        if value is not None:
            assigned.add(role)
            target.carry(source, f"secrets.{role.value}", value, "read by the same keys")
    _missing_secret_notes(assigned, target)
    _crossplane_fields(spec.unknown(), target, FLAT)


def _admission(name: str, namespace: str, spec: dict[str, Any], target: _Target) -> None:
    verdict = admit(name, namespace, spec)
    for line in verdict.errors:
        field, _, reason = line.partition(": ")
        target.report("", Outcome.INVALID, field, reason)
    for line in verdict.warnings:
        field, _, reason = line.partition(": ")
        target.report("", Outcome.NOTE, field, reason)


def nothing_to_migrate(document: dict[str, Any]) -> str:
    """Why a document is not a source claim, for the error a user sees."""
    found = f"{document.get('apiVersion', '?')} {document.get('kind', '?')}"
    if is_target(document):
        return f"{found} is already in this platform's shape"
    return f"{found} is not a zerotouch-platform claim"


def convert(document: dict[str, Any]) -> Conversion:
    """The AgentExecutor claim for a zerotouch-platform claim, with the report of each field."""
    kind = source_kind(document)
    target = _Target()
    if kind is SourceKind.EVENT_DRIVEN_SERVICE:
        eds = _parse(EventDrivenServiceClaim, document, "EventDrivenService")
        metadata, extra = _metadata(eds.metadata, target), eds.unknown()
        _event_driven(eds.spec, target)
    elif kind is SourceKind.FLAT_AGENT_EXECUTOR:
        flat = _parse(FlatAgentExecutorClaim, document, "flat AgentExecutor")
        metadata, extra = _metadata(flat.metadata, target), flat.unknown()
        _flat(flat.spec, target)
    else:
        raise MigrationError(nothing_to_migrate(document))
    for key in extra:
        if key == "status":
            target.report("status", Outcome.OMITTED, detail="written by the cluster")
        else:
            target.report(key, Outcome.DROPPED, detail="not a field of a claim")
    spec = _ordered(target.spec, AgentExecutorSpec)
    name, namespace = metadata["name"], metadata.get("namespace", "")
    _admission(name, namespace, spec, target)
    claim = {"apiVersion": COMPOSITE_API_VERSION, "kind": KIND, "metadata": metadata, "spec": spec}
    return Conversion(kind.value, name, namespace, claim, tuple(target.fields))
