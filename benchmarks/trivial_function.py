"""The baseline for the function benchmark: one ConfigMap per XR, on the same SDK and server."""

from __future__ import annotations

import argparse
import asyncio
import sys

import grpc
from crossplane.function import resource, response
from crossplane.function.proto.v1 import run_function_pb2 as fnv1
from crossplane.function.proto.v1 import run_function_pb2_grpc as grpcv1

from functions.agent_executor.server import build_server, serve


class TrivialFunction(grpcv1.FunctionRunnerServiceServicer):
    """Composes a single ConfigMap named after the XR."""

    async def RunFunction(  # noqa: N802 - the gRPC method name
        self, req: fnv1.RunFunctionRequest, _: grpc.aio.ServicerContext | None = None
    ) -> fnv1.RunFunctionResponse:
        """Return one desired resource."""
        rsp = response.to(req)
        name = req.observed.composite.resource["metadata"]["name"]
        resource.update(
            rsp.desired.resources["config"],
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}},
        )
        return rsp


async def _main(address: str) -> None:
    server, port = build_server(TrivialFunction(), address, tls_certs_dir=None, insecure=True)
    await server.start()
    print(f"port={port}", flush=True)
    await serve(server)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--address", default="127.0.0.1:0")
    asyncio.run(_main(parser.parse_args().address))
    sys.exit(0)
