"""RunFunction for a PostgresInstance or DragonflyInstance: request in, desired state out.

Same contract as the AgentExecutor path (`functions/agent_executor/function.py`): bad input is
one fatal result naming the field, with the desired state left exactly as it arrived; no
message, status field or log line ever carries the password.
"""

from __future__ import annotations

from typing import Any

from crossplane.function import resource, response
from crossplane.function.proto.v1 import run_function_pb2 as fnv1
from google.protobuf import struct_pb2

from functions.agent_executor.databases.compose import StoreKind, compose_store
from functions.agent_executor.databases.names import (
    DRAGONFLY_RESOURCE_NAMES,
    POSTGRES_RESOURCE_NAMES,
)
from functions.agent_executor.databases.readiness import store_resource_readiness
from functions.agent_executor.readiness import Readiness, summarize

_RESOURCE_NAMES = (*POSTGRES_RESOURCE_NAMES, *DRAGONFLY_RESOURCE_NAMES)


def _field(struct: struct_pb2.Struct, key: str) -> object:
    return struct[key] if key in struct else None  # noqa: SIM401 - Struct has no .get()


def _text(struct: struct_pb2.Struct, key: str) -> str:
    value = _field(struct, key)
    return value if isinstance(value, str) else ""


def observed_resources(req: fnv1.RunFunctionRequest) -> dict[str, Any]:
    """The observed composed resources a database reads, as plain dicts.

    `in` comes first because indexing a protobuf map inserts an empty entry.
    """
    return {
        key: resource.struct_to_dict(req.observed.resources[key].resource)
        for key in _RESOURCE_NAMES
        if key in req.observed.resources
    }


def compose_store_response(
    req: fnv1.RunFunctionRequest, kind: StoreKind
) -> fnv1.RunFunctionResponse:
    """Build the response for one database XR; bad input becomes a fatal result."""
    rsp = response.to(req)
    xr = req.observed.composite.resource
    metadata = _field(xr, "metadata")
    if not isinstance(metadata, struct_pb2.Struct):
        metadata = struct_pb2.Struct()
    name, namespace = _text(metadata, "name"), _text(metadata, "namespace")
    spec = _field(xr, "spec")
    raw_spec = resource.struct_to_dict(spec) if isinstance(spec, struct_pb2.Struct) else spec
    observed = observed_resources(req)
    # An XR read from a file (render) has no uid: the password is shown as a placeholder.
    composed = compose_store(
        kind, name, namespace, raw_spec, observed, live=bool(_text(metadata, "uid"))
    )
    if composed.spec is None or composed.resources is None:
        response.fatal(
            rsp, f"invalid {kind.kind} {namespace}/{name}: " + "; ".join(composed.errors)
        )
        return rsp

    readiness: dict[str, Readiness] = {}
    for key, manifest in composed.resources.items():
        if key in rsp.desired.resources:
            del rsp.desired.resources[key]
        rsp.desired.resources[key].resource.update(manifest)
        readiness[key] = store_resource_readiness(key, observed.get(key), composed.spec)
        ready = readiness[key].ready
        rsp.desired.resources[key].ready = fnv1.READY_TRUE if ready else fnv1.READY_FALSE

    status = kind.status(composed.store, composed.spec, observed.get(kind.main_resource))
    rsp.desired.composite.resource.get_or_create_struct("status").update(
        status.model_dump(by_alias=True, exclude_none=True)
    )
    # The operator's resource speaks first: "cluster: 0/1 instances ready" says more than a
    # Secret that is not observed yet.
    main = {kind.main_resource: readiness[kind.main_resource]}
    overall = summarize(main) if not main[kind.main_resource].ready else summarize(readiness)
    response.set_conditions(
        rsp,
        resource.Condition(
            typ=kind.condition,
            status="True" if overall.ready else "False",
            reason=overall.reason,
            message=overall.message,
        ),
    )
    return rsp
