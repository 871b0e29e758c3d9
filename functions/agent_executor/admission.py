"""Decide whether an XR can be composed, with messages that name the field and the reason.

Everything the XRD would refuse is refused here too (the spec models carry the
same constraints); on top, checks the schema cannot express, such as requests
above limits, which the API server would only reject later on the Deployment.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from kubernetes.utils.quantity import parse_quantity
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from contract.nats import PLATFORM_STREAMS, subjects_overlap
from functions.agent_executor.builders.capacity import container_resources
from functions.agent_executor.names import Workload
from functions.agent_executor.spec import KIND, PATTERN_HINTS, AgentExecutorSpec

# Service names are DNS-1035 labels, and every composed name starts with the XR's.
# Matched with `fullmatch`: `$` would also match before a trailing newline.
XR_NAME = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
XR_NAME_MAX = 63
# Namespace names are DNS-1123 labels: unlike a name, they may start with a digit.
XR_NAMESPACE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
XR_NAMESPACE_MAX = 63
MAX_PORT = 65535
_UNION_TAGS = {"int", "str", "constrained-int", "constrained-str", "bool", "list", "dict", "float"}
_ECHO_LIMIT = 80


@dataclass
class Admission:
    """The verdict on one XR: a spec to compose, or errors; warnings either way."""

    spec: AgentExecutorSpec | None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


# Crossplane 2.x keeps its own machinery of a namespaced XR under `spec.crossplane`
# (compositionRef, compositionRevisionRef, compositionUpdatePolicy, resourceRefs): every XR
# the function is called with carries it, and it is not the tenant's spec.
CROSSPLANE_FIELD = "crossplane"


def tenant_spec(raw_spec: Any) -> Any:
    """The spec without Crossplane's own `spec.crossplane` block; anything else as it is."""
    if isinstance(raw_spec, dict) and CROSSPLANE_FIELD in raw_spec:
        return {k: v for k, v in raw_spec.items() if k != CROSSPLANE_FIELD}
    return raw_spec


def normalize_numbers(value: Any) -> Any:
    """Turn integral floats back into ints.

    protobuf's Struct carries every number as a double, so `minReplicas: 2`
    arrives as 2.0; the spec is strict about integers, like the API server.
    """
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: normalize_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalize_numbers(v) for v in value]
    return value


def _path(loc: tuple[int | str, ...], extra: str | None) -> str:
    path = "spec"
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part in _UNION_TAGS or "[" in part:
            continue  # pydantic's name for a union branch, not a field
        else:
            path += f".{part}"
    if extra:
        path += extra if extra.startswith("[") else f".{extra}"
    return path


def _echo(path: str, value: Any) -> str:
    # env may hold credentials a tenant should not have put there, in whatever
    # shape it was written; nothing under it is ever repeated back. Nor is a refused
    # api.tokenSecret: a token pasted where the Secret's name belongs is a likely mistake.
    if path in ("spec.env", "spec.api.tokenSecret") or path.startswith(("spec.env[", "spec.env.")):
        return ""
    text = repr(value)
    return f" (got {text[:_ECHO_LIMIT]}{'…' if len(text) > _ECHO_LIMIT else ''})"


# Errors a spec model raises itself (PydanticCustomError): their message is the reason.
CUSTOM_ERRORS = ("field_relation", "reserved_env", "reserved_name")


def _reason(error: ErrorDetails, path: str, kind: str, hints: Mapping[str, str]) -> str:
    error_type = error["type"]
    ctx = error.get("ctx", {})
    value = error.get("input")
    if error_type == "string_pattern_mismatch":
        hint = hints.get(str(ctx.get("pattern")), f"must match {ctx.get('pattern')}")
        return hint + _echo(path, value)
    if error_type == "missing":
        return "is required"
    if error_type == "extra_forbidden":
        return f"is not a field of {kind}"
    if error_type == "literal_error":
        return f"must be one of {ctx.get('expected')}" + _echo(path, value)
    if error_type in CUSTOM_ERRORS:
        return error["msg"]
    message = error["msg"]
    return message[:1].lower() + message[1:] + _echo(path, value)


def format_errors(
    exc: ValidationError, kind: str = KIND, hints: Mapping[str, str] = PATTERN_HINTS
) -> list[str]:
    """One `path: reason` line per invalid field of a `kind` spec, in input order."""
    by_path: dict[str, list[ErrorDetails]] = {}
    for error in exc.errors():
        ctx = error.get("ctx", {})
        extra = ctx.get("field") if isinstance(ctx.get("field"), str) else None
        by_path.setdefault(_path(error["loc"], extra), []).append(error)
    lines = []
    for path, errors in by_path.items():
        # A union (int-or-string quantity) reports every branch; the pattern
        # branch says most about a string, the type branch about anything else.
        chosen = next((e for e in errors if e["type"] == "string_pattern_mismatch"), errors[0])
        if len(errors) > 1 and chosen["type"] != "string_pattern_mismatch":
            lines.append(
                f"{path}: must be a non-negative integer "
                "or a quantity string such as '500m' or '1Gi'"
            )
            continue
        lines.append(f"{path}: {_reason(chosen, path, kind, hints)}")
    return lines


def metadata_errors(
    name: str,
    namespace: str,
    kind: str = KIND,
    *,
    name_max: int = XR_NAME_MAX,
    name_use: str = "it names the Service and every composed resource",
) -> list[str]:
    """Problems with the XR's name and namespace, which every composed name derives from."""
    errors = []
    if not name:
        errors.append("metadata.name: is required")
    elif len(name) > name_max or not XR_NAME.fullmatch(name):
        errors.append(
            f"metadata.name: must be a DNS-1035 label of at most {name_max} characters "
            f"(lower-case letters, digits, '-', starting with a letter), got {name!r}; " + name_use
        )
    if not namespace:
        errors.append(f"metadata.namespace: is required; {kind} is a namespaced resource")
    elif len(namespace) > XR_NAMESPACE_MAX or not XR_NAMESPACE.fullmatch(namespace):
        errors.append(
            "metadata.namespace: must be a DNS-1123 label of at most 63 characters, "
            "lower-case letters, digits and '-', starting and ending with a letter or digit"
            + _echo("metadata.namespace", namespace)
            + "; every composed resource is created in it"
        )
    return errors


def _resource_errors(spec: AgentExecutorSpec) -> list[str]:
    resources = container_resources(spec)
    errors = []
    for key in ("cpu", "memory"):
        request, limit = resources["requests"][key], resources["limits"][key]
        try:
            too_high = parse_quantity(request) > parse_quantity(limit)
        except ValueError as exc:
            errors.append(f"spec.resources: {key} quantity {request!r}/{limit!r} is invalid: {exc}")
            continue
        if too_high:
            errors.append(
                f"spec.resources.requests.{key}: {request} exceeds the limit {limit} "
                f"(size {spec.size} with overrides); requests must not exceed limits"
            )
    return errors


def _port_errors(spec: AgentExecutorSpec) -> list[str]:
    # The patterns admit any digits after ':'; a port must also be in range.
    errors = []
    for item in spec.nats.url.split(","):
        try:
            port = urlsplit(item).port
        except ValueError:
            port = -1
        if port is not None and not 1 <= port <= MAX_PORT:
            errors.append(f"spec.nats.url: {item!r} has a port outside 1-65535")
    port = int(spec.nats.monitoring_endpoint.rsplit(":", 1)[1])
    if not 1 <= port <= MAX_PORT:
        errors.append(f"spec.nats.monitoringEndpoint: port {port} is outside 1-65535")
    return errors


def _managed_stream_errors(spec: AgentExecutorSpec) -> list[str]:
    # A tenant's managed stream must not take over a platform stream: NACK would
    # reconcile it to the tenant's settings, and JetStream refuses overlapping subjects.
    nats = spec.nats
    if not nats.manage_stream:
        return []
    errors = []
    if nats.stream in PLATFORM_STREAMS:
        errors.append(
            f"spec.nats.stream: {nats.stream} is a platform stream; "
            "a managed stream (manageStream: true) needs a name of its own"
        )
    for index, subject in enumerate(nats.subjects):
        for stream, platform_subjects in PLATFORM_STREAMS.items():
            clash = next((p for p in platform_subjects if subjects_overlap(subject, p)), None)
            if clash:
                errors.append(
                    f"spec.nats.subjects[{index}]: {subject!r} overlaps {clash!r} of the "
                    f"platform stream {stream}; use a subject with more tokens, "
                    "e.g. 'agent.execute.<team>.*'"
                )
    return errors


def _external_store_errors(spec: AgentExecutorSpec) -> list[str]:
    # The pattern admits the shape of a network; the address must also parse, with no host
    # bits set (a NetworkPolicy would silently widen 10.0.0.5/16 to 10.0.0.0/16).
    errors = []
    for index, external in enumerate(spec.network_policy.external_stores):
        try:
            ipaddress.ip_network(external.cidr, strict=True)
        except ValueError as exc:
            errors.append(
                f"spec.networkPolicy.externalStores[{index}].cidr: {external.cidr!r} "
                f"is not a network: {exc}"
            )
    return errors


# A label key: an optional DNS-subdomain prefix and '/', then a name of at most 63 characters.
# Keys are map keys, which a structural schema cannot constrain, so they are checked here.
_LABEL_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")
_LABEL_PREFIX = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_LABEL_PREFIX_MAX = 253


def label_key_problem(key: str) -> str | None:
    """Why `key` is not a Kubernetes label key, or None when it is one."""
    prefix, slash, name = key.rpartition("/")
    if slash and (len(prefix) > _LABEL_PREFIX_MAX or not _LABEL_PREFIX.fullmatch(prefix)):
        return "its prefix before '/' must be a lower-case DNS subdomain of at most 253 characters"
    if not _LABEL_NAME.fullmatch(name):
        return (
            "must be a label key: an optional DNS-subdomain prefix and '/', then at most 63 "
            "letters, digits, '-', '_' and '.', starting and ending with a letter or digit"
        )
    return None


def _service_monitor_label_errors(spec: AgentExecutorSpec) -> list[str]:
    # The recommended app.kubernetes.io/* labels are the function's own on every object.
    own = Workload("x", "x").labels()
    errors = []
    for key in spec.service_monitor.labels:
        problem = label_key_problem(key)
        if problem is None and key in own:
            problem = "is set by the platform on every composed resource"
        if problem is not None:
            errors.append(f"spec.serviceMonitor.labels: key {key[:_ECHO_LIMIT]!r} {problem}")
    return errors


def _image_warnings(image: str) -> list[str]:
    if "@sha256:" in image:
        return []
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return [
            f"spec.image: {image!r} has no tag or digest, so it runs whatever ':latest' is "
            "at pull time; pin a version tag or an @sha256 digest"
        ]
    if last.rsplit(":", 1)[1] == "latest":
        return [
            f"spec.image: {image!r} uses the mutable 'latest' tag; pods may run different "
            "code after a reschedule; pin a version tag or an @sha256 digest"
        ]
    return []


def admit(name: str, namespace: str, raw_spec: Any) -> Admission:
    """Validate an XR's metadata and spec; never raises for any input."""
    errors = metadata_errors(name, namespace)
    raw_spec = tenant_spec(raw_spec)
    if not isinstance(raw_spec, dict):
        return Admission(spec=None, errors=[*errors, "spec: is required and must be an object"])
    try:
        spec = AgentExecutorSpec.model_validate(normalize_numbers(raw_spec))
    except ValidationError as exc:
        return Admission(spec=None, errors=errors + format_errors(exc))
    errors += _resource_errors(spec) + _port_errors(spec) + _managed_stream_errors(spec)
    errors += _external_store_errors(spec) + _service_monitor_label_errors(spec)
    if errors:
        return Admission(spec=None, errors=errors)
    return Admission(spec=spec, warnings=_image_warnings(spec.image))
