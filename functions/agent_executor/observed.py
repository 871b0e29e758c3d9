"""Read observed state without trusting its shape: every read is total (pure).

Observed resources are whatever the API server holds, written by controllers and
webhooks the function does not own, so any field may be absent, null or of
another JSON type. A reader returns a default for an absent or null field and
notes a problem for a field of the wrong shape; readiness then says which
field it could not read instead of raising.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

_ECHO_LIMIT = 40
MISSING = object()  # a key that is not there, which `describe` tells apart from null


def describe(value: object) -> str:
    """A short phrase for a JSON value's type (and small value), for messages."""
    if value is MISSING:
        return "missing"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        text = repr(value)
        return f"the string {text[:_ECHO_LIMIT]}{'…' if len(text) > _ECHO_LIMIT else ''}"
    return f"a {type(value).__name__}"


def as_count(value: object) -> int | None:
    """`value` as a non-negative integer, or None when it is not one.

    protobuf's Struct carries every number as a double, so an integral float
    counts; a boolean does not, although Python treats it as an int.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float) and math.isfinite(value) and value.is_integer() and value >= 0:
        return int(value)
    return None


@dataclass(frozen=True)
class Condition:
    """One readable entry of `status.conditions`."""

    type: str
    status: str
    reason: str = ""
    message: str = ""


class ObservedReader:
    """Reads fields of one observed resource by dotted path, noting each of the wrong shape."""

    def __init__(self, resource: object) -> None:
        self._resource = resource
        # An ordered set: a field read twice is reported once.
        self._problems: dict[str, None] = {}

    @property
    def problems(self) -> tuple[str, ...]:
        """What could not be read so far, as `<field> is <what>, expected <what>` phrases."""
        return tuple(self._problems)

    def note(self, path: str, value: object, expected: str) -> None:
        """Record that the field at `path` holds `value`, not the `expected` shape."""
        self._problems[f"{path} is {describe(value)}, expected {expected}"] = None

    _note = note

    def value(self, path: str) -> object:
        """The value at the dotted `path`; None when it or a parent is absent or unreadable."""
        node = self._resource
        walked = ""
        for key in path.split("."):
            if node is None:
                return None
            if not isinstance(node, dict):
                self._note(walked or "the resource", node, "an object")
                return None
            node = node.get(key)
            walked = f"{walked}.{key}" if walked else key
        return node

    def count(self, path: str, default: int = 0) -> int:
        """The non-negative integer at `path`; `default` when absent or unreadable."""
        value = self.value(path)
        if value is None:
            return default
        count = as_count(value)
        if count is None:
            self._note(path, value, "a non-negative integer")
            return default
        return count

    def condition(self, kind: str) -> Condition | None:
        """The first readable `status.conditions` entry of type `kind`, if any.

        Every entry is checked, not only those of `kind`: an entry whose type cannot
        be read might be the one asked for.
        """
        entries = self.value("status.conditions")
        if entries is None:
            return None
        if not isinstance(entries, list):
            self._note("status.conditions", entries, "a list")
            return None
        found = None
        for index, entry in enumerate(entries):
            read = self._condition(f"status.conditions[{index}]", entry)
            if found is None and read is not None and read.type == kind:
                found = read
        return found

    def _condition(self, path: str, entry: object) -> Condition | None:
        if not isinstance(entry, dict):
            self._note(path, entry, "an object")
            return None
        kind, status = entry.get("type", MISSING), entry.get("status", MISSING)
        if not isinstance(kind, str):
            self._note(f"{path}.type", kind, "a string")
            return None
        if not isinstance(status, str):
            self._note(f"{path}.status", status, "a string")
            return None
        # reason and message only decorate a verdict; one of another type is left out.
        reason, message = entry.get("reason"), entry.get("message")
        return Condition(
            type=kind,
            status=status,
            reason=reason if isinstance(reason, str) else "",
            message=message if isinstance(message, str) else "",
        )
