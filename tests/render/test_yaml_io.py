"""`yaml_io.dump` prints exactly what PyYAML's own SafeRepresenter would: its faster
representer and resolver cache must never change a byte of rendered output."""

from __future__ import annotations

from typing import Any

import pytest

from functions.render import yaml_io
from testbed.stock_yaml import stock_dump

SHARED = {"name": "owner", "uid": "1"}
TRICKY: list[Any] = [
    {"a": 1, "b": [1, 2], "c": {}},
    {
        "strings": ["", " ", "yes", "no", "on", "off", "true", "True", "null", "~", "Null"],
        "numbers as text": ["1", "1.0", "0x1F", "0o17", "1e3", ".inf", "-.Inf", ".nan", "1_000"],
        "dates": ["2024-01-01", "2024-01-01T00:00:00Z", "12:30:45"],
        "specials": ["a: b", "- x", "#c", "x #y", "'q'", '"d"', "@at", "`b`", "%p", "*a", "&a"],
        "multi": "line one\nline two\n",
        "multi no end": "line one\nline two",
        "trailing space": "x ",
        "unicode": "café ✓ 日本",
        "long": "word " * 40,
        "long path": "/a/" + "b" * 150,
        "control": "tab\there bell\x07",
    },
    {"ints": [0, -1, 10**20], "bools": [True, False], "none": None, "floats": [1.5, 1e17, -0.0]},
    {"z": 1, "a": 2, "m": {"y": [], "b": [{"k": "v"}]}},
    {"first": SHARED, "second": SHARED, "list": [SHARED]},
    {1: "int key", "s": "str key"},
    [["nested", ["deeper", {"x": None}]], {}],
    "plain",
    "multi\nline",
    None,
    42,
]


@pytest.mark.parametrize("sort_keys", [True, False])
@pytest.mark.parametrize("document", TRICKY)
def test_dump_matches_pyyaml_stock_representer(document: Any, sort_keys: bool) -> None:
    assert yaml_io.dump(document, sort_keys=sort_keys) == stock_dump(document, sort_keys=sort_keys)


def test_a_dict_met_twice_is_an_alias_as_pyyaml_writes_it() -> None:
    text = yaml_io.dump({"first": SHARED, "second": SHARED}, sort_keys=True)
    assert "&id001" in text and "*id001" in text


def test_the_resolver_cache_does_not_leak_between_plain_and_quoted_use() -> None:
    # The same string, once where it could be plain and once as a key; both as PyYAML.
    document = {"true": "true", "1": ["1", 1], "x": "x"}
    for _ in range(2):
        assert yaml_io.dump(document, sort_keys=True) == stock_dump(document, sort_keys=True)
