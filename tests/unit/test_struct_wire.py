"""The direct Struct encoder gives exactly the message protobuf's own `Struct.update` builds."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf import struct_pb2
from hypothesis import given
from hypothesis import strategies as st

from functions.agent_executor.struct_wire import struct_bytes
from tests.unit.strategies import ALPHABET, PROPERTY_SETTINGS, json_values

json_objects = st.dictionaries(st.text(alphabet=ALPHABET + "ü€😀", max_size=12), json_values)


def _reference(mapping: dict[str, Any]) -> struct_pb2.Struct:
    expected = struct_pb2.Struct()
    expected.update(mapping)
    return expected


@PROPERTY_SETTINGS
@given(json_objects)
def test_any_json_object_encodes_to_the_struct_protobuf_builds(mapping: dict[str, Any]) -> None:
    assert struct_pb2.Struct.FromString(struct_bytes(mapping)) == _reference(mapping)


@PROPERTY_SETTINGS
@given(json_objects)
def test_encoding_twice_gives_the_same_bytes(mapping: dict[str, Any]) -> None:
    # The second pass reads the memo of string entries the first one filled.
    assert struct_bytes(mapping) == struct_bytes(mapping)


@pytest.mark.parametrize(
    "mapping",
    [
        {"long": "x" * 20_000},  # a length past the table of short lengths
        {"nested": {"deep": [{"a": [1, 2.5, True, None, "s"]}]}},
        {"big": 2**60, "negative": -3, "zero": 0.0},
        {"flag": True, "count": 1},  # True and 1 are equal in Python, not on the wire
    ],
    ids=["long-string", "nested", "numbers", "bool-beside-int"],
)
def test_edge_values_encode_to_the_struct_protobuf_builds(mapping: dict[str, Any]) -> None:
    assert struct_pb2.Struct.FromString(struct_bytes(mapping)) == _reference(mapping)


@pytest.mark.parametrize(
    ("mapping", "named"),
    [
        ({"when": b"bytes"}, "a bytes is not JSON"),
        ({"set": {1, 2}}, "a set is not JSON"),
        ({1: "x"}, "a Struct key must be a string, not int"),
    ],
    ids=["bytes", "set", "int-key"],
)
def test_what_is_not_json_is_refused_naming_its_type(mapping: dict[Any, Any], named: str) -> None:
    with pytest.raises(TypeError, match=named):
        struct_bytes(mapping)
