"""Encode plain JSON data as the protobuf wire form of `google.protobuf.Struct`, directly.

A never-seen XR's resources (about 18 KB) must reach the response as Structs. protobuf's
own `Struct.update` builds them one Python call per value through `well_known_types`, which
took a third of a cold compose; writing the bytes here and letting the C parser read them
(`MergeFromString`) gives the same message in a fraction of the time. Numbers are doubles, as
`Struct.update` makes them; anything that is not JSON is refused, naming its type.

Field numbers (google/protobuf/struct.proto): Struct.fields = 1, a map entry's key = 1 and
value = 2; Value: null_value = 1, number_value = 2, string_value = 3, bool_value = 4,
struct_value = 5, list_value = 6; ListValue.values = 1.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from typing import Any

_DOUBLE = struct.Struct("<d").pack
_NULL = b"\x08\x00"
_TRUE = b"\x20\x01"
_FALSE = b"\x20\x00"


def _varint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


# Most lengths in a manifest are short: look them up rather than encode them each time.
_SHORT = [_varint(n) for n in range(1 << 14)]


def length(n: int) -> bytes:
    """The varint of a length-delimited field's length."""
    return _SHORT[n] if n < 1 << 14 else _varint(n)


def field(number: int, payload: bytes) -> bytes:
    """A length-delimited field: tag (wire type 2), length, payload."""
    return _SHORT[number << 3 | 2] + length(len(payload)) + payload


def value_bytes(value: Any) -> bytes:
    """The wire form of a `google.protobuf.Value` holding `value`."""
    kind = type(value)
    if kind is str:
        data: bytes = value.encode()
        return b"\x1a" + length(len(data)) + data
    if kind is dict:
        data = struct_bytes(value)
        return b"\x2a" + length(len(data)) + data
    if kind is list or kind is tuple:
        data = b"".join([b"\x0a" + length(len(item)) + item for item in map(value_bytes, value)])
        return b"\x32" + length(len(data)) + data
    if kind is bool:
        return _TRUE if value else _FALSE
    if kind is int or kind is float:
        return b"\x11" + _DOUBLE(value)
    if value is None:
        return _NULL
    if isinstance(value, Mapping):
        return value_bytes(dict(value))
    raise TypeError(f"a {kind.__name__} is not JSON and cannot go into a protobuf Struct")


# A manifest repeats the same string fields over and over (`name: POSTGRES_HOST`, `protocol:
# TCP`, every label): their encoded map entries are kept, up to a bound, and reused.
_ENTRIES: dict[tuple[str, str], bytes] = {}
_ENTRIES_MAX = 1 << 15


def _entry(key: str, data: bytes) -> bytes:
    if type(key) is not str:
        raise TypeError(f"a Struct key must be a string, not {type(key).__name__} {key!r}")
    name = key.encode()
    entry = b"\x0a" + length(len(name)) + name + b"\x12" + length(len(data)) + data
    return b"\x0a" + length(len(entry)) + entry


def struct_bytes(mapping: Mapping[str, Any]) -> bytes:
    """The wire form of a `google.protobuf.Struct` holding `mapping` (keys in its order)."""
    parts = []
    for key, item in mapping.items():
        if type(item) is str:
            found = _ENTRIES.get((key, item))
            if found is None:
                found = _entry(key, value_bytes(item))
                if len(_ENTRIES) >= _ENTRIES_MAX:
                    _ENTRIES.clear()
                _ENTRIES[(key, item)] = found
            parts.append(found)
        else:
            parts.append(_entry(key, value_bytes(item)))
    return b"".join(parts)
