"""The gRPC server: v1 and v1beta1 FunctionRunnerService, reflection, mTLS or insecure."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable
from typing import Protocol, runtime_checkable

import grpc
from crossplane.function import runtime
from crossplane.function.proto.v1 import run_function_pb2 as fnv1
from crossplane.function.proto.v1 import run_function_pb2_grpc as grpcv1
from crossplane.function.proto.v1beta1 import run_function_pb2_grpc as grpcv1beta1
from grpc_reflection.v1alpha import reflection

SHUTDOWN_GRACE_SECONDS = 5


class ServerConfigError(ValueError):
    """The server cannot start with the given transport settings."""


@runtime_checkable
class WireFunction(Protocol):
    """A function that can answer v1 RunFunction with the response already serialized."""

    def run_function_wire(
        self, req: fnv1.RunFunctionRequest, context: grpc.aio.ServicerContext
    ) -> Awaitable[bytes]:
        """The serialized RunFunctionResponse for `req`."""
        ...


def _add_v1(function: grpcv1.FunctionRunnerServiceServicer, server: grpc.aio.Server) -> None:
    """Register the v1 service: byte-for-byte from `run_function_wire` when the function has
    it (the bytes are sent as they are), else through the generated stubs."""
    if not isinstance(function, WireFunction):
        grpcv1.add_FunctionRunnerServiceServicer_to_server(function, server)
        return
    service = fnv1.DESCRIPTOR.services_by_name["FunctionRunnerService"].full_name
    handler = grpc.unary_unary_rpc_method_handler(
        function.run_function_wire,
        request_deserializer=fnv1.RunFunctionRequest.FromString,
        response_serializer=bytes,
    )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(service, {"RunFunction": handler}),)
    )


def build_server(
    function: grpcv1.FunctionRunnerServiceServicer,
    address: str,
    *,
    tls_certs_dir: str | None,
    insecure: bool,
) -> tuple[grpc.aio.Server, int]:
    """Create a server bound to `address` and return it with the port it bound.

    Port 0 picks a free port, which is how tests and `agentplane render` start it.
    """
    if tls_certs_dir is None and not insecure:
        raise ServerConfigError(
            "no TLS certificates: pass --tls-certs-dir (or TLS_SERVER_CERTS_DIR), "
            "or --insecure for local use"
        )
    server = grpc.aio.server()
    _add_v1(function, server)
    grpcv1beta1.add_FunctionRunnerServiceServicer_to_server(
        runtime.BetaFunctionRunner(wrapped=function), server
    )
    reflection.enable_server_reflection(runtime.SERVICE_NAMES, server)
    if insecure:
        port = server.add_insecure_port(address)
    else:
        assert tls_certs_dir is not None
        port = server.add_secure_port(address, runtime.load_credentials(tls_certs_dir))
    if port == 0:
        raise ServerConfigError(f"could not bind {address}")
    return server, port


async def serve(server: grpc.aio.Server) -> None:
    """Run a started `server` until SIGTERM or SIGINT, then stop gracefully."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    waiter = asyncio.ensure_future(server.wait_for_termination())
    stopper = asyncio.ensure_future(stop.wait())
    await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
    await server.stop(grace=SHUTDOWN_GRACE_SECONDS)
    waiter.cancel()
    stopper.cancel()
