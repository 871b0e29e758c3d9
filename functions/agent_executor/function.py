"""The gRPC FunctionRunnerService: request in, desired state out, never an exception."""

from __future__ import annotations

from typing import Any

import grpc
from crossplane.function import logging, resource, response
from crossplane.function.proto.v1 import run_function_pb2 as fnv1
from crossplane.function.proto.v1 import run_function_pb2_grpc as grpcv1
from google.protobuf import json_format, struct_pb2

from functions.agent_executor import names
from functions.agent_executor.cache import ComposeCache
from functions.agent_executor.compose import compose_xr
from functions.agent_executor.databases.compose import STORE_KINDS, compose_store
from functions.agent_executor.databases.function import compose_store_response
from functions.agent_executor.readiness import (
    CONDITION_TYPE,
    resource_readiness,
    summarize,
    xr_status,
)
from functions.agent_executor.reply import Reply
from functions.agent_executor.spec import KIND

# Every kind this one function composes: one image, one pinned Function, three XRDs.
KINDS = (KIND, *STORE_KINDS)


def _field(struct: struct_pb2.Struct, key: str) -> Any:
    return struct[key] if key in struct else None  # noqa: SIM401 - Struct has no .get()


def _plain(value: object) -> object:
    """A Struct field's value as plain JSON: Struct → dict, ListValue → list, else as is."""
    if isinstance(value, struct_pb2.Struct | struct_pb2.ListValue):
        return json_format.MessageToDict(value)
    return value


def _only(value: object, key: str) -> object:
    """`{key: value[key]}` of an object, else the value itself, so readiness sees its shape."""
    if not isinstance(value, struct_pb2.Struct):
        return _plain(value)
    return {key: _plain(value[key])} if key in value else {}


def observed_summary(req: fnv1.RunFunctionRequest, name: str) -> dict[str, Any] | None:
    """The parts of an observed resource readiness reads (generation, replicas, status).

    Converting only these keeps a reconcile cheap: a full Deployment with its
    managed fields is large. A part of the wrong shape is kept as it is, for
    readiness to name. `in` comes first because indexing a protobuf map
    inserts an empty entry.
    """
    if name not in req.observed.resources:
        return None
    observed = req.observed.resources[name].resource
    summary: dict[str, Any] = {}
    for part, key in (("metadata", "generation"), ("spec", "replicas")):
        value = _field(observed, part)
        if value is not None:
            summary[part] = _only(value, key)
    status = _field(observed, "status")
    if status is not None:
        summary["status"] = _plain(status)
    return summary


def compose_response(req: fnv1.RunFunctionRequest, cache: ComposeCache) -> fnv1.RunFunctionResponse:
    """Build the response for one request as a single message (see `compose_reply`)."""
    return compose_reply(req, cache).message()


def compose_reply(req: fnv1.RunFunctionRequest, cache: ComposeCache) -> Reply:
    """Build the response for one request; bad input becomes a fatal result, not an error.

    A fatal response carries the desired state exactly as it arrived, so a
    refused XR never yields a partial set of resources.
    """
    xr = req.observed.composite.resource
    kind = _field(xr, "kind")
    if kind in STORE_KINDS:
        return Reply(compose_store_response(req, STORE_KINDS[kind]))
    rsp = response.to(req)
    if kind not in (None, "", KIND):
        response.fatal(
            rsp,
            f"kind: this function composes {', '.join(KINDS)}, not {str(kind)[:80]!r}; "
            "check the Composition's compositeTypeRef",
        )
        return Reply(rsp)
    metadata = _field(xr, "metadata")
    if not isinstance(metadata, struct_pb2.Struct):
        metadata = struct_pb2.Struct()
    name = str(_field(metadata, "name") or "")
    namespace = str(_field(metadata, "namespace") or "")
    spec = _field(xr, "spec")
    composed = cache.get(name, namespace, spec if isinstance(spec, struct_pb2.Struct) else None)

    if composed.spec is None:
        response.fatal(
            rsp, f"invalid AgentExecutor {namespace}/{name}: " + "; ".join(composed.errors)
        )
        return Reply(rsp)
    for message in composed.warnings:
        response.warning(rsp, message)

    readiness = {
        key: resource_readiness(key, observed_summary(req, key)) for key in composed.resources
    }
    # Ours replace same-named resources of earlier pipeline steps; others stay.
    for key in composed.resources:
        if key in rsp.desired.resources:
            del rsp.desired.resources[key]
    tail = composed.encoded.with_readiness(
        fnv1.READY_TRUE if readiness[key].ready else fnv1.READY_FALSE for key in composed.resources
    )

    status = xr_status(composed.workload, composed.spec, observed_summary(req, names.DEPLOYMENT))
    rsp.desired.composite.resource.get_or_create_struct("status").update(
        status.model_dump(by_alias=True, exclude_none=True)
    )
    overall = summarize(readiness)
    response.set_conditions(
        rsp,
        resource.Condition(
            typ=CONDITION_TYPE,
            status="True" if overall.ready else "False",
            reason=overall.reason,
            message=overall.message,
        ),
    )
    return Reply(rsp, tail)


class AgentExecutorFunction(grpcv1.FunctionRunnerServiceServicer):
    """Composes an AgentExecutor, PostgresInstance or DragonflyInstance XR into its resources."""

    def __init__(self, cache: ComposeCache | None = None) -> None:
        self.log = logging.get_logger()
        self.cache = cache if cache is not None else ComposeCache()

    async def RunFunction(  # noqa: N802 - the gRPC method name
        self, req: fnv1.RunFunctionRequest, _: grpc.aio.ServicerContext | None = None
    ) -> fnv1.RunFunctionResponse:
        """Run the function; any unexpected failure is reported as a fatal result."""
        return self.reply(req).message()

    async def run_function_wire(
        self, req: fnv1.RunFunctionRequest, _: grpc.aio.ServicerContext | None = None
    ) -> bytes:
        """`RunFunction` as the serialized response: what the server sends (server.py)."""
        return self.reply(req).wire()

    def reply(self, req: fnv1.RunFunctionRequest) -> Reply:
        """The response to `req`; any unexpected failure is reported as a fatal result."""
        try:
            return compose_reply(req, self.cache)
        except Exception as exc:
            kind = _field(req.observed.composite.resource, "kind")
            rsp = response.to(req)
            if kind in STORE_KINDS:
                # The exception's type only: a database's request carries its Secrets, and
                # neither a log line nor a result may ever quote a password.
                self.log.error(
                    "compose failed", tag=req.meta.tag, kind=kind, error=type(exc).__name__
                )
                response.fatal(rsp, f"internal error composing {kind}: {type(exc).__name__}")
                return Reply(rsp)
            self.log.exception("compose failed", tag=req.meta.tag)
            response.fatal(
                rsp, f"internal error composing AgentExecutor: {type(exc).__name__}: {exc}"
            )
            return Reply(rsp)


def warm_up() -> None:
    """Compose one XR of each kind before serving, so the first real call does not pay for
    lazy imports (the databases as a render would: no password is generated)."""
    composed = compose_xr("warm-up", "default", {"image": "registry.local/warm-up:1"})
    if composed.spec is None:  # the built-in example must always be admitted
        raise RuntimeError(f"warm-up composition was refused: {composed.errors}")
    for kind in STORE_KINDS.values():
        store = compose_store(kind, "warm-up", "default", {}, {}, live=False)
        if store.spec is None:
            raise RuntimeError(f"warm-up of {kind.kind} was refused: {store.errors}")
