"""Run a Composition's function pipeline over real gRPC, as `crossplane render` does.

This repository's function is started once per engine (a subprocess on a free
port) and reused for every XR; a function annotated
`render.crossplane.io/runtime: Development` is reached at its target address.
Any other function needs the real Crossplane CLI (`--engine crossplane`).
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from crossplane.function import resource
from crossplane.function.proto.v1 import run_function_pb2 as fnv1
from crossplane.function.proto.v1 import run_function_pb2_grpc as grpcv1
from google.protobuf import struct_pb2

from functions.agent_executor.xrd import FUNCTION_NAME
from functions.render.errors import RenderError
from functions.render.local_function import LocalFunction

RUNTIME_ANNOTATION = "render.crossplane.io/runtime"
TARGET_ANNOTATION = "render.crossplane.io/runtime-development-target"
DEFAULT_DEVELOPMENT_TARGET = "localhost:9443"
RESOURCE_NAME_ANNOTATION = "crossplane.io/composition-resource-name"
COMPOSITE_LABEL = "crossplane.io/composite"
# crossplane render stamps conditions with a fixed time so output is reproducible.
RENDER_TIME = "2024-01-01T00:00:00Z"
_SEVERITY = {
    fnv1.SEVERITY_FATAL: "SEVERITY_FATAL",
    fnv1.SEVERITY_WARNING: "SEVERITY_WARNING",
    fnv1.SEVERITY_NORMAL: "SEVERITY_NORMAL",
}
_CONDITION_STATUS = {
    fnv1.STATUS_CONDITION_TRUE: "True",
    fnv1.STATUS_CONDITION_FALSE: "False",
    fnv1.STATUS_CONDITION_UNKNOWN: "Unknown",
}


@dataclass
class Rendered:
    """What one XR renders to: the XR with its status, composed resources, results."""

    composite: dict[str, Any]
    resources: list[dict[str, Any]]
    results: list[dict[str, Any]] = field(default_factory=list)

    def documents(self, include_results: bool = False) -> list[dict[str, Any]]:
        """The output stream: XR, composed resources by resource name, then results."""
        docs = [self.composite, *self.resources]
        return docs + self.results if include_results else docs


def _plain(value: struct_pb2.Value) -> Any:
    """A Struct Value as plain data: integral numbers as ints, infinities and NaN refused (as
    `resource.struct_to_dict` refuses them)."""
    kind = value.WhichOneof("kind")
    if kind == "string_value":
        return value.string_value
    if kind == "struct_value":
        return {k: _plain(v) for k, v in value.struct_value.fields.items()}
    if kind == "number_value":
        number = value.number_value
        if number.is_integer():
            return int(number)
        if math.isinf(number) or math.isnan(number):
            raise ValueError(f"Fail to serialize {number} for Value.number_value")
        return number
    if kind == "list_value":
        return [_plain(v) for v in value.list_value.values]
    if kind == "bool_value":
        return value.bool_value
    return None  # null_value, or no value at all


def plain(struct: struct_pb2.Struct) -> dict[str, Any]:
    """A Struct as a plain dict: `resource.struct_to_dict` with integral numbers as ints
    (Struct numbers are doubles, manifests want ints)."""
    return {k: _plain(v) for k, v in struct.fields.items()}


def type_ref(composition: dict[str, Any]) -> tuple[str, str]:
    """(apiVersion, kind) of the XRs a Composition composes."""
    ref = (composition.get("spec") or {}).get("compositeTypeRef") or {}
    return str(ref.get("apiVersion", "")), str(ref.get("kind", ""))


class Engine:
    """Renders XRs through their Composition's pipeline; reuse it for many XRs.

    Given several Compositions, each XR goes through the one whose `compositeTypeRef` names
    its apiVersion and kind, as Crossplane chooses.
    """

    def __init__(
        self,
        root: Path,
        composition: dict[str, Any] | list[dict[str, Any]],
        functions: list[dict[str, Any]],
        local: LocalFunction | None = None,
    ) -> None:
        self.compositions = composition if isinstance(composition, list) else [composition]
        self.functions = {f.get("metadata", {}).get("name"): f for f in functions}
        # A function already launched by the caller, or one started on first use.
        self.local = local if local is not None else LocalFunction(root)
        self.channels: dict[str, grpc.Channel] = {}
        self._lock = threading.Lock()  # render_many calls _stub from several threads

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Close channels and stop the local function."""
        for channel in self.channels.values():
            channel.close()
        self.channels.clear()
        self.local.stop()

    def _address(self, function_name: str) -> str:
        function = self.functions.get(function_name)
        if function is None:
            raise RenderError(
                f"the Composition's pipeline calls function {function_name!r}, "
                "which is not among the functions given (--functions)"
            )
        annotations = function.get("metadata", {}).get("annotations", {}) or {}
        if annotations.get(RUNTIME_ANNOTATION) == "Development":
            return str(annotations.get(TARGET_ANNOTATION, DEFAULT_DEVELOPMENT_TARGET))
        if function_name == FUNCTION_NAME:
            return self.local.start()
        raise RenderError(
            f"function {function_name!r} is not this repository's function and has no "
            f"{RUNTIME_ANNOTATION}: Development annotation; the built-in engine cannot run "
            "its package. Use --engine crossplane to render with the Crossplane CLI."
        )

    def _stub(self, function_name: str) -> grpcv1.FunctionRunnerServiceStub:
        with self._lock:
            address = self._address(function_name)
            if address not in self.channels:
                self.channels[address] = grpc.insecure_channel(address)
            return grpcv1.FunctionRunnerServiceStub(self.channels[address])

    def _function_names(self) -> set[str]:
        return {
            str((step.get("functionRef") or {}).get("name"))
            for composition in self.compositions
            for step in composition.get("spec", {}).get("pipeline", []) or []
        }

    def launch(self) -> None:
        """Start booting this repository's function, without waiting, if a Composition's
        pipeline calls it and no Development target stands in for it."""
        function = self.functions.get(FUNCTION_NAME)
        annotations = (function or {}).get("metadata", {}).get("annotations", {}) or {}
        if (
            function is not None
            and FUNCTION_NAME in self._function_names()
            and annotations.get(RUNTIME_ANNOTATION) != "Development"
        ):
            self.local.launch()

    def start_functions(self) -> bool:
        """Start this repository's function now if a Composition's pipeline calls it. False
        when a pipeline calls a function that cannot run: rendering an XR will say why."""
        try:
            for name in self._function_names():
                with self._lock:
                    self._address(name)
        except RenderError:
            return False
        return True

    def composition_for(self, xr: dict[str, Any]) -> dict[str, Any]:
        """The Composition whose compositeTypeRef matches the XR."""
        wanted = (str(xr.get("apiVersion", "")), str(xr.get("kind", "")))
        for composition in self.compositions:
            if type_ref(composition) == wanted:
                return composition
        offered = ", ".join(" ".join(type_ref(c)) for c in self.compositions) or "none"
        raise RenderError(
            f"no Composition composes {wanted[0]} {wanted[1]} (the Compositions given are for: "
            f"{offered})"
        )

    def render_many(
        self, xrs: list[dict[str, Any]], observed: list[dict[str, Any]] | None = None
    ) -> Iterator[Rendered]:
        """Render XRs concurrently, yielding results in input order.

        While the function process composes one XR, this process converts and
        prints another: on two cores that overlap is most of the speed-up.
        """
        with ThreadPoolExecutor(max_workers=4) as pool:
            yield from pool.map(lambda xr: self.render(xr, observed), xrs)

    def render(self, xr: dict[str, Any], observed: list[dict[str, Any]] | None = None) -> Rendered:
        """Run every pipeline step for `xr` and assemble the `crossplane render` output."""
        observed_state = fnv1.State(composite=fnv1.Resource(resource=resource.dict_to_struct(xr)))
        for item in observed or []:
            key = (item.get("metadata", {}).get("annotations", {}) or {}).get(
                RESOURCE_NAME_ANNOTATION
            )
            if key:
                observed_state.resources[key].resource.CopyFrom(resource.dict_to_struct(item))
        desired = fnv1.State()
        context = None
        results: list[dict[str, Any]] = []
        conditions: list[dict[str, Any]] = []
        for step in self.composition_for(xr).get("spec", {}).get("pipeline", []):
            req = fnv1.RunFunctionRequest(
                meta=fnv1.RequestMeta(tag=step["step"]), observed=observed_state, desired=desired
            )
            if context is not None:
                req.context.CopyFrom(context)
            if step.get("input") is not None:
                req.input.CopyFrom(resource.dict_to_struct(step["input"]))
            try:
                rsp = self._stub(step["functionRef"]["name"]).RunFunction(req, timeout=30)
            except grpc.RpcError as exc:
                raise RenderError(
                    f"pipeline step {step['step']!r}: gRPC error: {exc.details()}"
                ) from exc
            for result in rsp.results:
                if result.severity == fnv1.SEVERITY_FATAL:
                    raise RenderError(
                        f"pipeline step {step['step']!r} returned a fatal result: {result.message}"
                    )
                results.append(
                    {
                        "apiVersion": "render.crossplane.io/v1beta1",
                        "kind": "Result",
                        "step": step["step"],
                        "severity": _SEVERITY.get(result.severity, "SEVERITY_UNSPECIFIED"),
                        "message": result.message,
                    }
                )
            conditions += [
                {
                    "type": c.type,
                    "status": _CONDITION_STATUS.get(c.status, "Unknown"),
                    "reason": c.reason,
                    **({"message": c.message} if c.message else {}),
                    "lastTransitionTime": RENDER_TIME,
                }
                for c in rsp.conditions
            ]
            desired = rsp.desired
            context = rsp.context if rsp.HasField("context") else None
        return self._assemble(xr, desired, conditions, results)

    def _assemble(
        self,
        xr: dict[str, Any],
        desired: fnv1.State,
        conditions: list[dict[str, Any]],
        results: list[dict[str, Any]],
    ) -> Rendered:
        metadata = xr.get("metadata", {})
        name, namespace = metadata.get("name", ""), metadata.get("namespace")
        all_ready = all(r.ready == fnv1.READY_TRUE for r in desired.resources.values())
        status = plain(desired.composite.resource).get("status", {})
        status["conditions"] = [
            {
                "type": "Ready",
                "status": "True" if all_ready else "False",
                "reason": "Available" if all_ready else "Creating",
                "lastTransitionTime": RENDER_TIME,
            },
            *conditions,
        ]
        composite = {
            "apiVersion": xr.get("apiVersion"),
            "kind": xr.get("kind"),
            "metadata": {k: v for k, v in (("name", name), ("namespace", namespace)) if v},
            "status": status,
        }
        owner = {
            "apiVersion": xr.get("apiVersion"),
            "kind": xr.get("kind"),
            "name": name,
            "uid": metadata.get("uid", ""),
            "controller": True,
            "blockOwnerDeletion": True,
        }
        composed = []
        for key in sorted(desired.resources):
            manifest = plain(desired.resources[key].resource)
            meta = manifest.setdefault("metadata", {})
            meta.setdefault("annotations", {})[RESOURCE_NAME_ANNOTATION] = key
            meta.setdefault("labels", {})[COMPOSITE_LABEL] = name
            if "name" not in meta:
                meta["generateName"] = f"{name}-"
            if namespace and "namespace" not in meta:
                meta["namespace"] = namespace
            meta["ownerReferences"] = [owner]
            composed.append(manifest)
        return Rendered(composite=composite, resources=composed, results=results)


def canonical(document: Any) -> str:
    """A stable JSON form, for comparing rendered documents."""
    return json.dumps(document, sort_keys=True)
