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

from functions.agent_executor.struct_wire import field, length

# RunFunctionResponse.desired = 2; State.resources = 2 (map entries: key = 1, value = 2);
# Resource.resource = 1, Resource.ready = 3 (an enum: a varint field).
_DESIRED = 2
_RESOURCES = 2
_VALUE = 2
_READY_TAG = b"\x18"
_READY_VALUES: dict[int, bytes] = {
    value: bytes((value,)) for value in (fnv1.READY_UNSPECIFIED, fnv1.READY_TRUE, fnv1.READY_FALSE)
}
# Each entry ends with its Resource's ready field: the tag and a one-byte enum value.
_READY_SIZE = 2


def _header(number: int, size: int) -> bytes:
    """Tag and length of a length-delimited field whose payload is `size` bytes."""
    return bytes((number << 3 | 2,)) + length(size)


@dataclass(frozen=True)
class EncodedResources:
    """An XR's composed resources as `desired` field bytes, encoded once: each entry is kept
    up to its Resource's `ready` field, the one part that changes from call to call."""

    names: tuple[str, ...] = ()
    heads: tuple[bytes, ...] = ()
    # The `desired` field's tag and length: the same whatever each resource's readiness.
    desired_header: bytes = b""

    @classmethod
    def encode(cls, resources: Iterable[tuple[str, bytes]]) -> EncodedResources:
        """From (composition resource name, encoded Struct) pairs."""
        names: list[str] = []
        heads: list[bytes] = []
        for name, struct in resources:
            key = field(1, name.encode())
            resource = field(1, struct)
            value = _header(_VALUE, len(resource) + _READY_SIZE) + resource
            heads.append(_header(_RESOURCES, len(key) + len(value) + _READY_SIZE) + key + value)
            names.append(name)
        if not heads:
            return cls()
        total = sum(len(head) + _READY_SIZE for head in heads)
        return cls(tuple(names), tuple(heads), _header(_DESIRED, total))

    def with_readiness(self, ready: Iterable[int]) -> bytes:
        """The `desired` field, each resource with its readiness (`fnv1.READY_*`, in order)."""
        parts = [self.desired_header]
        for head, value in zip(self.heads, ready, strict=True):
            parts += (head, _READY_TAG, _READY_VALUES[value])
        return b"".join(parts)


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
