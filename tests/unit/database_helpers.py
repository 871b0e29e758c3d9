"""Helpers for the PostgresInstance and DragonflyInstance tests: XRs, requests, reconciles."""

from __future__ import annotations

import asyncio
import base64
import copy
from pathlib import Path
from typing import Any

import yaml
from crossplane.function import resource
from crossplane.function.proto.v1 import run_function_pb2 as fnv1

from functions.agent_executor.function import AgentExecutorFunction

from .xr_helpers import make_request

DATABASE_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "databases"
API_VERSION = "platform.bizmatters.io/v1alpha1"
UID = "9b7f5f2e-1c4d-4a8e-9f61-1d2e3c4b5a69"
FUNCTION = AgentExecutorFunction()


def database_fixture(stem: str) -> dict[str, Any]:
    """One fixture XR of tests/fixtures/databases (a fresh copy on every call)."""
    loaded = yaml.safe_load((DATABASE_DIR / f"{stem}.yaml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def database_fixture_names(kind: str) -> list[str]:
    """Stems of the fixture XRs of one kind."""
    return sorted(
        p.stem for p in DATABASE_DIR.glob("*.yaml") if yaml.safe_load(p.read_text())["kind"] == kind
    )


def store_xr(
    kind: str,
    spec: Any = None,
    name: str = "db",
    namespace: str = "team-a",
    *,
    uid: str | None = UID,
) -> dict[str, Any]:
    """A PostgresInstance or DragonflyInstance XR; with a uid, as the API server stores it."""
    metadata: dict[str, Any] = {}
    if name:
        metadata["name"] = name
    if namespace:
        metadata["namespace"] = namespace
    if uid:
        metadata["uid"] = uid
    xr: dict[str, Any] = {"apiVersion": API_VERSION, "kind": kind, "metadata": metadata}
    xr["spec"] = copy.deepcopy(spec) if spec is not None else {}
    return xr


# One builder of RunFunctionRequests for every kind's tests.
request = make_request


def run(
    xr: dict[str, Any],
    observed: dict[str, dict[str, Any]] | None = None,
    function: AgentExecutorFunction = FUNCTION,
) -> fnv1.RunFunctionResponse:
    """One RunFunction call."""
    return asyncio.run(function.RunFunction(request(xr, observed)))


def desired(rsp: fnv1.RunFunctionResponse) -> dict[str, dict[str, Any]]:
    """The desired composed resources as plain dicts."""
    return {k: resource.struct_to_dict(v.resource) for k, v in rsp.desired.resources.items()}


def as_observed(rsp: fnv1.RunFunctionResponse) -> dict[str, dict[str, Any]]:
    """What Crossplane would observe next after applying the desired resources."""
    return desired(rsp)


def secret_values(manifest: dict[str, Any]) -> dict[str, str]:
    """A composed Secret's data, decoded."""
    return {k: base64.b64decode(v).decode() for k, v in manifest.get("data", {}).items()}


def fatal_messages(rsp: fnv1.RunFunctionResponse) -> list[str]:
    """Messages of the fatal results."""
    return [r.message for r in rsp.results if r.severity == fnv1.SEVERITY_FATAL]
