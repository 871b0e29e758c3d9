"""Helpers shared by the unit tests: example XRs, admitted specs and RunFunction requests."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from crossplane.function import resource
from crossplane.function.proto.v1 import run_function_pb2 as fnv1

from functions.agent_executor.admission import admit
from functions.agent_executor.names import Workload
from functions.agent_executor.spec import COMPOSITE_API_VERSION, KIND, AgentExecutorSpec

XR_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "xrs"
OBSERVED_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "observed"
VALID_IMAGE = "ghcr.io/bizmatters/agent-executor:0.1.0"


def fixture_names() -> list[str]:
    """Stems of every example XR in tests/fixtures/xrs."""
    return sorted(path.stem for path in XR_DIR.glob("*.yaml"))


def load_xr(stem: str) -> dict[str, Any]:
    """One example XR as a plain dict (a fresh copy on every call)."""
    loaded = yaml.safe_load((XR_DIR / f"{stem}.yaml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def load_observed(stem: str) -> dict[str, dict[str, Any]]:
    """Observed composed resources keyed by their composition resource name."""
    observed: dict[str, dict[str, Any]] = {}
    for doc in yaml.safe_load_all((OBSERVED_DIR / f"{stem}.yaml").read_text()):
        key = doc["metadata"]["annotations"]["crossplane.io/composition-resource-name"]
        observed[key] = doc
    return observed


def make_xr(
    spec: Any, name: str = "worker", namespace: str = "team-a", *, with_spec: bool = True
) -> dict[str, Any]:
    """An AgentExecutor XR; empty name or namespace leaves the key out, like a bad manifest."""
    metadata: dict[str, Any] = {}
    if name:
        metadata["name"] = name
    if namespace:
        metadata["namespace"] = namespace
    xr: dict[str, Any] = {"apiVersion": COMPOSITE_API_VERSION, "kind": KIND, "metadata": metadata}
    if with_spec:
        xr["spec"] = copy.deepcopy(spec)
    return xr


def make_request(
    xr: dict[str, Any], observed: dict[str, dict[str, Any]] | None = None
) -> fnv1.RunFunctionRequest:
    """A RunFunctionRequest with `xr` as the observed composite and optional observed resources."""
    req = fnv1.RunFunctionRequest()
    req.observed.composite.resource.CopyFrom(resource.dict_to_struct(xr))
    for key, manifest in (observed or {}).items():
        req.observed.resources[key].resource.CopyFrom(resource.dict_to_struct(manifest))
    return req


def admitted(raw_spec: dict[str, Any]) -> AgentExecutorSpec:
    """The validated spec of `raw_spec`; fails the test when admission refuses it."""
    verdict = admit("worker", "team-a", raw_spec)
    assert verdict.spec is not None, verdict.errors
    return verdict.spec


def spec_with(**fields: Any) -> AgentExecutorSpec:
    """A valid spec: the minimal one plus the given camelCase top-level fields."""
    return admitted({"image": VALID_IMAGE, **fields})


WORKLOAD = Workload(name="worker", namespace="team-a")
