"""PostgresInstance and DragonflyInstance over real gRPC: one server for all three kinds, the
password kept across a server restart, and never in the server's logs."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import grpc
import pytest
from crossplane.function import resource
from crossplane.function.proto.v1 import run_function_pb2 as fnv1
from crossplane.function.proto.v1 import run_function_pb2_grpc as grpcv1

from tests.support.function_server import function_server

pytestmark = pytest.mark.slow

UID = "0f3e2d1c-5b4a-4c3d-8e7f-6a5b4c3d2e1f"


@contextmanager
def logged_server() -> Iterator[tuple[int, list[str]]]:
    """The function on a free port, logging as in production (JSON); the list fills with its
    output at exit."""
    lines: list[str] = []
    with function_server("--insecure", output=lines) as port:
        yield port, lines


def call(port: int, xr: dict[str, Any], observed: dict[str, Any] | None = None) -> Any:
    req = fnv1.RunFunctionRequest(
        observed=fnv1.State(composite=fnv1.Resource(resource=resource.dict_to_struct(xr)))
    )
    for key, manifest in (observed or {}).items():
        req.observed.resources[key].resource.CopyFrom(resource.dict_to_struct(manifest))
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        return grpcv1.FunctionRunnerServiceStub(channel).RunFunction(req, timeout=30)


def xr(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "platform.bizmatters.io/v1alpha1",
        "kind": kind,
        "metadata": {"name": name, "namespace": "team-a", "uid": UID},
        "spec": spec,
    }


def desired(rsp: Any) -> dict[str, dict[str, Any]]:
    return {k: resource.struct_to_dict(v.resource) for k, v in rsp.desired.resources.items()}


def password(rsp: Any, key: str) -> str:
    data = desired(rsp)["connection-secret"]["data"]
    return base64.b64decode(data[key]).decode()


def test_one_server_composes_all_three_kinds_and_keeps_passwords_across_a_restart() -> None:
    postgres = xr("PostgresInstance", "db", {"database": "orders", "owner": "orders_app"})
    dragonfly = xr("DragonflyInstance", "cache", {"replicas": 2})
    executor = xr("AgentExecutor", "worker", {"image": "ghcr.io/bizmatters/agent:1.0.0"})

    with logged_server() as (port, first_logs):
        pg_first, df_first = call(port, postgres), call(port, dragonfly)
        composed = call(port, executor)
    with logged_server() as (port, second_logs):
        pg_again = call(port, postgres, desired(pg_first))
        df_again = call(port, dragonfly, desired(df_first))

    assert sorted(desired(pg_first)) == ["cluster", "connection-secret", "credentials"]
    assert sorted(desired(df_first)) == ["connection-secret", "dragonfly"]
    assert "deployment" in desired(composed)
    pg_password = password(pg_first, "POSTGRES_PASSWORD")
    df_password = password(df_first, "DRAGONFLY_PASSWORD")
    assert password(pg_again, "POSTGRES_PASSWORD") == pg_password
    assert password(df_again, "DRAGONFLY_PASSWORD") == df_password
    logs = "".join(first_logs + second_logs)
    assert '"port"' in logs  # the logs were captured
    for secret in (pg_password, df_password):
        assert secret not in logs
        assert base64.b64encode(secret.encode()).decode() not in logs


def test_a_bad_database_claim_is_a_fatal_result_and_the_server_keeps_serving() -> None:
    with logged_server() as (port, _):
        bad = call(port, xr("PostgresInstance", "db", {"owner": "postgres"}))
        good = call(port, xr("DragonflyInstance", "cache", {}))
    assert [r.severity for r in bad.results] == [fnv1.SEVERITY_FATAL]
    assert "spec.owner: postgres is reserved" in bad.results[0].message
    assert not bad.desired.resources
    assert not good.results and len(good.desired.resources) == 2
