"""A RunFunctionResponse in two parts: a message built per call and resources already encoded.

The composed resources of an XR are the bulk of every response (about 18 KB) and the same on
every reconcile until its spec changes. Parsing their cached bytes into the response message
and having gRPC serialize them again cost more than the rest of a reconcile, so the server
sends the per-call message's bytes followed by the cached resources: protobuf reads a message
field that occurs twice as one merged field, so the receiver sees a single `desired` state.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from crossplane.function.proto.v1 import run_function_pb2 as fnv1

from functions.agent_executor.struct_wire import field

# RunFunctionResponse.desired = 2; State.resources = 2 (map entries: key = 1, value = 2);
# Resource.resource = 1, Resource.ready = 3 (an enum: a varint field).
_DESIRED = 2
_RESOURCES = 2
_READY_TAG = b"\x18"


def resource_entries(resources: Iterable[tuple[str, bytes, int]]) -> bytes:
    """`desired.resources` entries of a response, from (name, encoded Struct, ready) triples."""
    entries = b"".join(
        field(
            _RESOURCES,
            field(1, name.encode()) + field(2, field(1, struct) + _READY_TAG + bytes((ready,))),
        )
        for name, struct, ready in resources
    )
    return field(_DESIRED, entries) if entries else b""


@dataclass(frozen=True)
class Reply:
    """`head` (results, conditions, status, other steps' resources) and `tail`, the encoded
    resources this function composed, which replace same-named ones (`head` has none)."""

    head: fnv1.RunFunctionResponse
    tail: bytes = b""

    def wire(self) -> bytes:
        """The serialized response, as it goes over gRPC."""
        head: bytes = self.head.SerializeToString()
        return head + self.tail

    def message(self) -> fnv1.RunFunctionResponse:
        """The response as one message (what the receiver parses from `wire()`)."""
        if not self.tail:
            return self.head
        merged: fnv1.RunFunctionResponse = fnv1.RunFunctionResponse.FromString(self.wire())
        return merged
