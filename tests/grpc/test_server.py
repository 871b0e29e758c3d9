"""The function over real gRPC: both service versions, mTLS, and resilience to bad input."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml
from crossplane.function import resource
from crossplane.function.proto.v1 import run_function_pb2 as fnv1
from crossplane.function.proto.v1 import run_function_pb2_grpc as grpcv1
from crossplane.function.proto.v1beta1 import run_function_pb2 as fnv1beta1
from crossplane.function.proto.v1beta1 import run_function_pb2_grpc as grpcv1beta1

from functions.agent_executor.cache import ComposeCache
from functions.agent_executor.function import compose_response
from tests.conftest import ROOT, XR_FIXTURES
from tests.support.function_server import function_server

pytestmark = pytest.mark.slow


def xr(name: str = "every-field") -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((XR_FIXTURES / f"{name}.yaml").read_text())
    return loaded


@pytest.fixture(scope="module")
def insecure_port() -> Iterator[int]:
    with function_server("--insecure") as port:
        yield port


def test_v1_run_function_composes_every_resource(insecure_port: int) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{insecure_port}") as channel:
        req = fnv1.RunFunctionRequest(
            meta=fnv1.RequestMeta(tag="v1"),
            observed=fnv1.State(composite=fnv1.Resource(resource=resource.dict_to_struct(xr()))),
        )
        rsp = grpcv1.FunctionRunnerServiceStub(channel).RunFunction(req, timeout=30)
    assert rsp.meta.tag == "v1"
    assert not [r for r in rsp.results if r.severity == fnv1.SEVERITY_FATAL]
    assert sorted(rsp.desired.resources) == sorted(
        [
            "deployment",
            "nats-consumer",
            "nats-stream",
            "network-policy",
            "pod-disruption-budget",
            "retention",
            "scaled-object",
            "service",
            "service-account",
            "service-monitor",
        ]
    )


def test_v1beta1_run_function_gives_the_same_desired_state(insecure_port: int) -> None:
    composite = resource.dict_to_struct(xr())
    with grpc.insecure_channel(f"127.0.0.1:{insecure_port}") as channel:
        beta = grpcv1beta1.FunctionRunnerServiceStub(channel).RunFunction(
            fnv1beta1.RunFunctionRequest(
                meta=fnv1beta1.RequestMeta(tag="beta"),
                observed=fnv1beta1.State(composite=fnv1beta1.Resource(resource=composite)),
            ),
            timeout=30,
        )
        v1 = grpcv1.FunctionRunnerServiceStub(channel).RunFunction(
            fnv1.RunFunctionRequest(
                meta=fnv1.RequestMeta(tag="beta"),
                observed=fnv1.State(composite=fnv1.Resource(resource=composite)),
            ),
            timeout=30,
        )
    assert beta.meta.tag == "beta"
    assert beta.desired.SerializeToString(deterministic=True) == v1.desired.SerializeToString(
        deterministic=True
    )


def test_bad_input_gets_a_fatal_result_and_the_server_keeps_serving(insecure_port: int) -> None:
    bad = xr()
    bad["spec"]["scaling"]["minReplicas"] = 50
    with grpc.insecure_channel(f"127.0.0.1:{insecure_port}") as channel:
        stub = grpcv1.FunctionRunnerServiceStub(channel)
        garbage = fnv1.RunFunctionRequest(
            observed=fnv1.State(composite=fnv1.Resource(resource=resource.dict_to_struct(bad)))
        )
        rsp = stub.RunFunction(garbage, timeout=30)
        empty = stub.RunFunction(fnv1.RunFunctionRequest(), timeout=30)
        good = stub.RunFunction(
            fnv1.RunFunctionRequest(
                observed=fnv1.State(composite=fnv1.Resource(resource=resource.dict_to_struct(xr())))
            ),
            timeout=30,
        )
    assert [r.severity for r in rsp.results] == [fnv1.SEVERITY_FATAL]
    assert (
        "spec.scaling.minReplicas: must not exceed maxReplicas (50 > 20)" in rsp.results[0].message
    )
    assert not rsp.desired.resources
    assert [r.severity for r in empty.results] == [fnv1.SEVERITY_FATAL]
    assert "metadata.name: is required" in empty.results[0].message
    assert len(good.desired.resources) == 10


def test_v1_response_over_grpc_is_the_composed_message_replacing_earlier_steps_resources(
    insecure_port: int,
) -> None:
    # The server sends its resources as cached bytes after the per-call message; the
    # receiver must see one desired state: ours replacing the same-named resource an
    # earlier step left, that step's other resource kept, readiness on each of ours.
    req = fnv1.RunFunctionRequest(
        meta=fnv1.RequestMeta(tag="pipeline"),
        observed=fnv1.State(composite=fnv1.Resource(resource=resource.dict_to_struct(xr()))),
    )
    req.desired.resources["service"].resource.update({"kind": "Service", "from": "earlier"})
    req.desired.resources["other-step"].resource.update({"kind": "ConfigMap"})
    with grpc.insecure_channel(f"127.0.0.1:{insecure_port}") as channel:
        rsp = grpcv1.FunctionRunnerServiceStub(channel).RunFunction(req, timeout=30)
    assert rsp == compose_response(req, ComposeCache())
    assert resource.struct_to_dict(rsp.desired.resources["other-step"].resource) == {
        "kind": "ConfigMap"
    }
    assert "from" not in rsp.desired.resources["service"].resource
    assert {r.ready for k, r in rsp.desired.resources.items() if k != "other-step"} == {
        fnv1.READY_FALSE
    }


def _run(port: int, composite: dict[str, Any]) -> fnv1.RunFunctionResponse:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        rsp: fnv1.RunFunctionResponse = grpcv1.FunctionRunnerServiceStub(channel).RunFunction(
            fnv1.RunFunctionRequest(
                observed=fnv1.State(
                    composite=fnv1.Resource(resource=resource.dict_to_struct(composite))
                )
            ),
            timeout=30,
        )
    return rsp


def _env_secret(deployment: dict[str, Any], name: str) -> str:
    container = next(
        c
        for c in deployment["spec"]["template"]["spec"]["containers"]
        if c["name"] == "agent-executor"
    )
    var = next(e for e in container["env"] if e["name"] == name)
    return str(var["valueFrom"]["secretKeyRef"]["name"])


def _trigger_account(scaled_object: dict[str, Any]) -> str:
    return str(scaled_object["spec"]["triggers"][0]["metadata"]["account"])


# (fixture XR, spec changes, composed resource, what to read from it, expected value)
NATS_WIRING = [
    pytest.param(
        "minimal",
        {},
        "deployment",
        lambda d: _env_secret(d, "NATS_USER"),
        "nats-credentials",
        id="nats-user-from-the-default-secret",
    ),
    pytest.param(
        "minimal",
        {},
        "deployment",
        lambda d: _env_secret(d, "NATS_PASSWORD"),
        "nats-credentials",
        id="nats-password-from-the-default-secret",
    ),
    pytest.param(
        "minimal",
        {"secrets": {"nats": "team-a-nats"}},
        "deployment",
        lambda d: _env_secret(d, "NATS_USER"),
        "team-a-nats",
        id="secrets-nats-override",
    ),
    pytest.param(
        "minimal",
        {},
        "scaled-object",
        _trigger_account,
        "team-a",
        id="trigger-account-is-the-namespace",
    ),
    pytest.param(
        "every-field",
        {},
        "scaled-object",
        _trigger_account,
        "DEEPAGENTS",
        id="explicit-trigger-account",
    ),
    pytest.param(
        "every-field",
        {},
        "nats-stream",
        lambda s: s["spec"]["account"],
        "nats-account",
        id="stream-in-the-tenant-account",
    ),
    pytest.param(
        "every-field",
        {},
        "nats-consumer",
        lambda c: c["spec"]["account"],
        "nats-account",
        id="consumer-in-the-tenant-account",
    ),
]


@pytest.mark.parametrize(("fixture", "changes", "key", "read", "expected"), NATS_WIRING)
def test_nats_credentials_and_account_reach_the_composed_resources(
    insecure_port: int,
    fixture: str,
    changes: dict[str, Any],
    key: str,
    read: Callable[[dict[str, Any]], str],
    expected: str,
) -> None:
    composite = xr(fixture)
    composite["spec"].update(changes)
    rsp = _run(insecure_port, composite)
    assert not [r for r in rsp.results if r.severity == fnv1.SEVERITY_FATAL]
    assert read(resource.struct_to_dict(rsp.desired.resources[key].resource)) == expected


def test_a_malformed_nats_secret_name_is_a_fatal_result_naming_the_field(
    insecure_port: int,
) -> None:
    composite = xr("minimal")
    composite["spec"]["secrets"] = {"nats": "Team_A NATS"}
    rsp = _run(insecure_port, composite)
    assert [r.severity for r in rsp.results] == [fnv1.SEVERITY_FATAL]
    assert "spec.secrets.nats: must be a lower-case DNS-1123 subdomain" in rsp.results[0].message
    assert not rsp.desired.resources


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, all from openssl."""
    d = tmp_path_factory.mktemp("certs")
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "1",
        "-subj",
        "/CN=test-ca",
        cwd=d,
    )
    (d / "san.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for who in ("tls", "client"):
        _openssl(
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            f"{who}.key",
            "-out",
            f"{who}.csr",
            "-subj",
            f"/CN={who}",
            cwd=d,
        )
        _openssl(
            "x509",
            "-req",
            "-in",
            f"{who}.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            f"{who}.crt",
            "-days",
            "1",
            "-extfile",
            "san.cnf",
            cwd=d,
        )
    return d


def _minimal_request() -> fnv1.RunFunctionRequest:
    return fnv1.RunFunctionRequest(
        observed=fnv1.State(
            composite=fnv1.Resource(resource=resource.dict_to_struct(xr("minimal")))
        )
    )


def test_mtls_server_from_env_accepts_a_client_signed_by_its_ca(certs: Path) -> None:
    env = {"TLS_SERVER_CERTS_DIR": str(certs), "PATH": "/usr/bin:/bin", "HOME": str(certs)}
    credentials = grpc.ssl_channel_credentials(
        root_certificates=(certs / "ca.crt").read_bytes(),
        private_key=(certs / "client.key").read_bytes(),
        certificate_chain=(certs / "client.crt").read_bytes(),
    )
    with (
        function_server(env=env) as port,
        grpc.secure_channel(f"127.0.0.1:{port}", credentials) as ch,
    ):
        rsp = grpcv1.FunctionRunnerServiceStub(ch).RunFunction(_minimal_request(), timeout=30)
    assert "deployment" in rsp.desired.resources


def test_mtls_server_refuses_a_client_without_a_certificate(certs: Path) -> None:
    credentials = grpc.ssl_channel_credentials(root_certificates=(certs / "ca.crt").read_bytes())
    with (
        function_server("--tls-certs-dir", str(certs)) as port,
        grpc.secure_channel(f"127.0.0.1:{port}", credentials) as channel,
        pytest.raises(grpc.RpcError),
    ):
        grpcv1.FunctionRunnerServiceStub(channel).RunFunction(_minimal_request(), timeout=10)


def test_server_without_certificates_or_insecure_flag_exits_with_a_clear_error() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "functions.agent_executor", "--address", "127.0.0.1:0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 2
    assert "--tls-certs-dir" in proc.stderr and "--insecure" in proc.stderr
