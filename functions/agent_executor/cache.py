"""A bounded memo of composed resources, keyed by the XR's identity and spec.

Crossplane calls the function on every reconcile of every XR, and between
edits an XR's spec does not change; composing is pure, so the protobuf
Structs built for one spec can be reused. Readiness and status still come
fresh from each request's observed state.
"""

from __future__ import annotations

from collections import OrderedDict

from crossplane.function.resource import struct_to_dict
from google.protobuf import struct_pb2

from functions.agent_executor.admission import CROSSPLANE_FIELD
from functions.agent_executor.compose import Composed, compose_xr


class ComposeCache:
    """Least-recently-used memo of `compose_xr`; callers must not mutate what it returns."""

    def __init__(self, max_entries: int = 1024) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[str, str, bytes], Composed] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, name: str, namespace: str, spec: struct_pb2.Struct | None) -> Composed:
        """The composition for this XR, built on first sight of its (name, namespace, spec).

        Crossplane's own `spec.crossplane` block (its resourceRefs change as resources are
        created) is not part of the key: it does not change what is composed.
        """
        if spec is not None and CROSSPLANE_FIELD in spec:
            trimmed = struct_pb2.Struct()
            trimmed.CopyFrom(spec)
            del trimmed[CROSSPLANE_FIELD]
            spec = trimmed
        spec_bytes = spec.SerializeToString(deterministic=True) if spec is not None else b""
        key = (name, namespace, spec_bytes)
        found = self._entries.get(key)
        if found is not None:
            self.hits += 1
            self._entries.move_to_end(key)
            return found
        self.misses += 1
        raw = struct_to_dict(spec) if spec is not None else None
        composed = compose_xr(name, namespace, raw)
        self._entries[key] = composed
        if len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        return composed
